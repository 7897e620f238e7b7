"""Nothing a user could have been handed (index/, corpus/, the data dir) is ever unpickled or executed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT, make_corpus, settings_for

from tutor.index.store import IndexCorrupt, build_index, load_index

MODULES = sorted((ROOT / "tutor").rglob("*.py")) + [ROOT / "app.py"]
FORBIDDEN_IMPORTS = {"pickle", "cPickle", "dill", "shelve", "marshal", "joblib"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}


@pytest.mark.parametrize("path", [p for p in MODULES if p.exists()], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_can_unpickle_or_execute_data(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & FORBIDDEN_IMPORTS, path
        elif isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] not in FORBIDDEN_IMPORTS, path
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, (path, node.lineno)
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            assert isinstance(node.value, ast.Constant) and node.value.value is False, (path, node.lineno)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "yaml":
            assert node.attr in ("safe_load", "safe_dump", "YAMLError"), (path, node.lineno)  # never yaml.load


def test_a_handed_index_with_a_pickle_payload_is_refused_not_run(tmp_path):
    make_corpus(tmp_path)
    settings = settings_for(tmp_path, embeddings="hash:32")
    build_index(settings)
    live = settings.index_path / (settings.index_path / "CURRENT").read_text()
    marker = tmp_path / "pwned"
    payload = b"\x80\x04\x95" + f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    (live / "chunks.json").write_bytes(payload)
    with pytest.raises(IndexCorrupt):
        load_index(settings)
    assert not marker.exists()
