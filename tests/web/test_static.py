"""The page's CSS, scripts and intro are package data (tutor/web/static/), shipped with the package and read with
importlib.resources, so an installed tutor finds them as a checkout does."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from tutor.web.app import CSS_FILES, INSTALL_JS, NOTES_JS, launch_options, static_text

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "tutor" / "web" / "static"


def test_every_static_file_is_package_data():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    files = [p.relative_to(ROOT / "tutor").as_posix() for p in STATIC.iterdir()]
    assert files and all(any(fnmatch(f, g) for g in globs["tutor"]) for f in files)
    assert {p.name for p in STATIC.glob("*.css")} == set(CSS_FILES)


def test_the_page_gets_every_stylesheet_in_order_and_its_scripts():
    css = launch_options()["css"]
    assert css == "".join((STATIC / name).read_text(encoding="utf-8") for name in CSS_FILES)
    assert css.index("a.cite") < css.index(".note-line.question") < css.index(".iv-question")
    assert ".tutor-answer pre" in css and ".tutor-answer table" in css  # a model's code blocks and tables
    assert INSTALL_JS.startswith("() => {") and "a.cite" in INSTALL_JS  # Gradio runs it as a function
    assert "trigger('click'" in NOTES_JS and static_text("chat-intro.html").startswith("<div class='chat-intro'>")
