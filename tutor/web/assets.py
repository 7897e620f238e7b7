"""The page's package data (tutor/web/static/, tutor/web/templates/; see pyproject's package-data)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from string import Template


def static_text(name: str) -> str:
    """A file of tutor/web/static/: the page's CSS, its scripts, the chat's intro."""
    return (files("tutor") / "web" / "static" / name).read_text(encoding="utf-8")


@cache
def template(name: str) -> Template:
    """An HTML template of tutor/web/templates/ (`$name` placeholders): fill it with text already escaped."""
    return Template((files("tutor") / "web" / "templates" / name).read_text(encoding="utf-8").strip())
