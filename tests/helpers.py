"""Plain helpers several test modules share (fixtures live in conftest.py): a free port, the app served on it,
the notes' shared UI index, the browser's launch settings, an HTML tag parser and a scripted chat model."""

from __future__ import annotations

import argparse
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from tutor.answer.chat import Tutor
from tutor.cli.main import build_parser
from tutor.config import Settings
from tutor.index.store import build_index
from tutor.web.app import build_app, launch_options

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"  # Debian's, never a downloaded one
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    """A local port nothing listens on: the probing socket is closed again before this returns."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def isolated_dirs(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """conftest's isolation for a module-scoped fixture (the autouse one is per test): a new tmp dir for both."""
    with pytest.MonkeyPatch.context() as mp:
        base = factory.mktemp(name)
        mp.setenv("TUTOR_INDEX_DIR", str(base / "index"))
        mp.setenv("TUTOR_DATA_DIR", str(base / "data"))
        mp.setenv("TUTOR_FETCH_LINKS", "0")
        yield base


def shared_settings(factory: pytest.TempPathFactory) -> Settings:
    """A copy of the real notes and one index for the whole test session (the UI test modules share it)."""
    base = factory.getbasetemp() / "ui-shared"
    if not (base / "corpus").exists():
        shutil.copytree(REPO / "corpus", base / "corpus", ignore=shutil.ignore_patterns("references"))
    settings = Settings(corpus_dir=base / "corpus", index_dir=base / "index", data_dir=base / "data", fetch_links=False)
    if not (base / "index" / "CURRENT").exists():
        build_index(settings)
    return settings


def serve(settings: Settings, tutor: Tutor | None = None, **app_kw):
    """The app on a free local port without blocking (as gradio's own tests launch it); the caller closes it."""
    demo = build_app(settings, tutor or Tutor.load(settings), **app_kw)
    demo.queue().launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **launch_options()
    )
    return demo


class Tags(HTMLParser):
    """Every start tag and attribute the browser would build from a piece of HTML."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def names(self) -> set[str]:
        return {t for t, _ in self.tags}

    def handlers(self) -> list[str]:
        return [k for _, attrs in self.tags for k in attrs if k.startswith("on")]


class RecordingModel(GenericFakeChatModel):
    """Scripted replies (str, AIMessage or an exception to raise); records every list of messages it got."""

    calls: list = Field(default_factory=list)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.calls.append(list(messages))
        reply = next(self.messages)
        if isinstance(reply, BaseException):
            raise reply
        message = AIMessage(content=reply) if isinstance(reply, str) else reply
        return ChatResult(generations=[ChatGeneration(message=message)])


def scripted(*replies) -> RecordingModel:
    return RecordingModel(messages=iter(replies))


def parse(argv: list[str]) -> argparse.Namespace:
    """`tutor interview / grade / progress` arguments, parsed as cli.main would."""
    return build_parser().parse_args(argv)
