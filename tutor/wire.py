"""The one serializer of the types that cross a boundary (tutor/types.py): `to_json()` writes every JSON object
the tutor prints (`--json`, the app's saved chats), `from_json()` reads a saved answer back. The shapes are a public
contract (README, "The answer object"), and `tutor schema` prints them as JSON Schema (tutor/schema.py).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, ClassVar, TypeVar, get_args, get_origin, get_type_hints

FLOAT_DIGITS = 4  # scores are written to 4 decimals (more is noise, and numpy's float32 is no JSON number)


class Wire:
    """A type whose JSON `to_json()` writes. By default its fields, in order; a class may name its keys instead:
    `__json__` maps each JSON key to the attribute path it reads ("chunk.source"), and `__json_omit__` maps a key
    to a test on the object that leaves the key out (an optional key, absent rather than null)."""

    __json__: ClassVar[dict[str, str]] = {}
    __json_omit__: ClassVar[dict[str, Callable[[Any], bool]]] = {}

    def to_dict(self) -> dict[str, Any]:
        return to_json(self)


def json_keys(cls: type) -> dict[str, str]:
    """JSON key -> attribute path of a Wire class, in output order."""
    if cls not in _KEYS:
        _KEYS[cls] = dict(cls.__dict__.get("__json__") or {f.name: f.name for f in fields(cls)})
    return _KEYS[cls]


_KEYS: dict[type, dict[str, str]] = {}
W = TypeVar("W", bound=Wire)


def _read(obj: Any, path: str) -> Any:
    for name in path.split("."):
        obj = getattr(obj, name)
    return obj


def to_json(value: Any) -> Any:
    """Wire objects as dicts, tuples as lists, floats rounded; everything else as it is (str, int, bool, None)."""
    if isinstance(value, Wire):
        omit = type(value).__json_omit__
        return {
            key: to_json(_read(value, path))
            for key, path in json_keys(type(value)).items()
            if key not in omit or not omit[key](value)
        }
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int):  # bool is an int
        return value
    if isinstance(value, numbers.Real):
        return round(float(value), FLOAT_DIGITS)
    raise TypeError(f"{type(value).__name__} is not part of the tutor's JSON")


def from_json(cls: type[W], data: Mapping[str, Any]) -> W:
    """The inverse of `to_json` for a Wire class whose keys are its own fields (Answer, Citation, Passage): lists
    back to tuples, nested Wire objects rebuilt, left-out keys at their defaults. A key that reads no field of its
    own (an answer's "hits") is not read back; any other key that is no field is a TypeError."""
    hints, keys = get_type_hints(cls), json_keys(cls)
    # a key that reads something else (an answer's "hits" reads top_hits) is left out
    values = {key: _from_json(hints.get(key, Any), v) for key, v in data.items() if keys.get(key, key) == key}
    return cls(**values)


def _from_json(hint: Any, value: Any) -> Any:
    if isinstance(hint, type) and issubclass(hint, Wire) and isinstance(value, dict):
        return from_json(hint, value)
    if get_origin(hint) is tuple and isinstance(value, list | tuple):
        args = get_args(hint)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        return tuple(_from_json(item, v) for v in value)
    return value


def unset(name: str, default: Any = None) -> Callable[[Any], bool]:
    """An `__json_omit__` test: the attribute still has its default."""
    return lambda obj: getattr(obj, name) is default
