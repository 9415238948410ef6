"""TEMPORARY: the names `index/store.py` held, re-exported from the modules they moved to (see
/tmp/store_moves.txt) until every `from index.store import` is rewritten; then delete this."""

from index.disk import fsync
from index.errors import (
    REPAIR_COMMAND,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStoreError,
    damaged,
)
from index.knowledge_base import KnowledgeBase
from index.lock import index_lock
from index.manifest import (
    EMBEDDER_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    READABLE_FORMATS,
    FileRecord,
    Manifest,
    read_embedder_identity,
    read_manifest,
)
from index.records import (
    SENTENCE_VECTOR_BYTES,
    ChunkMetadata,
    ChunkRecord,
    chunk_language,
    decode_sentence_vectors,
    encode_sentence_vectors,
    record_of,
    sentence_unit_limit,
)
from index.versions import (
    CURRENT_FILE,
    VERSION_NAME,
    current_version,
    index_size,
    load_index,
    save_index,
)

__all__ = [
    "CURRENT_FILE",
    "EMBEDDER_FILE",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "READABLE_FORMATS",
    "REPAIR_COMMAND",
    "SENTENCE_VECTOR_BYTES",
    "VERSION_NAME",
    "ChunkMetadata",
    "ChunkRecord",
    "FileRecord",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexStoreError",
    "KnowledgeBase",
    "Manifest",
    "chunk_language",
    "current_version",
    "damaged",
    "decode_sentence_vectors",
    "encode_sentence_vectors",
    "fsync",
    "index_lock",
    "index_size",
    "load_index",
    "read_embedder_identity",
    "read_manifest",
    "record_of",
    "save_index",
    "sentence_unit_limit",
]
