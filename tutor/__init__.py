"""tutor: an offline study tutor over your own notes (cited answers, mock interviews)."""

__version__ = "0.1.0"
