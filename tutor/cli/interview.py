"""`tutor interview / grade / progress`: the terminal and JSON-lines front ends of interviewer.py, free_form.py and
progress.py.

Each `cmd_*(args, settings, stdin, stdout, stderr) -> int` is called by cli.main; in --json mode stdout carries
nothing but one JSON object per line (messages go to stderr). Exit codes: 0 done, 1 a problem with the
notes / index / progress store, 2 bad usage.
"""

from __future__ import annotations

import json
from typing import TextIO

from tutor.config import Settings
from tutor.index.store import IndexError_, ensure_index, load_index
from tutor.interview.free_form import FreeFormGrader
from tutor.interview.interviewer import InterviewError, InterviewSession
from tutor.interview.progress import ProgressError, ProgressStore
from tutor.interview.rounds import Prompt
from tutor.interview.rubric import build_bank
from tutor.text import is_chinese
from tutor.types import Feedback, Ungraded

LABELS = {
    "zh": {"score": "得分", "covered": "已答到", "missed": "遗漏", "contradicted": "与笔记相反", "parts": "各部分",
           "reference": "笔记中的参考答案", "follow_up": "追问", "no_score": "不评分", "prompt": "你的回答（一行；/skip 跳过，/quit 结束）",
           "save_or_end": "输入 /save 保存最后这个回答，直接回车结束"},
    "en": {"score": "Score", "covered": "Covered", "missed": "Missed", "contradicted": "Contradicted", "parts": "Parts",
           "reference": "From the notes", "follow_up": "Follow-up", "no_score": "not scored", "prompt": "Your answer (one line; /skip, /quit)",
           "save_or_end": "Type /save to keep this last answer, or press Enter to finish"},
}  # fmt: skip


def _emit(stdout: TextIO, obj: dict) -> None:
    stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    stdout.flush()  # the other end of the protocol waits for each line


def _lang(text: str) -> str:
    return "zh" if is_chinese(text) else "en"


# ---------------------------------------------------------------- interview


def _no_notes(settings: Settings, stderr: TextIO) -> bool:
    if settings.corpus_path.is_dir():
        return False
    print(
        f"tutor: no notes folder at {settings.corpus_path}: give --corpus DIR or create it with your .md notes",
        file=stderr,
    )
    return True


