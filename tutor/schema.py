"""`tutor schema`: the JSON Schema of every object the tutor writes as JSON, made from the Wire types themselves.

Each Wire class (tutor/types.py, tutor/wire.py) becomes a TypedDict with the keys `to_json()` writes, the type of the attribute
each key reads, and its keys required unless the class may leave them out; pydantic's TypeAdapter turns those
into JSON Schema. pydantic is imported here only: building models took ~0.1 s, too much for `tutor ask`.
"""

from __future__ import annotations

import types
import typing
from functools import cache
from typing import Annotated, Any, ClassVar, NotRequired, Required, Union, get_args, get_origin

from tutor.types import Answer, Citation, Feedback, Hit, Passage, Ungraded
from tutor.wire import Wire, json_keys

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def objects() -> dict[str, type[Wire]]:
    """The objects by the name `tutor schema NAME` takes."""
    from tutor.interview.rounds import InterviewRound, Prompt, Report  # the interview's modules: only when asked

    return {
        "answer": Answer,  # tutor ask / chat --json
        "citation": Citation,
        "hit": Hit,
        "passage": Passage,
        "feedback": Feedback,  # tutor grade --json; "type": "feedback" lines of tutor interview --json
        "ungraded": Ungraded,  # tutor grade --json on a question the notes do not hold
        "question": Prompt,  # "type": "question" lines of tutor interview --json
        "round": InterviewRound,  # one question of the report
        "report": Report,  # the "type": "report" line of tutor interview --json
    }


def json_schema(name: str | None = None) -> dict[str, Any]:
    """One object's JSON Schema, or (name None) all of them: their definitions, and any one of them."""
    from pydantic import TypeAdapter

    chosen = objects() if name is None else {name: objects()[name]}
    adapters = [(key, "serialization", TypeAdapter(typed_dict(cls))) for key, cls in chosen.items()]
    refs, defs = TypeAdapter.json_schemas(adapters)  # type: ignore[arg-type]
    if name is not None:
        return {"$schema": DRAFT, **refs[(name, "serialization")], **defs}
    return {
        "$schema": DRAFT,
        "title": "The tutor's JSON objects",
        "anyOf": [refs[(key, "serialization")] for key in chosen],
        **defs,
    }


def typed_dict(cls: type[Wire]) -> Any:
    """The TypedDict of a Wire class's JSON: its keys, in order, with their types; extra keys are not allowed."""
    if cls in _MADE:
        return _MADE[cls]
    omit = cls.__json_omit__
    fields = {}
    for key, path in json_keys(cls).items():
        kind = wire_type(path_type(cls, path))
        fields[key] = NotRequired[kind] if key in omit else Required[kind]
    doc = (cls.__doc__ or "").strip()
    _MADE[cls] = _typed_dict(cls.__name__, fields, None if doc.startswith(f"{cls.__name__}(") else doc)
    return _MADE[cls]


_MADE: dict[type, Any] = {}


def _typed_dict(name: str, fields: dict[str, Any], doc: str | None = None) -> Any:
    from pydantic import ConfigDict
    from typing_extensions import TypedDict  # pydantic wants this one on Python 3.11

    td = TypedDict(name, fields)  # type: ignore[misc]  # (a name made at run time)
    td.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    td.__doc__ = doc  # None: not dataclass's generated signature
    return td


def path_type(cls: type, path: str) -> Any:
    """The type of the attribute a dotted path reads: a field's annotation or a property's return type."""
    kind: Any = cls
    for name in path.split("."):
        hints = typing.get_type_hints(kind, include_extras=True)
        if name in hints:
            kind = hints[name]
        else:
            kind = typing.get_type_hints(getattr(kind, name).fget, include_extras=True)["return"]
        if get_origin(kind) is ClassVar:
            kind = get_args(kind)[0]
    return kind


def wire_type(kind: Any) -> Any:
    """A type as its JSON: Wire classes as their TypedDicts, tuples as lists, within unions and TypedDicts too."""
    if isinstance(kind, type) and issubclass(kind, Wire):
        return typed_dict(kind)
    origin, args = get_origin(kind), get_args(kind)
    if origin is Annotated:  # CitationJSON: a Wire object's JSON kept as a dict
        wire = next((a for a in args[1:] if isinstance(a, type) and issubclass(a, Wire)), None)
        return typed_dict(wire) if wire else wire_type(args[0])
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return list[wire_type(args[0])]  # type: ignore[misc]
        from pydantic import Field

        return Annotated[list[Any], Field(max_length=0)]  # tuple[()]: always empty
    if origin in (Union, types.UnionType):
        return Union[tuple(wire_type(a) for a in args)]  # noqa: UP007 (built from a tuple of types)
    if origin is list:
        return list[wire_type(args[0])]  # type: ignore[misc]
    if typing.is_typeddict(kind):
        return _typed_dict_of(kind)
    return kind


@cache
def _typed_dict_of(td: Any) -> Any:
    """A TypedDict of the package (PointJSON) with its Wire members as their JSON, for pydantic."""
    hints = typing.get_type_hints(td, include_extras=True)
    return _typed_dict(td.__name__, {k: wire_type(v) for k, v in hints.items()}, td.__doc__)


def validate(name: str, obj: Any) -> None:
    """Raise pydantic's ValidationError unless `obj` (parsed JSON) is a valid object of that name."""
    from pydantic import TypeAdapter

    TypeAdapter(typed_dict(objects()[name])).validate_python(obj, strict=True)
