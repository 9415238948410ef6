"""The scale-out store: a Milvus collection through langchain-milvus (`collection.py`: the
store; `client.py`: connecting, creating a collection, LangChain's store over it)."""

# TEMPORARY: for the imports not yet rewritten (see /tmp/store_moves.txt); then delete these.
from index.stores.milvus.client import connect, release

__all__ = ["connect", "release"]