def cmd_interview(args, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    if args.n < 1:
        print("tutor interview: --n must be at least 1", file=stderr)
        return 2
    if _no_notes(settings, stderr):
        return 1
    try:
        session = InterviewSession(settings, topic=args.topic, n=args.n, index=ensure_index(settings, say=_say(stderr)))
    except InterviewError as exc:
        print(f"tutor interview: {exc}", file=stderr)
        return 2
    except ProgressError as exc:
        print(f"tutor: {exc}", file=stderr)
        return 1
    if not session.questions:
        print(f"tutor: the notes in {settings.corpus_path} hold no questions to ask", file=stderr)
        return 1
    as_json = args.json
    try:
        finished = _ask_all(session, as_json, stdin, stdout, stderr)
    except ProgressError as exc:
        print(f"tutor: {exc}", file=stderr)
        if as_json:
            _emit(stdout, {"type": "error", "error": str(exc)})
        return 1
    if finished and session.unsaved is not None and not as_json:
        stdout.write(f"{LABELS[_lang(session.unsaved[0].text)]['save_or_end']}\n> ")
        stdout.flush()
        if stdin.readline().strip().lower() == "/save":
            _save(session, as_json, stdout, stderr)
    report = session.report()
    _emit(stdout, report) if as_json else stdout.write(render_report(report))
    if finished and session.unsaved is not None and as_json and stdin.readline().strip().lower() == "/save":
        _save(session, as_json, stdout, stderr)  # a JSON client may still keep the last answer after the report
    return 0


def _ask_all(session: InterviewSession, as_json: bool, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> bool:
    """Question, answer, feedback until the session is done (True) or the user quits / stdin ends (False)."""
    shown = None
    while (prompt := session.next_question()) is not None:
        if prompt is not shown:  # after /save the same question is still waiting: not asked twice
            _show_question(prompt, as_json, stdout)
            shown = prompt
        line = stdin.readline()
        if not line:
            return False  # EOF ends the session with its report
        answer = line.rstrip("\r\n")
        command = answer.strip().lower()
        if command == "/quit":
            return False
        if command == "/skip":
            session.skip()
        elif command == "/save":
            _save(session, as_json, stdout, stderr)
        else:
            _show_feedback(session.submit(answer), as_json, stdout)
    return True


def _say(stderr: TextIO):
    return lambda message: print(message, file=stderr)


def _save(session: InterviewSession, as_json: bool, stdout: TextIO, stderr: TextIO) -> None:
    try:
        path = session.save_last_answer()
    except (InterviewError, ValueError, OSError) as exc:
        _emit(stdout, {"type": "error", "error": str(exc)}) if as_json else print(str(exc), file=stderr)
        return
    shown = path.relative_to(session.settings.corpus_path.parent).as_posix()
    _emit(stdout, {"type": "saved", "file": shown, "path": str(path)}) if as_json else stdout.write(
        f"saved to {shown}\n"
    )


def _show_question(prompt: Prompt, as_json: bool, stdout: TextIO) -> None:
    if as_json:
        _emit(stdout, prompt.to_dict())
        return
    q = prompt.question
    labels = LABELS[_lang(q.text)]
    if prompt.follow_up:
        stdout.write(f"\n  {labels['follow_up']}: {prompt.text}\n")
    else:
        stdout.write(f"\n[{prompt.number}/{prompt.of}] {q.topic_name} · {q.source}:{q.line_start}\n{prompt.text}\n")
    stdout.write(f"{labels['prompt']}\n> ")
    stdout.flush()


def _show_feedback(fb: Feedback, as_json: bool, stdout: TextIO) -> None:
    if as_json:
        _emit(stdout, {"type": "feedback", **fb.to_dict()})  # the feedback object, tagged for the line protocol
    else:
        stdout.write(render_feedback(fb))
        stdout.flush()


def render_feedback(fb: Feedback) -> str:
    """Readable feedback, in the language of the question."""
    labels = LABELS[_lang(fb.question)]
    lines = [""]
    if fb.score is None:
        lines.append(f"{labels['score']}: {labels['no_score']} - {fb.reason}")
    else:
        lines.append(f"{labels['score']}: {fb.score}/100")
    lines += [f"  ✓ {p}" for p in fb.covered]
    if fb.missed:
        lines.append(f"{labels['missed']}:")
        lines += [f"  ✗ {m['point']}  ({m['citation']['source']}:{m['citation']['line_start']})" for m in fb.missed]
    if fb.contradicted:
        lines.append(f"{labels['contradicted']}:")
        lines += [
            f"  ≠ {m['point']}  ({m['citation']['source']}:{m['citation']['line_start']})" for m in fb.contradicted
        ]
    if fb.parts:
        lines.append(
            f"{labels['parts']}: " + " · ".join(f"{p['part']} {round(100 * p['coverage'])}%" for p in fb.parts)
        )
    if fb.reference_answer and fb.missed:
        lines += [f"{labels['reference']}:", fb.reference_answer]
    lines += [f"  ! {n}" for n in fb.notices]
    return "\n".join(lines) + "\n"


def render_report(report: dict) -> str:
    mean = "-" if report["mean_score"] is None else report["mean_score"]
    lines = ["", f"== {report['answered']}/{report['asked']} answered, mean score {mean}"]
    for q in report["questions"]:
        score = "skipped" if q["skipped"] else ("-" if q["score"] is None else q["score"])
        ups = "".join(f" -> {u['score']}" for u in q["follow_ups"])
        lines.append(f"  {str(score):>7}{ups}  [{q['topic']}] {q['question']}")
    if report["weakest_topics"]:
        lines.append("weakest: " + ", ".join(report["weakest_topics"]))
    if report["review"]:
        lines.append("review:")
        for item in report["review"]:
            c = item["citation"]
            lines.append(f"  - {item['point'].splitlines()[0]}  ({c['source']}:{c['line_start']}-{c['line_end']})")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- grade


def cmd_grade(args, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    if args.question is None and args.answer is not None:
        print("tutor grade: --answer needs --question", file=stderr)
        return 2
    if args.question is None and stdin.isatty():
        print(
            'tutor grade: pipe one {"question": ..., "answer": ...} JSON object per line, or give --question',
            file=stderr,
        )
        return 2
    if _no_notes(settings, stderr):
        return 1
    grader = FreeFormGrader(settings, say=_say(stderr))
    if args.question is not None:
        answer = args.answer if args.answer is not None else stdin.read()
        result = grader.feedback(args.question, answer)
        _emit(stdout, result.to_dict()) if args.json else stdout.write(_render_grade(result))
        return 0
    for line in stdin:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("question"), str) or not row["question"].strip():
                raise ValueError('each line must be an object with a non-empty "question" string')
            if not isinstance(row.get("answer", ""), str):
                raise ValueError('"answer" must be a string')
            result = grader.feedback(row["question"], row.get("answer", ""))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            error = f"malformed line: {exc}"
            _emit(stdout, {"error": error}) if args.json else stdout.write(f"error: {error}\n")
            continue
        _emit(stdout, result.to_dict()) if args.json else stdout.write(_render_grade(result))
    return 0


def _render_grade(result: Feedback | Ungraded) -> str:
    fb = result if isinstance(result, Feedback) else Feedback(result.question, None, reason=result.reason)
    head = f"\n{fb.question}" + (f"  (→ {fb.matched_question})" if fb.matched_question else "")
    return (
        head
        + render_feedback(fb)
        + (f"{LABELS[_lang(fb.question)]['follow_up']}: {fb.follow_up}\n" if fb.follow_up else "")
    )


# ---------------------------------------------------------------- progress


def cmd_export(args, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    from tutor.interview.anki import ExportError, export_deck  # genanki: only this command needs it

    if _no_notes(settings, stderr):
        return 1
    try:
        report = export_deck(settings, args.out, topic=args.topic, due=args.due)
    except InterviewError as exc:  # an unknown topic
        print(f"tutor export: {exc}", file=stderr)
        return 2
    except (ExportError, ProgressError, OSError) as exc:
        print(f"tutor export: {exc}", file=stderr)
        return 1
    print(report.summary(), file=stdout)
    return 0


def cmd_progress(args, settings: Settings, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    if args.limit < 0:
        print("tutor progress: --limit must be 0 or more", file=stderr)
        return 2
    try:
        with ProgressStore.for_settings(settings) as store:
            result = {
                "type": "progress",
                "database": str(store.path),
                "topics": store.mastery(),
                "due": store.due(),
                "history": store.history(args.limit),
            }
            asked = set(store.due_dates())
    except ProgressError as exc:
        print(f"tutor: {exc}", file=stderr)
        return 1
    _add_unseen(result, settings, asked)
    if args.json:
        _emit(stdout, result)
    else:
        stdout.write(render_progress(result))
    return 0


def _add_unseen(result: dict, settings: Settings, asked: set[str]) -> None:
    """Questions never asked, per topic, when an index is at hand (progress must work without one)."""
    try:
        bank = build_bank(load_index(settings, check_stale=False), settings)
    except (IndexError_, OSError):
        return
    unseen: dict[str, int] = {}
    for q in bank:
        if q.id not in asked:
            unseen[q.topic_name] = unseen.get(q.topic_name, 0) + 1
    result["not_yet_asked"] = unseen


def render_progress(result: dict) -> str:
    lines = ["mastery (weakest first):"]
    for t in result["topics"] or [{"topic": "-", "questions": 0, "attempts": 0, "mean_score": None}]:
        mean = "-" if t["mean_score"] is None else t["mean_score"]
        lines.append(f"  {t['topic']:<10} mean {mean!s:>5}  {t['questions']} questions, {t['attempts']} answers")
    lines.append(f"due for review: {len(result['due'])}")
    lines += [f"  {d['due'][:16]}  [{d['topic']}] {d['question']}" for d in result["due"]]
    if result.get("not_yet_asked"):
        lines.append("not yet asked: " + ", ".join(f"{t} {n}" for t, n in result["not_yet_asked"].items()))
    lines.append("recent answers:")
    for h in result["history"]:
        score = "-" if h["score"] is None else h["score"]
        lines.append(f"  {h['created_at'][:16]}  {score!s:>3}  {'↳ ' if h['follow_up'] else ''}{h['question']}")
    return "\n".join(lines) + "\n"
