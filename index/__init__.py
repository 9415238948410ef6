"""Embeddings, the index on disk (versions, manifest, the stores behind one protocol), and the
incremental update that `ingest.py` runs."""
