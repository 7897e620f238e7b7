"""`tutor index / ask / chat / eval / watch / interview / grade / progress / schema`; `main(argv)` is testable
in-process.

Each command imports what it uses when it runs (`ask` never loads the interviewer), so the parser stays light.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TextIO

from tutor.config import Settings, SettingsError, get_settings
from tutor.index.eta import progress_printer
from tutor.notes.files import CorpusError
from tutor.types import Answer, line_span

HISTORY = 20  # recent answers `tutor progress` lists
# `tutor schema` objects (tutor/schema.py `objects()`; named here so that the parser needs no import)
SCHEMA_OBJECTS = ("answer", "citation", "hit", "passage", "feedback", "ungraded", "question", "round", "report")
STATUS_LINE = {
    "answered": "answered from your notes",
    "question_only": "your notes only pose this question",
    "not_found": "not in your notes",
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", metavar="DIR", help="notes folder (TUTOR_CORPUS_DIR, default corpus/)")
    p.add_argument("--index", metavar="DIR", help="index folder (TUTOR_INDEX_DIR, default index/)")
    p.add_argument("--data-dir", metavar="DIR", help="progress folder (TUTOR_DATA_DIR)")


def _llm(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm", metavar="SPEC", help="none, openai:<model> or ollama:<model> (TUTOR_LLM, default none)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutor", description="Study tutor over your own notes.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("index", help="build or update the index (fetches linked articles)")
    _common(p)
    p.add_argument("--refresh-links", action="store_true", help="fetch linked articles again")
    p.add_argument("--no-links", action="store_true", help="do not fetch linked articles")
    p = sub.add_parser("ask", help="answer one question from the notes")
    _common(p)
    p.add_argument("question", nargs="?", help="the question (or - to read it from stdin)")
    p.add_argument("--json", action="store_true", help="print the answer object as JSON")
    _llm(p)
    p = sub.add_parser("chat", help="a conversation; follow-up questions are understood in context")
    _common(p)
    p.add_argument("--json", action="store_true", help="one message per stdin line, one JSON object per answer")
    _llm(p)
    p = sub.add_parser("eval", help="measure retrieval and answer status on a question set")
    _common(p)
    p.add_argument("file", nargs="?", help="question set (JSONL); default tests/data/eval.jsonl")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("watch", help="index, then re-index whenever a note is added, edited or deleted (Ctrl-C stops)")
    _common(p)
    _interview_parsers(sub)
    p = sub.add_parser("schema", help="print the JSON Schema of the objects the --json outputs are made of")
    p.add_argument("object", nargs="?", choices=SCHEMA_OBJECTS, help="only this object (default: all of them)")
    return parser


def _interview_parsers(sub) -> None:
    """`interview`, `grade`, `export` and `progress` (run by interview_cli.py)."""
    p = sub.add_parser("interview", help="a mock interview on the notes' questions, graded against the notes")
    p.add_argument(
        "--json", action="store_true", help="JSON lines: questions/feedback/report out, one answer per line in"
    )
    p.add_argument("--topic", help="only this topic: its heading or short name (DNN, CNN, RNN, 工程方面)")
    p.add_argument("--n", type=int, default=5, help="how many questions (default 5; follow-ups come on top)")
    _common(p)
    p = sub.add_parser("grade", help="grade answers: one {question, answer} JSON object per stdin line")
    p.add_argument("--json", action="store_true", help="write one feedback JSON object per line")
    p.add_argument("--question", help="grade a single answer to this question (the answer from --answer or stdin)")
    p.add_argument("--answer", help="the answer to --question")
    _common(p)
    p = sub.add_parser("export", help="the notes' questions as flashcards: tutor export anki [--out FILE.apkg]")
    p.add_argument("format", choices=["anki"], help="anki: an .apkg deck (re-importing updates the cards)")
    p.add_argument("--topic", help="only this topic: its heading or short name")
    p.add_argument("--due", action="store_true", help="only the questions due for review")
    p.add_argument("--out", type=Path, default=Path("tutor.apkg"), help="where to write the deck (default tutor.apkg)")
    _common(p)
    p = sub.add_parser("progress", help="mastery per topic, questions due for review, recent answers")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--limit", type=int, default=HISTORY, help=f"how many recent answers to list (default {HISTORY})")
    _common(p)


def settings_from(args: argparse.Namespace) -> Settings:
    return get_settings(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        data_dir=getattr(args, "data_dir", None),
        llm=getattr(args, "llm", None),
    )


def render_text(answer: Answer, body: bool = True) -> str:
    """The answer for a terminal: status, text, sources with their exact place, what was searched.

    `body=False` leaves out the answer text (already shown while it streamed).
    """
    article = answer.status == "answered" and any(c.url for c in answer.citations)
    out = [f"[{STATUS_LINE[answer.status]}{' and the articles they link to' if article else ''}]"]
    if answer.query != answer.question:
        out.append(f"(searched for: {answer.query})")
    out += [f"! {n}" for n in answer.notices]
    if body:
        out += ["", answer.answer]
    if answer.more:
        out += ["", more_line(answer)]
    if answer.general_answer:
        out += ["", "General knowledge (not from your notes):", answer.general_answer]
    if answer.citations:
        out += ["", "Sources:"]
        for c in answer.citations:
            mark = " (unverified)" if c.verified is False else ""
            out.append(f"  [{c.n}] {c.label}{mark}")
    if answer.suggestions:
        out += ["", "You could also ask: " + " | ".join(answer.suggestions)]
    return "\n".join(out)


def more_line(answer: Answer) -> str:
    """ "(+2 more in this section: lines 15–17)": what the answer left out, and where to read it."""
    first = min(p.line_start for p in answer.more)
    last = max(p.line_end for p in answer.more)
    return f"(+{len(answer.more)} more in this section: {line_span(first, last)})"


def _say(stderr: TextIO) -> Callable[[str], None]:
    return lambda msg: print(msg, file=stderr, flush=True)


def _progress(stderr: TextIO) -> Callable[[int, int], None]:
    return progress_printer(stderr)  # a tqdm bar on a terminal, plain lines with the ETA in a log


def _load_tutor(settings: Settings, stderr: TextIO):
    from tutor.answer.chat import Tutor  # the search stack (numpy, faiss, jieba; ~0.3 s): not for --help or schema

    return Tutor.load(settings, say=_say(stderr), progress=_progress(stderr), warn=_say(stderr))


def cmd_index(args, settings: Settings, stdin, stdout, stderr) -> int:
    from tutor.index.store import build_index  # the index stack: not for --help (main() has loaded it by now)

    if not settings.corpus_path.is_dir():
        print(f"no notes folder at {settings.corpus_path}: create it and put your .md notes in it", file=stderr)
        return 2
    if not args.no_links and settings.fetch_links:
        from tutor.notes.references import sync_references  # httpx (~0.2 s): only when links are fetched

        summary = sync_references(settings.corpus_path, settings, refresh=args.refresh_links)
        for result in summary.results:
            if result.status in ("failed", "refused"):
                print(f"  link {result.url}: {result.reason}", file=stderr)
        print(summary.summary_line(), file=stdout)
    report = build_index(settings, progress=_progress(stderr), warn=_say(stderr))
    if report.chunks == 0:
        print(
            f"no notes found in {settings.corpus_path}: add .md or .txt files there, then run `tutor index`",
            file=stdout,
        )
        return 0
    print(report.summary(), file=stdout)
    return 0


def cmd_ask(args, settings: Settings, stdin, stdout, stderr) -> int:
    from tutor.answer.chat import InputError  # the search stack: not for --help or schema

    question = stdin.read() if args.question == "-" else args.question
    tutor = _load_tutor(settings, stderr)
    try:
        answer = tutor.ask(question or "")
    except InputError as exc:
        print(str(exc), file=stderr)
        return 2
    print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else render_text(answer), file=stdout)
    return 0


def cmd_chat(args, settings: Settings, stdin, stdout, stderr) -> int:
    from tutor.answer.chat import ChatSession, InputError  # the search stack: not for --help or schema

    session = ChatSession(_load_tutor(settings, stderr))
    interactive = not args.json and stdin.isatty()
    if interactive:
        print("Ask about your notes. /reset starts a new conversation, /quit (or Ctrl-D) ends.", file=stderr)
    while True:
        if interactive:
            print("> ", end="", file=stderr, flush=True)
        line = stdin.readline()
        if not line:
            return 0
        message = line.rstrip("\n")
        if message.strip() == "/reset":
            session.reset()
            continue
        if message.strip() in ("/quit", "/exit") and not args.json:
            return 0
        try:
            if not args.json and session.model is not None:
                _stream(session, message, stdout)
                continue
            answer = session.ask(message)
        except InputError as exc:
            out = json.dumps({"error": str(exc)}, ensure_ascii=False) if args.json else str(exc)
            print(out, file=stdout, flush=True)
            continue
        out = json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else render_text(answer) + "\n"
        print(out, file=stdout, flush=True)


def _stream(session, message: str, stdout: TextIO) -> None:
    """Print the model's answer as it is written, then what the final answer adds (or replaces)."""
    shown: list[str] = []
    for item in session.stream(message):
        if isinstance(item, str):
            shown.append(item)
            print(item, end="", file=stdout, flush=True)
        else:
            answer = item
    if "".join(shown).strip() == answer.answer.strip():
        print("\n\n" + render_text(answer, body=False) + "\n", file=stdout, flush=True)
        return
    if shown:  # the model failed midway: what was shown is replaced by the answer from the notes
        print("\n\n---", file=stdout, flush=True)
    print(render_text(answer) + "\n", file=stdout, flush=True)


