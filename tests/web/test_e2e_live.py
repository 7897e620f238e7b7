"""Living notes in a real headless Chromium (Debian's, never a downloaded one): drop a file in and see it cited,
edit a note on disk and see the new line cited, delete the file and see it gone. Notes of its own, real e5."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.conftest import make_corpus, settings_for  # noqa: E402
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402
from tutor.answer.chat import Tutor  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WAIT = 120_000  # ms; a re-index of tiny notes re-fits the relevance scale with e5, slow on a shared machine
OPTIMIZERS = "# 优化\n\n## 什么是动量法？\n\n动量法累积历史梯度的指数平均来加速收敛，并减小震荡。\n"
SPACE = "# Space\n\n## What is a quasar?\n\nA quasar is a very luminous galactic nucleus powered by a supermassive black hole.\n"
BLAZAR = (
    "\n## What is a blazar?\n\nA blazar is an active galaxy whose relativistic jet points almost straight at Earth.\n"
)

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


@pytest.fixture
def app(tmp_path):
    corpus = make_corpus(
        tmp_path,
        {
            "optimizers.md": OPTIMIZERS,
            "galaxies.md": "# Galaxies\n\n## 什么是星系？\n\n星系是由恒星、气体和暗物质组成的系统。\n",
        },
        notes=False,
    )
    settings = settings_for(tmp_path)
    demo = serve(settings, Tutor.load(settings), watch=True)
    try:
        yield demo, corpus
    finally:
        demo.close()


@pytest.fixture
def page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        yield page
        browser.close()


def ask(page, message: str, turn: int):
    page.get_by_role("tab", name="Chat · 问答").click()
    box = page.locator("#question textarea")
    box.fill(message)
    box.press("Enter")
    answer = page.locator(f"#answer-{turn}")
    expect(answer.locator(".answer-actions")).to_be_visible(timeout=WAIT)
    return answer


def test_drop_a_note_in_edit_one_on_disk_and_delete_it(app, page, tmp_path):
    demo, corpus = app
    page.goto(demo.local_url)
    expect(page.locator(".index-status.ready")).to_be_visible(timeout=WAIT)

    dropped = tmp_path / "drop" / "space notes.md"
    dropped.parent.mkdir()
    dropped.write_text(SPACE, encoding="utf-8")
    page.get_by_role("tab", name="Notes · 笔记").click()
    page.locator("#upload input[type=file]").set_input_files(str(dropped))
    result = page.locator("#upload-result")
    expect(result).to_contain_text("space notes.md: saved as corpus/uploads/space notes.md", timeout=WAIT)
    expect(result).to_contain_text("re-indexed 1 file (1 new)")
    expect(page.locator(".index-change")).to_contain_text("re-indexed 1 file (1 new)")
    expect(page.locator("#notes")).to_contain_text("What is a quasar?")

    answer = ask(page, "What is a quasar?", 1)
    expect(answer.locator(".status")).to_contain_text("answered from your notes")
    expect(answer.locator(".source summary").first).to_contain_text("corpus/uploads/space notes.md")

    with (corpus / "optimizers.md").open("a", encoding="utf-8") as f:
        f.write(BLAZAR)  # edited on disk, outside the app: the watcher re-indexes it
    expect(page.locator(".index-change")).to_contain_text("re-indexed 1 file,", timeout=WAIT)
    answer = ask(page, "What is a blazar?", 2)
    expect(answer.locator(".status")).to_contain_text("answered from your notes")
    expect(answer.locator(".source summary").first).to_contain_text("corpus/optimizers.md")
    expect(answer.locator(".answer-text")).to_contain_text("relativistic jet")

    (corpus / "uploads" / "space notes.md").unlink()
    expect(page.locator(".index-change")).to_contain_text("(1 deleted)", timeout=WAIT)
    answer = ask(page, "What is a quasar?", 3)
    expect(answer.locator(".status")).to_contain_text("not in your notes")
    expect(page.locator("#answer-3 .source")).to_have_count(0)
    assert page.dialogs == []
