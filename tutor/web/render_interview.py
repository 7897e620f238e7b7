"""Pure render functions for the Interview tab: prompt / feedback / report dicts and attempt rows -> HTML and SVG.

They take the JSON shapes of `Prompt.to_dict()`, `Feedback.to_dict()`, `InterviewSession.report()` and
`ProgressStore.history()`, so they import nothing heavy. Every piece of note or answer text is escaped with
`render_markdown.esc`; citations reuse the chat's source blocks (file › heading › lines, the cited lines highlighted).
The markup is in tutor/web/templates/interview-*.html.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from tutor.interview.progress import WEAK_TOPIC
from tutor.types import Citation
from tutor.web.assets import fragment, template
from tutor.web.render import LinesOf, sources_panel, where
from tutor.web.render_markdown import answer_body, cite_link, esc, inline

MAX_SHOWN_ANSWER = 2_000  # characters of the user's answer echoed under the feedback
BANDS = ((40, "low"), (70, "mid"), (90, "good"))  # progress.rating_for: <40 Again, <70 Hard, <90 Good, else Easy
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
NO_REFERENCE = "not scored: no reference answer in your notes · 笔记里没有参考答案，不评分"
# filled once per point, chip or chart point: %-format strings, read once
POINT = fragment("interview-point.html", "css", "mark", "point", "where")
CHIP = fragment("interview-chip.html", "state", "label")
GRID_LINE = fragment("interview-chart-grid.html", "left", "right", "y", "y", "tick_x", "tick_y", "value")
DOT = fragment("interview-chart-dot.html", "x", "y", "topic", "when", "value")


def citation_from_dict(d: dict) -> Citation:
    """The inverse of `Citation.to_dict()`."""
    return Citation(**{**d, "heading_path": tuple(d.get("heading_path") or ())})


def band(score: int | float) -> str:
    return next((name for upper, name in BANDS if score < upper), "top")


def score_bar(score: int | float | None, reason: str | None = None) -> str:
    """A 0-100 bar coloured by the rating band, or a plain line when the notes hold no reference answer."""
    if score is None:
        why = template("interview-reason.html").substitute(reason=esc(reason)) if reason else ""
        return template("interview-score-none.html").substitute(none=esc(NO_REFERENCE), reason=why)
    value = max(0.0, min(100.0, float(score)))
    shown = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return template("interview-score.html").substitute(band=band(value), shown=shown, width=f"{value:.1f}")


# --- the question ------------------------------------------------------------------------------------------


def render_question_card(prompt: dict | None, finished: bool = False) -> str:
    """The prompt waiting for an answer (`Prompt.to_dict()`): question N of M, topic, follow-up badge."""
    if prompt is None:
        text = (
            "Interview finished: your report is below. · 面试结束，报告见下方。"
            if finished
            else "Choose a topic and how many questions, then press Start. · 选择主题和题数，然后点击开始。"
        )
        return template("interview-question-idle.html").substitute(text=esc(text))
    badges = template("interview-topic-badge.html").substitute(topic=esc(prompt.get("topic") or ""))
    main = ""
    if prompt.get("follow_up"):
        badges += template("interview-follow-badge.html").template
        main = template("interview-main-question.html").substitute(question=esc(prompt.get("main_question") or ""))
    elif not prompt.get("has_reference", True):
        badges += template("interview-noref-badge.html").template
    return template("interview-question.html").substitute(
        follow_up=" follow-up" if prompt.get("follow_up") else "",
        number=prompt.get("number", 1),
        of=prompt.get("of", 1),
        badges=badges,
        main=main,
        question=esc(prompt.get("question") or ""),
    )


# --- feedback on one answer ----------------------------------------------------------------------------------


def render_feedback(fb: dict, turn: str, lines_of: LinesOf, answer: str = "", saved: str | None = None) -> str:
    """`Feedback.to_dict()` as a card: score bar, covered, missed and contradicted points (each cites the note's
    lines), the follow-up, the reference answer with [n] -> sources, and the user's own answer (escaped)."""
    head = template("interview-feedback-head.html").substitute(
        question=esc(fb.get("question") or ""),
        badge=template("interview-follow-badge.html").template if fb.get("is_follow_up") else "",
    )
    citations = [citation_from_dict(c) for c in fb.get("citations") or ()]
    parts = "".join(
        CHIP
        % ("ok" if p.get("covered") else "gap", f"{esc(p.get('part'))} {round(100 * float(p.get('coverage') or 0))}%")
        for p in fb.get("parts") or ()
    )
    follow = ""
    if fb.get("follow_up"):
        follow = template("interview-next-follow.html").substitute(
            badge=template("interview-follow-badge.html").template, follow_up=esc(fb["follow_up"])
        )
    notices = "".join(template("answer-notice.html").substitute(notice=esc(n)) for n in fb.get("notices") or ())
    if saved:
        notices += template("interview-saved.html").substitute(path=esc(saved))
    reference = ""
    if fb.get("reference_answer"):
        reference = template("interview-reference.html").substitute(body=answer_body(fb["reference_answer"], turn))
    return template("interview-feedback.html").substitute(
        turn=esc(turn),
        head=head,
        score=score_bar(fb.get("score"), fb.get("reason")),
        parts=_parts_row(parts),
        points=_points(fb, turn),
        follow_up=follow,
        notices=notices,
        your_answer=_your_answer(answer),
        reference=reference,
        sources=sources_panel(citations, turn, lines_of),
    )


