"""Stage 5, the mock interviewer: the question bank from the notes, key points, grading, progress and review scheduling, Anki export."""
