"""Embeddings, the FAISS index on disk, and the incremental update that `ingest.py` runs."""