def _points(fb: dict, turn: str) -> str:
    """The covered, missed and contradicted points, each list under its title with its count."""
    covered = "".join(POINT % ("iv-covered", "✓", inline(point), "") for point in fb.get("covered") or ())
    missed = "".join(_missed_point(m, turn) for m in fb.get("missed") or ())
    denied = "".join(_missed_point(m, turn, "iv-contradicted", "≠") for m in fb.get("contradicted") or ())
    lists = (("Covered · 答到了", "covered", covered), ("Missed · 漏掉了", "missed", missed),
             ("Contradicted · 与笔记相反", "contradicted", denied))  # fmt: skip
    points = template("interview-points.html")
    return "".join(
        points.substitute(title=title, count=len(fb[key]), items=items) for title, key, items in lists if items
    )


def _parts_row(chips: str) -> str:
    return template("interview-chips.html").substitute(chips=chips) if chips else ""


def _missed_point(missed: dict, turn: str, css: str = "iv-missed", mark: str = "✗") -> str:
    c = missed.get("citation") or {}
    link = ""
    if c:  # file:line here; the source block it links to says file › heading › lines
        citation = citation_from_dict(c)
        lines = f"{citation.line_start}" + (f"–{citation.line_end}" if citation.line_end > citation.line_start else "")
        short = f"{PurePosixPath(citation.source).name}:{lines}"
        link = " " + template("interview-point-where.html").substitute(
            cite=cite_link(citation.n, turn), where=esc(where(citation)), short=esc(short)
        )
    return POINT % (css, mark, inline(str(missed.get("point") or "")), link)


def _your_answer(answer: str) -> str:
    if not answer.strip():
        return ""
    text, more = answer, ""
    if len(text) > MAX_SHOWN_ANSWER:
        text, more = text[:MAX_SHOWN_ANSWER], template("question-cut.html").substitute(length=f"{len(answer):,}")
    return template("interview-your-answer.html").substitute(text=esc(text), more=more)


# --- the session report --------------------------------------------------------------------------------------


def render_report(report: dict, lines_of: LinesOf, turn: str = "report") -> str:
    """`InterviewSession.report()`: score per question, weakest topics, and what to review with citations."""
    rows = "".join(_report_row(q) for q in report.get("questions") or ())
    weakest = report.get("weakest_topics") or []
    topics = "".join(
        CHIP % ("gap" if t["topic"] in weakest else "ok", f"{esc(t['topic'])} {t['mean_score']:g}")
        for t in report.get("topics") or ()
    )
    weak_line = (
        template("interview-weakest.html").substitute(topics=esc(", ".join(weakest)))
        if weakest
        else (template("interview-weakest-none.html").template if topics else "")
    )
    saved = report.get("saved") or []
    mean = report.get("mean_score")
    return template("interview-report.html").substitute(
        turn=esc(turn),
        answered=report.get("answered", 0),
        asked=report.get("asked", 0),
        mean="" if mean is None else f" · mean score {mean:g}",
        score=score_bar(mean) if mean is not None else "",
        rows=rows,
        topics=_parts_row(topics),
        weakest=weak_line,
        review=_review(report.get("review") or [], lines_of, turn),
        saved=template("interview-report-saved.html").substitute(paths=esc(", ".join(saved))) if saved else "",
    )


