"""Stage 4, answers: the extractive answer with citations, an optional LLM answer and its verification, follow-ups in a conversation."""