def cmd_eval(args, settings: Settings, stdin, stdout, stderr) -> int:
    from tutor.search.evaluate import DEFAULT_SET, evaluate, load_set  # the search stack: only this command

    path = Path(args.file) if args.file else DEFAULT_SET
    try:
        items = load_set(path)
    except (OSError, ValueError) as exc:
        print(f"cannot read the question set: {exc}", file=stderr)
        return 2
    tutor = _load_tutor(settings, stderr)
    result = evaluate(tutor, items)
    calibration = tutor.index.calibration
    if args.json:
        out = result.__dict__ | {"calibration": calibration.to_dict() if calibration else None}
        print(json.dumps(out, ensure_ascii=False), file=stdout)
    else:
        print("\n".join(result.lines()), file=stdout)
        print(
            f"relevance        {calibration.describe() if calibration else 'not calibrated (empty index)'}", file=stdout
        )
    return 0


def cmd_schema(args, settings: Settings, stdin, stdout, stderr) -> int:
    from tutor.schema import json_schema  # pydantic: only this command builds schemas

    print(json.dumps(json_schema(args.object), ensure_ascii=False, indent=2), file=stdout)
    return 0


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "chat": cmd_chat, "eval": cmd_eval, "schema": cmd_schema}


def main(
    argv: list[str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    if stdin is sys.stdin and hasattr(stdin, "reconfigure"):
        stdin.reconfigure(errors="replace")  # invalid UTF-8 on stdin must not crash the chat loop
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    # the embedder and index stack (~0.3 s) load once a command runs, not for --help or a usage error
    from tutor.index.embeddings import EmbedderError
    from tutor.index.store import IndexError_

    try:
        settings = settings_from(args)
    except SettingsError as exc:
        print(f"tutor: {exc}", file=stderr)
        return 2
    handler = COMMANDS.get(args.command)
    if handler is None and args.command == "watch":
        from tutor.index.live import cmd_watch  # the watcher's threads and watchfiles only for this command

        handler = cmd_watch
    elif handler is None:
        from tutor.cli import interview as interview_cli  # the interview stack: never on the `tutor ask` path

        handler = getattr(interview_cli, f"cmd_{args.command}")
    try:
        return handler(args, settings, stdin, stdout, stderr)
    except (EmbedderError, IndexError_, CorpusError) as exc:
        print(f"tutor: {exc}", file=stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `tutor ask ... | head` closed the pipe: not an error worth a traceback
        return 0


def run() -> None:
    """The `tutor` command. After `ask` the process ends without tearing the interpreter down: freeing the index,
    jieba's table and every module object by object took 0.1-0.3 s of a one-second answer, and an answer leaves
    nothing to write or close (an index it had to build is published, fsynced, before it answers)."""
    code = main()
    if sys.argv[1:2] == ["ask"]:
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):  # a closed pipe (`| head`) is no error worth a traceback
                stream.flush()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    run()
