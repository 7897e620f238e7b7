"""Pure render functions for the Interview tab: prompt / feedback / report dicts and attempt rows -> HTML and SVG.

They take the JSON shapes of `Prompt.to_dict()`, `Feedback.to_dict()`, `InterviewSession.report()` and
`ProgressStore.history()`, so they import nothing heavy. Every piece of note or answer text is escaped with
`render_markdown.esc`; citations reuse the chat's source blocks (file › heading › lines, the cited lines highlighted).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from tutor.interview.progress import WEAK_TOPIC
from tutor.types import Citation
from tutor.web.render import LinesOf, sources_panel, where
from tutor.web.render_markdown import answer_body, cite_link, esc, inline

MAX_SHOWN_ANSWER = 2_000  # characters of the user's answer echoed under the feedback
BANDS = ((40, "low"), (70, "mid"), (90, "good"))  # progress.rating_for: <40 Again, <70 Hard, <90 Good, else Easy
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
NO_REFERENCE = "not scored: no reference answer in your notes · 笔记里没有参考答案，不评分"


def citation_from_dict(d: dict) -> Citation:
    """The inverse of `Citation.to_dict()`."""
    return Citation(**{**d, "heading_path": tuple(d.get("heading_path") or ())})


def band(score: int | float) -> str:
    return next((name for upper, name in BANDS if score < upper), "top")


def score_bar(score: int | float | None, reason: str | None = None) -> str:
    """A 0-100 bar coloured by the rating band, or a plain line when the notes hold no reference answer."""
    if score is None:
        why = f'<div class="iv-reason">{esc(reason)}</div>' if reason else ""
        return f'<div class="iv-score none"><span class="iv-score-none">∅ {esc(NO_REFERENCE)}</span>{why}</div>'
    value = max(0.0, min(100.0, float(score)))
    shown = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return (
        f'<div class="iv-score band-{band(value)}" role="meter" aria-valuemin="0" aria-valuemax="100"'
        f' aria-valuenow="{shown}"><div class="iv-bar"><div class="iv-fill" style="width:{value:.1f}%"></div></div>'
        f'<span class="iv-score-num">{shown}<small>/100</small></span></div>'
    )


# --- the question ------------------------------------------------------------------------------------------


def render_question_card(prompt: dict | None, finished: bool = False) -> str:
    """The prompt waiting for an answer (`Prompt.to_dict()`): question N of M, topic, follow-up badge."""
    if prompt is None:
        text = (
            "Interview finished: your report is below. · 面试结束，报告见下方。"
            if finished
            else "Choose a topic and how many questions, then press Start. · 选择主题和题数，然后点击开始。"
        )
        return f'<div class="iv-question idle"><div class="iv-q-text">{esc(text)}</div></div>'
    number, of = prompt.get("number", 1), prompt.get("of", 1)
    badges = f'<span class="badge iv-topic">{esc(prompt.get("topic") or "")}</span>'
    main = ""
    if prompt.get("follow_up"):
        badges += '<span class="badge iv-follow">follow-up · 追问</span>'
        main = f'<div class="iv-main-q">on · 关于: {esc(prompt.get("main_question") or "")}</div>'
    elif not prompt.get("has_reference", True):
        badges += (
            '<span class="badge iv-noref" title="your notes hold no answer to this question">'
            "not in your notes: not scored · 笔记中无答案</span>"
        )
    return (
        f'<div class="iv-question{" follow-up" if prompt.get("follow_up") else ""}">'
        f'<div class="iv-q-meta"><span class="iv-q-count">Question {number} of {of} · 第 {number}/{of} 题</span>'
        f"{badges}</div>{main}"
        f'<div class="iv-q-text">{esc(prompt.get("question") or "")}</div></div>'
    )


# --- feedback on one answer ----------------------------------------------------------------------------------


def render_feedback(fb: dict, turn: str, lines_of: LinesOf, answer: str = "", saved: str | None = None) -> str:
    """`Feedback.to_dict()` as a card: score bar, covered, missed and contradicted points (each cites the note's
    lines), the follow-up, the reference answer with [n] -> sources, and the user's own answer (escaped)."""
    head = f'<span class="iv-fb-label">Feedback · 反馈</span> <q>{esc(fb.get("question") or "")}</q>'
    if fb.get("is_follow_up"):
        head += '<span class="badge iv-follow">follow-up · 追问</span>'
    citations = [citation_from_dict(c) for c in fb.get("citations") or ()]
    parts = "".join(
        f'<span class="iv-part {"ok" if p.get("covered") else "gap"}">{esc(p.get("part"))}'
        f" {round(100 * float(p.get('coverage') or 0))}%</span>"
        for p in fb.get("parts") or ()
    )
    covered = "".join(f'<li class="iv-covered">✓ {inline(point)}</li>' for point in fb.get("covered") or ())
    missed = "".join(_missed_point(m, turn) for m in fb.get("missed") or ())
    denied = "".join(_missed_point(m, turn, "iv-contradicted", "≠") for m in fb.get("contradicted") or ())
    points = ""
    if covered:
        points += f'<div class="iv-list-title">Covered · 答到了 ({len(fb["covered"])})</div><ul class="iv-points">{covered}</ul>'
    if missed:
        points += (
            f'<div class="iv-list-title">Missed · 漏掉了 ({len(fb["missed"])})</div><ul class="iv-points">{missed}</ul>'
        )
    if denied:
        title = f"Contradicted · 与笔记相反 ({len(fb['contradicted'])})"
        points += f'<div class="iv-list-title">{title}</div><ul class="iv-points">{denied}</ul>'
    follow = ""
    if fb.get("follow_up"):
        follow = (
            '<div class="iv-next-follow"><span class="badge iv-follow">follow-up · 追问</span> '
            f'{esc(fb["follow_up"])} <span class="iv-hint">(answer it above · 在上方作答)</span></div>'
        )
    notices = "".join(f'<div class="notice">⚠ {esc(n)}</div>' for n in fb.get("notices") or ())
    if saved:
        notices += f'<div class="iv-saved">✓ saved to {esc(saved)} · 已保存</div>'
    reference = ""
    if fb.get("reference_answer"):
        reference = (
            '<details class="iv-reference" open><summary>Reference answer from your notes · 笔记中的参考答案</summary>'
            f'<div class="answer-text">{answer_body(fb["reference_answer"], turn)}</div></details>'
        )
    return (
        f'<div class="tutor-answer iv-feedback" id="iv-feedback-{esc(turn)}"><div class="iv-fb-head">{head}</div>'
        f"{score_bar(fb.get('score'), fb.get('reason'))}{_parts_row(parts)}{points}{follow}{notices}"
        f"{_your_answer(answer)}{reference}{sources_panel(citations, turn, lines_of)}</div>"
    )