def _review(review: list[dict], lines_of: LinesOf, turn: str) -> str:
    """The points to review, numbered across the report and grouped under their question, with their sources."""
    if not review:
        return ""
    citations = [replace(citation_from_dict(r["citation"]), n=k) for k, r in enumerate(review, start=1)]
    point = template("interview-review-point.html")
    by_question: dict[str, list[str]] = {}
    for k, r in enumerate(review, start=1):
        item = point.substitute(n=k, point=inline(str(r.get("point") or "")), cite=cite_link(k, turn))
        by_question.setdefault(str(r.get("question") or ""), []).append(item)
    group = template("interview-review-group.html")
    groups = "".join(group.substitute(question=esc(q), points="".join(items)) for q, items in by_question.items())
    return template("interview-review.html").substitute(groups=groups, sources=sources_panel(citations, turn, lines_of))


def _report_row(q: dict) -> str:
    if q.get("skipped"):
        score = template("interview-muted.html").substitute(text="skipped · 跳过")
    elif q.get("score") is None:
        score = template("interview-muted.html").substitute(text="not scored · 不评分")
    else:
        score = template("interview-score-chip.html").substitute(band=band(q["score"]), score=q["score"])
    chip = template("interview-follow-chip.html")
    ups = " ".join(
        chip.substitute(band=band(u["score"]), question=esc(u.get("question") or ""), score=u["score"])
        if u.get("score") is not None
        else "→ –"
        for u in q.get("follow_ups") or ()
    )
    return template("interview-report-row.html").substitute(
        topic=esc(q.get("topic") or ""), question=esc(q.get("question") or ""), score=score, follow_ups=ups
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
    title = template("interview-chart-title.html").template
    if not series:
        return template("interview-chart-empty.html").substitute(title=title)
    left, right, top, bottom = 34, 12, 10, 26
    last = max(k for points in series.values() for k, _, _ in points)
    first = min(k for points in series.values() for k, _, _ in points)
    span_x, span_y = width - left - right, height - top - bottom

    def x(k: int) -> float:
        return left + (span_x / 2 if last == first else (k - first) * span_x / (last - first))

    def y(value: float) -> float:
        return top + (100 - value) * span_y / 100

    grid = "".join(
        GRID_LINE % (left, width - right, f"{y(v):.1f}", f"{y(v):.1f}", left - 6, f"{y(v) + 4:.1f}", v)
        for v in (0, 25, 50, 75, 100)
    )
    weak_y = f"{y(WEAK_TOPIC):.1f}"
    grid += template("interview-chart-weak.html").substitute(left=left, right=width - right, y=weak_y)
    dates = sorted(when[:10] for points in series.values() for _, when, _ in points if when)
    if dates:
        grid += template("interview-chart-date.html").substitute(x=left, y=height - 6, date=esc(dates[0]))
        if dates[-1] != dates[0]:
            end = template("interview-chart-date-end.html")
            grid += end.substitute(x=width - right, y=height - 6, date=esc(dates[-1]))
    lines, legend = [], []
    for i, (topic, points) in enumerate(sorted(series.items())):
        color = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{x(k):.1f},{y(v):.1f}" for k, _, v in points)
        dots = "".join(
            DOT % (f"{x(k):.1f}", f"{y(v):.1f}", esc(topic), esc(when[:16].replace("T", " ")), f"{v:.0f}")
            for k, when, v in points
        )
        lines.append(template("interview-chart-series.html").substitute(color=color, points=path, dots=dots))
        legend.append(_legend_item(topic, points, color))
    label = "; ".join(f"{topic} {points[-1][2]:.0f}" for topic, points in sorted(series.items()))
    svg = template("interview-chart-svg.html").substitute(
        width=width, height=height, label=esc(label), grid=grid, series="".join(lines)
    )
    return template("interview-chart.html").substitute(title=title, svg=svg, legend="".join(legend), weak=WEAK_TOPIC)


def _legend_item(topic: str, points: list[tuple[int, str, float]], color: str) -> str:
    """The topic's swatch, its latest mastery and how many answers it rests on."""
    current = points[-1][2]
    return template("interview-chart-legend-item.html").substitute(
        weak=" weak" if current < WEAK_TOPIC else "",
        color=color,
        topic=esc(topic),
        mastery=f"{current:.0f}",
        answers=len(points),
        plural="s" if len(points) != 1 else "",
    )


def render_topic_table(mastery: Sequence[dict]) -> str:
    """`ProgressStore.mastery()` rows (weakest first) as a small table under the chart."""
    if not mastery:
        return ""
    row = template("interview-topic-row.html")
    rows = "".join(
        row.substitute(
            topic=esc(t["topic"]),
            mastery="–" if t["mean_score"] is None else format(t["mean_score"], "g"),
            questions=t["questions"],
            answers=t["attempts"],
        )
        for t in mastery
    )
    return template("interview-topic-table.html").substitute(rows=rows)
