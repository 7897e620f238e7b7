"""Settings: flags over the environment over the defaults, values of the field's type, and a key never shown."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pydantic import SecretStr

from tutor.cli.main import main
from tutor.config import Settings, SettingsError, get_settings


def test_the_environment_is_read_under_any_case_and_flags_win(monkeypatch, tmp_path):
    monkeypatch.setenv("TUTOR_CORPUS_DIR", str(tmp_path / "notes"))
    monkeypatch.setenv("tutor_top_k", "4")
    monkeypatch.setenv("TUTOR_FETCH_LINKS", "0")
    monkeypatch.setenv("TUTOR_LLM_TIMEOUT", "2.5")
    monkeypatch.setenv("TUTOR_WATCH", "Yes")
    settings = get_settings(index_dir=str(tmp_path / "i"), llm=None)
    assert settings.corpus_dir == tmp_path / "notes" and isinstance(settings.corpus_dir, Path)
    assert settings.index_dir == tmp_path / "i"
    assert (settings.top_k, settings.fetch_links, settings.llm_timeout, settings.watch) == (4, False, 2.5, True)
    assert settings.llm == "none"  # a flag left out (None) falls back to the environment, then the default
    assert Settings(top_k=7, fetch_links="true").top_k == 7


def test_the_api_key_comes_from_either_variable_and_never_shows(monkeypatch):
    monkeypatch.delenv("TUTOR_LLM_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-var")
    settings = Settings()
    assert settings.llm_api_key.get_secret_value() == "sk-from-openai-var"
    monkeypatch.setenv("TUTOR_LLM_API_KEY", "sk-tutor-var")
    assert Settings().llm_api_key.get_secret_value() == "sk-tutor-var"  # the first name listed wins
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert "sk-from" not in text
    given = Settings(llm_api_key=SecretStr("sk-given"))
    assert given.llm_api_key.get_secret_value() == "sk-given" and "sk-given" not in repr(given)
    copied = given.model_copy(update={"llm": "openai:x"})
    assert (copied.llm, given.llm, copied.llm_api_key) == ("openai:x", "none", given.llm_api_key)


def test_a_value_of_the_wrong_kind_names_its_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("TUTOR_TOP_K", "many")
    with pytest.raises(SettingsError, match="TUTOR_TOP_K='many'"):
        Settings()
    err = io.StringIO()
    assert main(["ask", "dropout", "--index", str(tmp_path / "i")], stdout=io.StringIO(), stderr=err) == 2
    assert "TUTOR_TOP_K" in err.getvalue() and "Traceback" not in err.getvalue()
    monkeypatch.delenv("TUTOR_TOP_K")
    monkeypatch.setenv("TUTOR_FETCH_LINKS", "maybe")
    with pytest.raises(SettingsError, match="TUTOR_FETCH_LINKS"):
        Settings()
    monkeypatch.delenv("TUTOR_FETCH_LINKS")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    with pytest.raises(SettingsError, match=r"llm_api_key=\(hidden\)"):
        Settings(llm_api_key=12345)