def _parts_row(chips: str) -> str:
    return f'<div class="iv-parts">{chips}</div>' if chips else ""


def _missed_point(missed: dict, turn: str, css: str = "iv-missed", mark: str = "✗") -> str:
    c = missed.get("citation") or {}
    link = ""
    if c:  # file:line here; the source block it links to says file › heading › lines
        citation = citation_from_dict(c)
        lines = f"{citation.line_start}" + (f"–{citation.line_end}" if citation.line_end > citation.line_start else "")
        short = f"{PurePosixPath(citation.source).name}:{lines}"
        link = (
            f' {cite_link(citation.n, turn)} <span class="iv-where" title="{esc(where(citation))}">{esc(short)}</span>'
        )
    return f'<li class="{css}">{mark} {inline(str(missed.get("point") or ""))}{link}</li>'


def _your_answer(answer: str) -> str:
    if not answer.strip():
        return ""
    text, more = answer, ""
    if len(text) > MAX_SHOWN_ANSWER:
        text, more = text[:MAX_SHOWN_ANSWER], f'<span class="cut"> … ({len(answer):,} characters in all)</span>'
    return (
        '<details class="iv-your-answer"><summary>Your answer · 你的回答</summary>'
        f'<div class="iv-answer-text">{esc(text)}{more}</div></details>'
    )


# --- the session report --------------------------------------------------------------------------------------


