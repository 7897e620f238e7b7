"""One typed settings object; every field reads `TUTOR_<NAME>` from the environment.

A plain class, not pydantic-settings: importing that (and pydantic with it) took ~0.25 s of every start, a
quarter of a cold `tutor ask`. It keeps what the tutor used of it: keyword arguments over the environment over
the defaults, variable names matched whatever their case, values converted to the field's type (an error names
the variable), `model_copy(update=...)`, `model_dump()`, and an API key that never shows in a repr.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from platformdirs import user_cache_dir, user_data_dir

ROOT = Path(__file__).resolve().parent.parent
NO_LLM = ("", "none", "off")  # TUTOR_LLM values that mean: answer from the notes alone
TRUE = ("1", "on", "t", "true", "y", "yes")  # what pydantic read as a boolean, so existing settings keep working
FALSE = ("0", "off", "f", "false", "n", "no")


def wants_llm(spec: str | None) -> bool:
    """True when a TUTOR_LLM value names a model (which may still turn out unusable)."""
    return (spec or "").strip().lower() not in NO_LLM


class SettingsError(ValueError):
    """A setting (flag or environment variable) with a value of the wrong kind; the text names it."""


class SecretValue(Protocol):
    def get_secret_value(self) -> str: ...


class Secret:
    """A string that shows as '**********'. pydantic's SecretStr is taken wherever this is."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        get = getattr(other, "get_secret_value", None)
        return callable(get) and get() == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _path(value: Any) -> Path:
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise TypeError("a path")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError("text")


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _secret(value: Any) -> SecretValue | None:
    if value is None or callable(getattr(value, "get_secret_value", None)):
        return value
    return Secret(_text(value))


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise TypeError("yes or no (1/0, true/false, on/off)")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("a whole number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | str):
        try:
            return int(value)
        except ValueError:
            pass
    raise TypeError("a whole number")


def _float(value: Any) -> float:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            pass
    raise TypeError("a number")


def setting(default: Any, convert: Callable[[Any], Any], description: str, env: tuple[str, ...] = ()) -> Any:
    """A field: its default, how a value becomes its type, what it means, and the variables it is read from
    (default: TUTOR_<NAME>)."""
    return field(default=default, metadata={"convert": convert, "description": description, "env": env})


@dataclass(init=False)
class Settings:
    corpus_dir: Path = setting(Path("corpus"), _path, "Folder of notes (.md/.txt/.html/.pdf) to index.")
    index_dir: Path = setting(Path("index"), _path, "Folder where the built index is written.")
    data_dir: Path = setting(Path(user_data_dir("tutor")), _path, "Folder for interview progress (SQLite).")
    cache_dir: Path = setting(
        Path(user_cache_dir("tutor")),
        _path,
        "Folder for data rebuilt on demand (jieba's dictionary grouped for fast start-up).",
    )
    embeddings: str = setting(
        "e5-small-q4", _text, "'e5-small-q4' (bundled, default) or 'sentence-transformers:<name or path>'."
    )
    llm: str = setting("none", _text, "'none', 'openai:<model>' or 'ollama:<model>'.")
    llm_base_url: str | None = setting(None, _optional_text, "Base URL of an OpenAI-compatible endpoint.")
    llm_api_key: SecretValue | None = setting(
        None,
        _secret,
        "API key for the LLM endpoint; never logged or shown.",
        env=("TUTOR_LLM_API_KEY", "OPENAI_API_KEY"),
    )
    ollama_host: str = setting(
        "http://127.0.0.1:11434", _text, "Address of an Ollama server.", env=("OLLAMA_HOST", "TUTOR_OLLAMA_HOST")
    )
    llm_timeout: float = setting(30.0, _float, "Seconds before an LLM call gives up and the offline answer is used.")
    general_answers: bool = setting(
        True, _bool, "Let the LLM add a labelled general-knowledge block when the notes only pose the question."
    )
    fetch_links: bool = setting(True, _bool, "Fetch the articles the notes link to when indexing.")
    allow_private_links: bool = setting(
        False, _bool, "Allow fetching linked references from loopback or private addresses."
    )
    watch: bool = setting(True, _bool, "The app watches the notes folder and re-indexes what changes.")
    max_question_chars: int = setting(2000, _int, "Questions longer than this are trimmed for retrieval.")
    top_k: int = setting(10, _int, "How many ranked hits an answer carries.")

    def __init__(self, **values: Any) -> None:
        """Keyword arguments (a field's name, or one of its variables' names) over the environment over the
        defaults; unknown names are ignored."""
        environment = {name.lower(): value for name, value in os.environ.items()}
        for f in fields(self):
            names = f.metadata["env"] or (f"TUTOR_{f.name.upper()}",)
            given = next((n for n in (f.name, *names) if n in values), None)
            if given is not None:
                raw, origin = values[given], f.name
            else:
                found = next((n for n in names if n.lower() in environment), None)
                if found is None:
                    setattr(self, f.name, f.default)
                    continue
                raw, origin = environment[found.lower()], found
            try:
                setattr(self, f.name, f.metadata["convert"](raw))
            except TypeError as exc:
                shown = "(hidden)" if f.name == "llm_api_key" else repr(raw)
                raise SettingsError(f"{origin}={shown} is not valid: give {exc}") from None

    def model_copy(self, update: dict[str, Any] | None = None) -> Settings:
        """A copy with some fields replaced (as given, like pydantic's model_copy)."""
        out = copy.copy(self)
        for name, value in (update or {}).items():
            setattr(out, name, value)
        return out

    def model_dump(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else Path.cwd() / path

    @property
    def corpus_path(self) -> Path:
        return self.resolve(self.corpus_dir)

    @property
    def index_path(self) -> Path:
        return self.resolve(self.index_dir)

    @property
    def data_path(self) -> Path:
        return self.resolve(self.data_dir)

    @property
    def cache_path(self) -> Path:
        return self.resolve(self.cache_dir)


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit (e.g. CLI flag) values taking precedence."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """ "user:password" -> (user, password); None when not set."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("auth must look like user:password")
    return user, password
