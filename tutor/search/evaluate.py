"""Run a question set through fresh chat sessions and measure retrieval and status quality.

A question set is JSONL: {"id", "turns": [..], "status", "expect": {"source", "lines": [a, b]} | null};
only the last turn of a conversation is scored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from tutor.answer.chat import ChatSession, Tutor
from tutor.text import is_chinese
from tutor.types import Answer, Hit

DEFAULT_SET = Path(__file__).resolve().parents[2] / "tests" / "data" / "eval.jsonl"


@dataclass
class EvalResult:
    n: int = 0
    in_scope: int = 0
    out_scope: int = 0
    hit1: float = 0.0
    section_hit1: float = 0.0  # the top hit's section (heading to its last body line) holds expected lines
    hit3: float = 0.0
    mrr: float = 0.0
    tightness: float = 0.0  # share of the top hit's lines inside the expected range
    status_accuracy: float = 0.0
    abstention: float = 0.0  # out-of-scope questions answered not_found
    false_abstention: float = 0.0  # in-scope questions wrongly answered not_found
    followup_hit1: float = 0.0
    single_hit1: float = 0.0
    wrong_place: float = 0.0  # in-scope questions answered (not not_found) whose top hit is off target
    crosslingual_hit1: float = 0.0  # hit@1 where the question's language differs from the target lines'
    crosslingual_n: int = 0
    by_kind: dict = field(default_factory=dict)  # kind -> {"n", "hit1", "status"} when the set labels kinds
    ms_p50: float = 0.0
    ms_p95: float = 0.0
    failures: list[dict] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"questions        {self.n} ({self.in_scope} in scope, {self.out_scope} out of scope)",
            f"hit@1            {self.hit1:.3f}   (first questions {self.single_hit1:.3f}, follow-ups {self.followup_hit1:.3f})",
            f"section@1        {self.section_hit1:.3f}   (the top hit's section holds the expected lines)",
            f"hit@3            {self.hit3:.3f}",
            f"MRR              {self.mrr:.3f}",
            f"top hit on target {self.tightness:.3f} of its lines",
            f"status accuracy  {self.status_accuracy:.3f}",
            f"abstention       {self.abstention:.3f} of out-of-scope answered not_found",
            f"false not_found  {self.false_abstention:.3f} of in-scope",
            f"wrong place      {self.wrong_place:.3f} of in-scope answered from an off-target section",
            f"cross-lingual    hit@1 {self.crosslingual_hit1:.3f} ({self.crosslingual_n} questions)",
            f"time/question    p50 {self.ms_p50:.1f} ms, p95 {self.ms_p95:.1f} ms (warm)",
            *(
                f"  {kind:<11} n={k['n']:<3} status {k['status']:.2f}"
                + (f"  hit@1 {k['hit1']:.2f}" if k["scored"] else "")
                for kind, k in sorted(self.by_kind.items())
            ),
        ]


def _on_target(hit: Hit, expect: dict) -> bool:
    a, b = expect["lines"]
    c = hit.chunk
    return c.source == expect["source"] and c.line_start <= b and c.line_end >= a


def _section_on_target(tutor: Tutor, hit: Hit, expect: dict) -> bool:
    section = tutor.index.section_by_id.get(hit.chunk.section_id)
    if section is None or hit.chunk.url:
        return _on_target(hit, expect)
    a, b = expect["lines"]
    return section.source == expect["source"] and section.line_start <= b and section.line_end >= a


def _tight(hit: Hit, expect: dict) -> float:
    a, b = expect["lines"]
    c = hit.chunk
    if c.source != expect["source"]:
        return 0.0
    inside = max(0, min(b, c.line_end) - max(a, c.line_start) + 1)
    return inside / (c.line_end - c.line_start + 1)


def _target_is_chinese(tutor: Tutor, expect: dict) -> bool | None:
    path = tutor.settings.corpus_path.parent / expect["source"]
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError:
        return None
    a, b = expect["lines"]
    return is_chinese("\n".join(lines[a - 1 : b]))


def load_set(path: Path) -> list[dict]:
    items = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{no}: not JSON ({exc.msg})") from exc
    return items


def evaluate(tutor: Tutor, items: list[dict]) -> EvalResult:
    res = EvalResult(n=len(items))
    tally = _Tally()
    for item in items:
        answer = tally.ask(tutor, item)
        expect = item.get("expect")
        ok_status = tally.count_status(res, item, answer)
        first = tally.count_ranking(tutor, item, answer, expect) if expect else False
        tally.count_kind(item, ok_status, first if expect else None)
        if not ok_status or (expect and not first):
            res.failures.append(_failure(tutor, item, answer, expect))
    tally.fill(res, items)
    return res


@dataclass
class _Tally:
    """The running sums of `evaluate`, question by question; `fill` turns them into the result's rates."""

    hit1: float = 0.0
    hit3: float = 0.0
    rr: float = 0.0
    tight: float = 0.0
    status_ok: float = 0.0
    abstain: float = 0.0
    false_abstain: float = 0.0
    section1: float = 0.0
    fu_hits: int = 0
    fu_n: int = 0
    single_hits: int = 0
    single_n: int = 0
    wrong: int = 0
    cross_hits: int = 0
    cross_n: int = 0
    kinds: dict[str, dict] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)

    def ask(self, tutor: Tutor, item: dict) -> Answer:
        """The conversation's turns in a fresh session; only the last one is timed (and scored)."""
        session = ChatSession(tutor)
        for turn in item["turns"][:-1]:
            session.ask(turn)
        started = time.perf_counter()
        answer = session.ask(item["turns"][-1])
        self.times.append((time.perf_counter() - started) * 1000)
        return answer

    def count_status(self, res: EvalResult, item: dict, answer: Answer) -> bool:
        ok_status = answer.status == item["status"]
        self.status_ok += ok_status
        if item["status"] == "not_found":
            res.out_scope += 1
            self.abstain += answer.status == "not_found"
        else:
            res.in_scope += 1
            self.false_abstain += answer.status == "not_found"
        return ok_status

    def count_ranking(self, tutor: Tutor, item: dict, answer: Answer, expect: dict) -> bool:
        """Where the expected lines rank among the hits; whether the top hit is on them."""
        ranks = [i for i, h in enumerate(answer.hits[:10]) if _on_target(h, expect)]
        first = bool(ranks) and ranks[0] == 0
        self.hit1 += first
        self.section1 += bool(answer.hits) and _section_on_target(tutor, answer.hits[0], expect)
        self.hit3 += bool(ranks) and ranks[0] < 3
        self.rr += 1 / (ranks[0] + 1) if ranks else 0
        self.tight += _tight(answer.hits[0], expect) if answer.hits else 0
        self.wrong += answer.status != "not_found" and not first
        target_zh = _target_is_chinese(tutor, expect)
        if target_zh is not None and target_zh != is_chinese(item["turns"][-1]):
            self.cross_n += 1
            self.cross_hits += first
        if len(item["turns"]) > 1:
            self.fu_n += 1
            self.fu_hits += first
        else:
            self.single_n += 1
            self.single_hits += first
        return first

    def count_kind(self, item: dict, ok_status: bool, first: bool | None) -> None:
        """Status and (for a question with expected lines, `first` not None) hit@1 per kind of question."""
        kind = self.kinds.setdefault(item.get("kind") or "-", {"n": 0, "status": 0.0, "hit1": 0.0, "scored": 0})
        kind["n"] += 1
        kind["status"] += ok_status
        if first is not None:
            kind["scored"] += 1
            kind["hit1"] += first

    def fill(self, res: EvalResult, items: list[dict]) -> None:
        with_expect = sum(1 for i in items if i.get("expect")) or 1
        res.hit1, res.hit3, res.mrr, res.tightness, res.section_hit1 = (
            x / with_expect for x in (self.hit1, self.hit3, self.rr, self.tight, self.section1)
        )
        res.status_accuracy = self.status_ok / max(len(items), 1)
        res.abstention = self.abstain / max(res.out_scope, 1)
        res.false_abstention = self.false_abstain / max(res.in_scope, 1)
        res.followup_hit1 = self.fu_hits / max(self.fu_n, 1)
        res.wrong_place = self.wrong / max(res.in_scope, 1)
        res.crosslingual_hit1, res.crosslingual_n = self.cross_hits / max(self.cross_n, 1), self.cross_n
        for k in self.kinds.values():
            k["hit1"] = k["hit1"] / max(k["scored"], 1)
            k["status"] = k["status"] / max(k["n"], 1)
        res.by_kind = {name: k for name, k in self.kinds.items() if name != "-"}
        res.single_hit1 = self.single_hits / max(self.single_n, 1)
        times = sorted(self.times)
        if times:
            res.ms_p50 = times[len(times) // 2]
            res.ms_p95 = times[min(len(times) - 1, int(len(times) * 0.95))]


def _failure(tutor: Tutor, item: dict, answer: Answer, expect: dict | None) -> dict:
    """What a question answered with the wrong status, or off target, got: for the failures listing."""
    top = answer.hits[0].chunk if answer.hits else None
    return {
        "id": item.get("id"),
        "kind": item.get("kind"),
        "question": item["turns"][-1],
        "query": answer.query,
        "status": answer.status,
        "expected_status": item["status"],
        "top": f"{top.source.split('/')[-1]}:{top.line_start}-{top.line_end}" if top else None,
        "top_heading": top.heading_path[-1] if top and top.heading_path else "",
        "section_right": bool(expect and answer.hits and _section_on_target(tutor, answer.hits[0], expect)),
        "expected": expect and f"{expect['source'].split('/')[-1]}:{expect['lines'][0]}-{expect['lines'][1]}",
    }
