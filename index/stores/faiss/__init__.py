"""The embedded store: FAISS vectors in memory, kept in the index folder as append-only
segments (`segments.py`: the store; `segment_files.py`: one segment's files)."""