def render_report(report: dict, lines_of: LinesOf, turn: str = "report") -> str:
    """`InterviewSession.report()`: score per question, weakest topics, and what to review with citations."""
    rows = "".join(_report_row(q) for q in report.get("questions") or ())
    weakest = report.get("weakest_topics") or []
    topics = "".join(
        f'<span class="iv-part {"gap" if t["topic"] in weakest else "ok"}">{esc(t["topic"])} {t["mean_score"]:g}</span>'
        for t in report.get("topics") or ()
    )
    weak_line = (
        f'<div class="iv-weakest">Weakest · 最薄弱: {esc(", ".join(weakest))}</div>'
        if weakest
        else ('<div class="iv-weakest ok">No weak topic this time · 本次没有薄弱主题</div>' if topics else "")
    )
    review = report.get("review") or []
    citations = [replace(citation_from_dict(r["citation"]), n=k) for k, r in enumerate(review, start=1)]
    by_question: dict[str, list[str]] = {}
    for k, r in enumerate(review, start=1):  # numbered across the report, grouped under their question
        point = f'<li value="{k}">{inline(str(r.get("point") or ""))} {cite_link(k, turn)}</li>'
        by_question.setdefault(str(r.get("question") or ""), []).append(point)
    review_html = ""
    if by_question:
        groups = "".join(
            f'<div class="iv-review-q">{esc(q)}</div><ol class="iv-review">{"".join(items)}</ol>'
            for q, items in by_question.items()
        )
        review_html = (
            f'<div class="iv-list-title">Review these points · 需要复习</div>{groups}'
            f"{sources_panel(citations, turn, lines_of)}"
        )
    saved = report.get("saved") or []
    saved_html = f'<div class="iv-saved">✓ saved to {esc(", ".join(saved))}</div>' if saved else ""
    mean = report.get("mean_score")
    return (
        f'<div class="tutor-answer iv-report" id="iv-report-{esc(turn)}">'
        '<div class="iv-report-title">Interview report · 面试报告</div>'
        f'<div class="iv-report-summary">{report.get("answered", 0)} of {report.get("asked", 0)} answered'
        f" · 回答了 {report.get('answered', 0)}/{report.get('asked', 0)} 题"
        f"{'' if mean is None else f' · mean score {mean:g}'}</div>"
        f"{score_bar(mean) if mean is not None else ''}"
        '<table class="iv-report-table"><thead><tr><th>topic</th><th>question</th><th>score</th>'
        f"<th>follow-ups</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{_parts_row(topics)}{weak_line}{review_html}{saved_html}</div>"
    )


def _report_row(q: dict) -> str:
    if q.get("skipped"):
        score = '<span class="iv-muted">skipped · 跳过</span>'
    elif q.get("score") is None:
        score = '<span class="iv-muted">not scored · 不评分</span>'
    else:
        score = f'<span class="iv-chip band-{band(q["score"])}">{q["score"]}</span>'
    ups = " ".join(
        f'<span class="iv-chip band-{band(u["score"])}" title="{esc(u.get("question") or "")}">→ {u["score"]}</span>'
        if u.get("score") is not None
        else "→ –"
        for u in q.get("follow_ups") or ()
    )
    return (
        f"<tr><td>{esc(q.get('topic') or '')}</td><td>{esc(q.get('question') or '')}</td>"
        f"<td>{score}</td><td>{ups}</td></tr>"
    )


# --- mastery per topic over time -------------------------------------------------------------------------------

Series = dict[str, list[tuple[int, str, float]]]  # topic -> [(answer number, when, mastery)]


def mastery_series(attempts: Iterable[dict]) -> Series:
    """After each scored main answer, its topic's mastery: the mean of each question's latest score in the topic
    (progress.mastery's measure). Follow-ups and unscored answers are left out, as there."""
    rows = [a for a in attempts if not a.get("follow_up") and a.get("score") is not None]
    rows.sort(key=lambda a: (a.get("id") or 0, str(a.get("created_at") or "")))
    latest: dict[str, dict[str, float]] = {}
    series: Series = {}
    for k, a in enumerate(rows, start=1):
        topic = str(a.get("topic") or "?")
        scores = latest.setdefault(topic, {})
        scores[str(a.get("question_id") or a.get("question"))] = float(a["score"])
        series.setdefault(topic, []).append((k, str(a.get("created_at") or ""), sum(scores.values()) / len(scores)))
    return series


