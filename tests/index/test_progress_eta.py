"""Progress with an ETA while the index builds: the ETA itself, `tutor index`'s lines and bar, the app's status."""

from __future__ import annotations

import io
import re

import pytest
from conftest import settings_for

from tutor.cli.main import main
from tutor.index.eta import Eta, ProgressLines, format_eta
from tutor.index.store import EMBED_BATCH
from tutor.web.app import TutorLoader


class Clock:
    """A clock the test moves by hand: no test here waits or measures real time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, ""),
        (float("inf"), ""),
        (-1, ""),
        (0, "0 s"),
        (0.2, "1 s"),
        (40, "40 s"),
        (59.5, "1 min"),
        (200, "3 min 20 s"),
        (12 * 60 + 40, "13 min"),
        (3600 + 5 * 60, "1 h 05 min"),
    ],
)
def test_eta_is_written_the_way_people_read_it(seconds, shown):
    assert format_eta(seconds) == shown


def test_eta_comes_from_the_rate_since_the_first_report():
    clock = Clock()
    eta = Eta(clock)
    assert eta.update(0, 1100) is None  # no rate yet
    clock.now += 30
    assert eta.update(300, 1100) == pytest.approx(80.0)  # 300 in 30 s: 800 left at 10 per second
    clock.now += 10
    assert eta.update(500, 1100) == pytest.approx(48.0)  # 500 in 40 s: 600 left at 12.5 per second
    assert eta.update(1100, 1100) == 0.0
    clock.now += 5
    assert eta.update(0, 50) is None  # another build starts over


def test_lines_without_a_terminal_come_at_each_tenth_with_the_eta():
    clock, out = Clock(), io.StringIO()
    show = ProgressLines(out, clock)
    show(0, 1100)
    for done in range(16, 1100, 16):
        clock.now += 1.6  # 10 passages a second
        show(done, 1100)
    show(1100, 1100)
    lines = out.getvalue().splitlines()
    assert lines[0] == "embedding 1100 passages"
    assert lines[-1] == f"embedded 1100/1100 passages in {format_eta(68 * 1.6)}"  # 68 batches after the first report
    middle = lines[1:-1]
    assert 9 <= len(middle) <= 11  # one a tenth, not one a batch (68 batches)
    first = re.fullmatch(r"embedded (\d+)/1100 passages, ETA (.+)", middle[0])
    assert first and int(first[1]) >= 110 and first[2] == format_eta((1100 - int(first[1])) / 10)


def test_a_slow_build_still_gets_a_line_every_so_often():
    clock, out = Clock(), io.StringIO()
    show = ProgressLines(out, clock)
    show(0, 100_000)
    for done in range(16, 1600, 16):  # under a tenth, one batch a minute
        clock.now += 60
        show(done, 100_000)
    assert len(out.getvalue().splitlines()) == 1 + 99  # every report is 15 s or more after the last line


def _notes(root, sections: int) -> None:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    body = "\n\n".join(
        f"## 问题{i}：什么是方法{i}？\n\n方法{i}的要点是把第{i}步做好，然后检查结果。" for i in range(sections)
    )
    (corpus / "notes.md").write_text(f"# 笔记\n\n{body}\n", encoding="utf-8")


def _index(root, stderr: io.StringIO, monkeypatch) -> tuple[int, str]:
    monkeypatch.setenv("TUTOR_EMBEDDINGS", "hash:32")
    out = io.StringIO()
    args = ["index", "--no-links", "--corpus", str(root / "corpus"), "--index", str(root / "index")]
    return main(args, stdout=out, stderr=stderr), out.getvalue()


def test_tutor_index_into_a_log_prints_plain_progress_lines(tmp_path, monkeypatch):
    _notes(tmp_path, 40)
    code, out = _index(tmp_path, err := io.StringIO(), monkeypatch)
    assert code == 0 and "embedded" in out
    total = int(re.search(r"(\d+) chunks", out)[1])
    assert total > 2 * EMBED_BATCH  # several batches, so there are lines between the first and the last
    lines = [line for line in err.getvalue().splitlines() if line.startswith("embed")]
    assert "\r" not in err.getvalue()
    assert lines[0] == f"embedding {total} passages"
    assert re.fullmatch(rf"embedded {total}/{total} passages in \d+ s", lines[-1])
    done = [int(re.match(r"embedded (\d+)/", line)[1]) for line in lines[1:]]
    assert done == sorted(done) and len(done) >= 2
    assert all(re.fullmatch(rf"embedded \d+/{total} passages, ETA \d+ s", line) for line in lines[1:-1])


def test_tutor_index_on_a_terminal_draws_a_bar(tmp_path, monkeypatch):
    _notes(tmp_path, 40)
    code, out = _index(tmp_path, err := Terminal(), monkeypatch)
    total = int(re.search(r"(\d+) chunks", out)[1])
    assert code == 0 and "\r" in err.getvalue()  # one line redrawn, not a line per batch
    assert "embedding" in err.getvalue() and f"{total}/{total}" in err.getvalue()
    assert "passages, ETA" not in err.getvalue()


def test_the_app_status_line_shows_done_total_and_the_eta(tmp_path):
    loader = TutorLoader(settings_for(tmp_path))  # not started: the test plays the build's reports
    loader.eta = Eta(clock := Clock())
    loader._progress(0, 1100)
    assert "0/1100 passages" in loader.status_html() and "ETA" not in loader.status_html()
    clock.now += 30
    loader._progress(300, 1100)
    status = loader.status_html()
    assert "300/1100 passages" in status and "ETA 1 min 20 s" in status and "预计还需" in status
    assert '<progress value="300" max="1100">' in status
