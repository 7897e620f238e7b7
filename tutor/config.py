"""One typed settings object; every field reads `TUTOR_<NAME>` from the environment."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
NO_LLM = ("", "none", "off")  # TUTOR_LLM values that mean: answer from the notes alone


def wants_llm(spec: str | None) -> bool:
    """True when a TUTOR_LLM value names a model (which may still turn out unusable)."""
    return (spec or "").strip().lower() not in NO_LLM


class Settings(BaseSettings):
    # populate_by_name: Settings(llm_api_key=...) works too, not only the aliased environment names
    model_config = SettingsConfigDict(env_prefix="TUTOR_", extra="ignore", populate_by_name=True)

    corpus_dir: Path = Field(Path("corpus"), description="Folder of notes (.md/.txt/.html/.pdf) to index.")
    index_dir: Path = Field(Path("index"), description="Folder where the built index is written.")
    data_dir: Path = Field(
        Path(user_data_dir("tutor")),
        description="Folder for interview progress (SQLite).",
    )
    cache_dir: Path = Field(
        Path(user_cache_dir("tutor")),
        description="Folder for data rebuilt on demand (jieba's dictionary grouped for fast start-up).",
    )
    embeddings: str = Field(
        "e5-small-q4",
        description="'e5-small-q4' (bundled, default) or 'sentence-transformers:<name or path>'.",
    )
    llm: str = Field("none", description="'none', 'openai:<model>' or 'ollama:<model>'.")
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible endpoint.")
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("TUTOR_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key for the LLM endpoint; never logged or shown.",
    )
    ollama_host: str = Field(
        "http://127.0.0.1:11434",
        validation_alias=AliasChoices("OLLAMA_HOST", "TUTOR_OLLAMA_HOST"),
        description="Address of an Ollama server.",
    )
    llm_timeout: float = Field(30.0, description="Seconds before an LLM call gives up and the offline answer is used.")
    general_answers: bool = Field(
        True, description="Let the LLM add a labelled general-knowledge block when the notes only pose the question."
    )
    fetch_links: bool = Field(True, description="Fetch the articles the notes link to when indexing.")
    allow_private_links: bool = Field(
        False, description="Allow fetching linked references from loopback or private addresses."
    )
    watch: bool = Field(True, description="The app watches the notes folder and re-indexes what changes.")
    max_question_chars: int = Field(2000, description="Questions longer than this are trimmed for retrieval.")
    top_k: int = Field(10, description="How many ranked hits an answer carries.")

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
