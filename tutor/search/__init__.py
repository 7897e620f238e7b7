"""Stage 3, search: hybrid dense + BM25 retrieval, the relevance decision, and the sentences of a section that answer a question."""
