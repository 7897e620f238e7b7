"""A fetched article belongs to the section that links it and answers its question, cited by title and URL."""

from __future__ import annotations

import io
import json

import pytest
from conftest import DATA, NOTES, make_corpus, settings_for

from tutor.answer.chat import Tutor
from tutor.cli.main import main
from tutor.notes.references import sync_references

BN_URL = "https://zhuanlan.zhihu.com/p/34879333"


@pytest.fixture
def served(httpserver, tmp_path, monkeypatch):
    """The notes with section 1.4's link pointing at a local copy of a batch-normalization article."""
    monkeypatch.setenv("TUTOR_ALLOW_PRIVATE_LINKS", "1")
    page = (DATA / "pages" / "batchnorm.html").read_bytes()
    httpserver.expect_request("/bn").respond_with_data(page, content_type="text/html; charset=utf-8")
    url = httpserver.url_for("/bn")
    notes = NOTES.read_text(encoding="utf-8").replace(BN_URL, url)
    make_corpus(tmp_path, {"dl-interview-notes.md": notes})
    return tmp_path, url


def test_before_fetching_bn_is_question_only_and_after_it_is_answered_from_the_article(served):
    root, url = served
    settings = settings_for(root, allow_private_links=True)
    before = Tutor.load(settings).ask("讲一下batch normalization")
    assert before.status == "question_only"
    assert before.citations[0].line_start == 21 and not before.citations[0].url

    summary = sync_references(settings.corpus_path, settings)
    assert summary.fetched == 1
    after = Tutor.load(settings).ask("讲一下batch normalization")
    assert after.status == "answered"
    article = [c for c in after.citations if c.url == url]
    assert article and all(c.title and c.source.startswith("corpus/references/") for c in article)
    assert "来自笔记链接的文章" in after.answer  # says which part comes from a linked article
    stored = (root / article[0].source).read_text(encoding="utf-8").split("\n")
    assert article[0].quote.replace(" ", "")[:15] in "".join(
        stored[article[0].line_start - 1 : article[0].line_end]
    ).replace(" ", "")


def test_tutor_index_fetches_once_and_then_works_offline(served, httpserver, monkeypatch):
    root, url = served
    monkeypatch.setenv("TUTOR_FETCH_LINKS", "1")
    args = ["--corpus", str(root / "corpus"), "--index", str(root / "index")]
    out = io.StringIO()
    assert main(["index", *args], stdout=out, stderr=io.StringIO()) == 0
    assert "1 fetched" in out.getvalue() and "2 failed" in out.getvalue()  # the two other links are not served
    httpserver.clear()  # the network is gone: the stored copy is what gets indexed
    out = io.StringIO()
    assert main(["index", *args], stdout=out, stderr=io.StringIO()) == 0
    assert "1 from cache" in out.getvalue()
    out = io.StringIO()
    assert main(["ask", "BN为什么能加速训练？", "--json", *args], stdout=out, stderr=io.StringIO()) == 0
    answer = json.loads(out.getvalue())
    assert answer["status"] == "answered" and any(c.get("url") == url for c in answer["citations"])


def test_unfetched_link_is_reported_and_indexing_goes_on(tmp_path):
    make_corpus(tmp_path)
    settings = settings_for(tmp_path)  # private links refused; the real links are unreachable here
    summary = sync_references(settings.corpus_path, settings)
    assert summary.failed == 3 and summary.fetched == 0
    assert Tutor.load(settings).ask("讲一下batch normalization").status == "question_only"


def test_saved_html_and_pdf_dropped_into_the_corpus_are_indexed(tmp_path):
    corpus = make_corpus(tmp_path)
    (corpus / "saved.html").write_bytes((DATA / "pages" / "batchnorm.html").read_bytes())
    (corpus / "paper.pdf").write_bytes((DATA / "pages" / "dropout.pdf").read_bytes())
    tutor = Tutor.load(settings_for(tmp_path))
    sources = {c.source for c in tutor.index.chunks}
    assert {"corpus/saved.html", "corpus/paper.pdf"} <= sources
