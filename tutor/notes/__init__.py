"""Stage 1, the notes: find the files of a notes folder, parse them into sections and passages, fetch the articles they link, take uploads."""