def render_mastery_chart(series: Series, width: int = 520, height: int = 220) -> str:
    """An inline SVG line chart, one line per topic (0-100 over answers), with a legend of the latest values."""
    title = '<div class="iv-chart-title">Mastery per topic over time · 各主题掌握程度</div>'
    if not series:
        return (
            f'<div class="iv-chart">{title}<div class="iv-chart-empty">Answer a few questions and your mastery per '
            "topic shows here. · 答几道题后，这里会显示各主题的掌握程度。</div></div>"
        )
    left, right, top, bottom = 34, 12, 10, 26
    last = max(k for points in series.values() for k, _, _ in points)
    first = min(k for points in series.values() for k, _, _ in points)
    span_x, span_y = width - left - right, height - top - bottom

    def x(k: int) -> float:
        return left + (span_x / 2 if last == first else (k - first) * span_x / (last - first))

    def y(value: float) -> float:
        return top + (100 - value) * span_y / 100

    grid = "".join(
        f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
        f'<text class="tick" x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>'
        for v in (0, 25, 50, 75, 100)
    )
    grid += f'<line class="weak" x1="{left}" x2="{width - right}" y1="{y(WEAK_TOPIC):.1f}" y2="{y(WEAK_TOPIC):.1f}"/>'
    dates = sorted(when[:10] for points in series.values() for _, when, _ in points if when)
    if dates:
        grid += f'<text class="tick" x="{left}" y="{height - 6}">{esc(dates[0])}</text>'
        if dates[-1] != dates[0]:
            grid += f'<text class="tick" x="{width - right}" y="{height - 6}" text-anchor="end">{esc(dates[-1])}</text>'
    lines, legend = [], []
    for i, (topic, points) in enumerate(sorted(series.items())):
        color = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{x(k):.1f},{y(v):.1f}" for k, _, v in points)
        dots = "".join(
            f'<circle cx="{x(k):.1f}" cy="{y(v):.1f}" r="3.5"><title>{esc(topic)} · {esc(when[:16].replace("T", " "))}'
            f" · {v:.0f}</title></circle>"
            for k, when, v in points
        )
        lines.append(
            f'<g class="series" stroke="{color}" fill="{color}"><polyline fill="none" stroke-width="2"'
            f' points="{path}"/>{dots}</g>'
        )
        current = points[-1][2]
        legend.append(
            f'<span class="iv-legend-item{" weak" if current < WEAK_TOPIC else ""}"><span class="iv-swatch"'
            f' style="background:{color}"></span>{esc(topic)} <strong>{current:.0f}</strong>'
            f" <small>({len(points)} answer{'s' if len(points) != 1 else ''})</small></span>"
        )
    label = "; ".join(f"{topic} {points[-1][2]:.0f}" for topic, points in sorted(series.items()))
    svg = (
        f'<svg class="iv-svg" viewBox="0 0 {width} {height}" role="img" aria-label="mastery: {esc(label)}"'
        f' xmlns="http://www.w3.org/2000/svg">{grid}{"".join(lines)}</svg>'
    )
    return (
        f'<div class="iv-chart">{title}{svg}<div class="iv-legend">{"".join(legend)}</div>'
        f'<div class="iv-chart-note">one point per answered question · dashed line: {WEAK_TOPIC}, below it a topic'
        " counts as weak</div></div>"
    )


def render_topic_table(mastery: Sequence[dict]) -> str:
    """`ProgressStore.mastery()` rows (weakest first) as a small table under the chart."""
    if not mastery:
        return ""
    rows = "".join(
        f"<tr><td>{esc(t['topic'])}</td><td>{'–' if t['mean_score'] is None else format(t['mean_score'], 'g')}</td>"
        f"<td>{t['questions']}</td><td>{t['attempts']}</td></tr>"
        for t in mastery
    )
    return (
        '<table class="iv-mastery-table"><thead><tr><th>topic</th><th>mastery</th><th>questions</th>'
        f"<th>answers</th></tr></thead><tbody>{rows}</tbody></table>"
    )
