"""tutor.langchain.TutorRetriever: the tutor's retrieval inside a LangChain chain of the user's own."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from tutor.config import Settings
from tutor.langchain import TutorRetriever

NOTES = """# 正则化

## dropout为什么能防止过拟合？

训练时随机丢弃一部分神经元，相当于训练很多不同的子网络再组合，降低了模型复杂度。

## 学习率怎么调？

先用较大的学习率，loss 不再下降时逐步减小。
"""


def test_retriever_runs_in_a_chain_and_its_documents_say_where_they_are(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.md").write_text(NOTES, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", fetch_links=False)
    retriever = TutorRetriever.from_settings(settings, k=3)
    prompt = ChatPromptTemplate.from_template("Notes:\n{context}\n\nQuestion: {question}")
    fmt = RunnableLambda(lambda docs: "\n".join(f"[{d.metadata['line_start']}] {d.page_content}" for d in docs))
    chain = {"context": retriever | fmt, "question": RunnablePassthrough()} | prompt
    text = chain.invoke("dropout为什么能防止过拟合").to_string()
    assert "[5] 训练时随机丢弃一部分神经元" in text and "Question: dropout为什么能防止过拟合" in text
    top = retriever.invoke("dropout为什么能防止过拟合")[0]
    assert top.metadata["source"] == "corpus/notes.md" and top.metadata["line_start"] == 5
    assert top.metadata["heading_path"] == ["正则化", "dropout为什么能防止过拟合？"]
    assert top.metadata["status"] == "answered"
    off = retriever.invoke("今天天气怎么样")
    assert all(d.metadata["status"] == "not_found" for d in off)
    assert TutorRetriever.from_settings(settings, drop_not_found=True).invoke("今天天气怎么样") == []
    assert retriever.invoke("   ") == []
