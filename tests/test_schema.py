"""`tutor schema` prints JSON Schema, and the real `--json` outputs of ask, chat, grade and interview are valid
against it (checked by a small validator of the keywords the schema uses, and by pydantic from the same types)."""

from __future__ import annotations

import io
import json

import pytest

from tutor.cli.main import SCHEMA_OBJECTS, main
from tutor.schema import objects, validate
from tutor.types import Citation, Hit
from tutor.wire import to_json

KEYWORDS = {"$schema", "$ref", "$defs", "title", "description", "type", "properties", "required", "items", "anyOf"}
KEYWORDS |= {"additionalProperties", "enum", "const", "maxItems", "minItems", "prefixItems", "default"}
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def run(argv, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def schema_of(name: str | None = None) -> dict:
    code, out, _ = run(["schema", *([name] if name else [])])
    assert code == 0
    return json.loads(out)


def problems(value, schema: dict, root: dict, at: str = "$") -> list[str]:
    """Where `value` breaks `schema` (the subset of JSON Schema 2020-12 that `tutor schema` prints)."""
    if "$ref" in schema:
        return problems(value, root["$defs"][schema["$ref"].rpartition("/")[2]], root, at)
    if "anyOf" in schema:
        if all(problems(value, option, root, at) for option in schema["anyOf"]):
            return [f"{at}: matches none of {len(schema['anyOf'])} options"]
        return []
    kind = schema.get("type")
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = kind is None or isinstance(value, TYPES[kind])
    if not ok:
        return [f"{at}: {value!r} is not of type {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at}: {value!r} not in {schema['enum']}"]
    if "const" in schema and value != schema["const"]:
        return [f"{at}: {value!r} is not {schema['const']!r}"]
    found = []
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            found.append(f"{at}: more than {schema['maxItems']} items")
        found += [
            p
            for i, v in enumerate(value)
            if "items" in schema
            for p in problems(v, schema["items"], root, at + f"[{i}]")
        ]
    if isinstance(value, dict):
        props = schema.get("properties", {})
        found += [f"{at}: missing {key!r}" for key in schema.get("required", []) if key not in value]
        if schema.get("additionalProperties") is False:
            found += [f"{at}: unexpected {key!r}" for key in value if key not in props]
        found += [p for key, v in value.items() if key in props for p in problems(v, props[key], root, f"{at}.{key}")]
    return found


def keywords(schema) -> set[str]:
    """Every keyword used anywhere in the schema (property names excepted)."""
    if isinstance(schema, list):
        return set().union(*map(keywords, schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    used = set(schema)
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            used |= set().union(*map(keywords, value.values())) if value else set()
        elif key not in ("enum", "const", "default", "required"):
            used |= keywords(value)
    return used


def test_schema_prints_json_schema_of_every_object():
    everything = schema_of()
    assert everything["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert keywords(everything) <= KEYWORDS  # nothing the checker above would silently ignore
    refs = {ref["$ref"].rpartition("/")[2] for ref in everything["anyOf"]}
    assert refs == {
        "Answer",
        "Citation",
        "Hit",
        "Passage",
        "Feedback",
        "Ungraded",
        "Prompt",
        "InterviewRound",
        "Report",
    }
    for name in refs:
        definition = everything["$defs"][name]
        assert definition["type"] == "object" and definition["additionalProperties"] is False
    assert set(SCHEMA_OBJECTS) == set(objects())  # the parser's choices are the objects there are
    answer = schema_of("answer")
    assert answer["$ref"] == "#/$defs/Answer" and set(answer["$defs"]) == {"Answer", "Citation", "Hit", "Passage"}
    # keys written only sometimes are optional, the rest required
    assert set(answer["$defs"]["Citation"]["required"]) == {
        "n",
        "source",
        "heading_path",
        "line_start",
        "line_end",
        "quote",
    }
    assert set(answer["$defs"]["Hit"]["required"]) == {"source", "heading_path", "line_start", "line_end", "score"}
    assert "general_answer" in answer["$defs"]["Answer"]["required"]


def test_schema_of_an_unknown_object_is_a_usage_error(capsys):
    code, out, _ = run(["schema", "bogus"])
    assert code == 2 and out == "" and "invalid choice" in capsys.readouterr().err  # argparse writes to sys.stderr


def check(name: str, obj: dict, schema: dict | None = None) -> None:
    schema = schema or schema_of(name)
    assert problems(obj, schema, schema) == [], obj
    assert problems(obj, schema_of(), schema_of()) == []  # valid as "any of the tutor's objects" too
    validate(name, obj)  # and by pydantic, from the same types


@pytest.fixture(scope="module")
def corpus_args(notes_root):
    return ["--corpus", str(notes_root / "corpus"), "--index", str(notes_root / "index")]


def test_ask_and_chat_json_validate(corpus_args, notes_tutor):
    answer_schema = schema_of("answer")
    for question in (
        "dropout为什么能防止过拟合？",
        "讲一下batch normalization",
        "量子力学的基本原理",
        "1x1的卷积核有什么作用",
    ):
        code, out, _ = run(["ask", question, "--json", *corpus_args])
        assert code == 0
        check("answer", json.loads(out), answer_schema)
    code, out, _ = run(["chat", "--json", *corpus_args], stdin="dropout是什么\n那怎么防止过拟合\n")
    assert code == 0
    for line in out.splitlines():
        check("answer", json.loads(line), answer_schema)


def test_a_broken_answer_does_not_validate(corpus_args, notes_tutor):
    schema = schema_of("answer")
    code, out, _ = run(["ask", "dropout为什么能防止过拟合？", "--json", *corpus_args])
    good = json.loads(out)
    for broken in ({**good, "status": "maybe"}, {k: v for k, v in good.items() if k != "hits"}, {**good, "x": 1}):
        assert problems(broken, schema, schema)
        with pytest.raises(ValueError):
            validate("answer", broken)


def test_grade_json_validates(corpus_args, notes_tutor):
    lines = [
        {
            "question": "讲一下你怎么理解dropout，分别从bagging和正则化的角度？",
            "answer": "dropout随机丢弃神经元，相当于bagging",
        },
        {"question": "梯度爆炸一般怎么处理？", "answer": "梯度裁剪"},
        {"question": "量子力学的基本原理是什么？", "answer": "不确定性"},
    ]
    code, out, _ = run(["grade", "--json", *corpus_args], stdin="\n".join(json.dumps(x) for x in lines))
    assert code == 0
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["score"] is None for r in results] == [False, False, True]
    for result in results[:2]:
        check("feedback", result)
    check("ungraded", results[2])


def test_interview_json_validates(corpus_args, notes_tutor):
    answers = "dropout随机丢弃神经元\n不知道\n/skip\n梯度裁剪\n"
    code, out, _ = run(["interview", "--json", "--n", "2", *corpus_args], stdin=answers)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["type"] for line in lines} == {"question", "feedback", "report"}
    for line in lines:
        if line["type"] == "feedback":
            check("feedback", {k: v for k, v in line.items() if k != "type"})  # the feedback, tagged for the protocol
        else:
            check({"question": "question", "report": "report"}[line["type"]], line)
    for question in lines[-1]["questions"]:
        check("round", question)


def test_one_serializer_writes_the_contract():
    c = Citation(1, "corpus/a.md", ("A", "B"), 3, 4, "q")
    assert to_json(c) == {"n": 1, "source": "corpus/a.md", "heading_path": ["A", "B"], "line_start": 3, "line_end": 4,
                          "quote": "q"}  # fmt: skip
    linked = Citation(
        2, "corpus/a.md", ("A",), 3, 3, "q", url="https://x.org/a", title="X", verified=False, related=True
    )
    assert list(to_json(linked))[-4:] == ["url", "title", "verified", "related"]
    from tutor.types import Chunk

    chunk = Chunk("id", "corpus/a.md", ("A",), 3, 5, "text", "body", "s", url="https://x.org/a", title=None)
    import numpy as np

    assert to_json(Hit(chunk, np.float32(0.123456789))) == {
        "source": "corpus/a.md", "heading_path": ["A"], "line_start": 3, "line_end": 5, "score": 0.1235,
        "url": "https://x.org/a", "title": None,
    }  # fmt: skip
