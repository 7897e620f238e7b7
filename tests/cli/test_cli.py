"""The CLI driven in-process through main(argv) with scripted stdin."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, make_corpus

from tutor.cli.main import main


@pytest.fixture(scope="module")
def corpus_args(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    make_corpus(root)
    args = ["--corpus", str(root / "corpus"), "--index", str(root / "index")]
    assert main(["index", *args, "--no-links"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    return args


def run(argv, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_index_prints_a_summary_and_reuses_on_rerun(corpus_args):
    code, out, _ = run(["index", *corpus_args, "--no-links"])
    assert code == 0 and "0 embedded" in out and "reused" in out


def test_ask_json_follows_the_answer_contract(corpus_args):
    code, out, _ = run(["ask", "dropout为什么能防止过拟合？", "--json", *corpus_args])
    assert code == 0
    answer = json.loads(out)
    assert set(answer) >= {"question", "query", "status", "answer", "citations", "hits"}
    assert answer["status"] == "answered"
    cite = answer["citations"][0]
    assert set(cite) >= {"n", "source", "heading_path", "line_start", "line_end", "quote"}
    assert cite["source"] == "corpus/dl-interview-notes.md"
    hit = answer["hits"][0]
    assert set(hit) >= {"source", "heading_path", "line_start", "line_end", "score"} and len(answer["hits"]) <= 10


def test_ask_text_shows_status_sources_and_lines(corpus_args):
    code, out, _ = run(["ask", "讲一下batch normalization", *corpus_args])
    assert code == 0 and "your notes only pose this question" in out
    assert "corpus/dl-interview-notes.md › 一、DNN › 1.4 讲一下batch normalization › line 21" in out


@pytest.mark.parametrize("question", ["", "   "])
def test_blank_question_exits_2_with_a_message(corpus_args, question):
    code, out, err = run(["ask", question, *corpus_args])
    assert code == 2 and out == "" and "empty" in err


def test_chat_json_writes_one_object_per_message_and_reset_writes_nothing(corpus_args):
    script = "dropout为什么能防止过拟合？\n从bagging的角度呢？\n/reset\n\n从bagging的角度呢？\n"
    code, out, _ = run(["chat", "--json", *corpus_args], stdin=script)
    lines = out.strip().split("\n")
    assert code == 0 and len(lines) == 4
    first, follow, empty, fresh = (json.loads(line) for line in lines)
    assert "dropout" in follow["query"] and follow["question"] == "从bagging的角度呢？"
    assert "error" in empty
    assert fresh["query"] == "从bagging的角度呢？"


def test_eval_prints_the_metrics(corpus_args):
    code, out, _ = run(["eval", *corpus_args])
    assert code == 0
    for name in ("hit@1", "hit@3", "MRR", "status accuracy", "abstention"):
        assert name in out


def test_missing_corpus_folder_is_a_clear_message(tmp_path):
    code, _, err = run(["index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i")])
    assert code == 2 and "notes folder" in err


def test_empty_corpus_says_how_to_add_notes(tmp_path):
    make_corpus(tmp_path, notes=False)
    code, out, _ = run(["index", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "i"), "--no-links"])
    assert code == 0 and "add .md or .txt files" in out


# what `tutor ask` with no LLM configured must not import: torch, LangChain (its chat-model and callback
# stacks), the HTTP client the LLM backends use, the interviewer and the web UI
NOT_ON_THE_DEFAULT_PATH = (
    "torch",
    "sentence_transformers",
    "langchain_core",
    "langsmith",
    "httpx",
    "gradio",
    "tutor.interview.interviewer",
    "tutor.cli.interview",
    "tutor.interview.grading",
    "tutor.answer.llm",
)


def test_default_path_imports_only_what_it_uses(corpus_args, tmp_path):
    probe = (
        "import sys, io; from tutor.cli.main import main; "
        f"code = main(['ask', 'dropout', *{corpus_args!r}], stdout=io.StringIO(), stderr=io.StringIO()); "
        f"print(code, sorted(m for m in {NOT_ON_THE_DEFAULT_PATH!r} if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TUTOR_LLM", "PYTEST_CURRENT_TEST")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.stdout.strip() == "0 []", out.stderr
