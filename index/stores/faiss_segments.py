"""TEMPORARY: `segment_folders` moved to `index.stores.faiss.segment_files` (see
/tmp/store_moves.txt); delete this once tests/test_api.py imports it from there."""

from index.stores.faiss.segment_files import segment_folders

__all__ = ["segment_folders"]
