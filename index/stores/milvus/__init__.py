"""The scale-out store: a Milvus collection through langchain-milvus (`collection.py`: the
store; `client.py`: connecting, creating a collection, LangChain's store over it)."""
