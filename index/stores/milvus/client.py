"""Reaching Milvus: a client for `store.uri`, a collection made with the embedder's identity as
one of its properties, and Milvus Lite's file let go of."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from config import StoreSettings
from index.embeddings import EmbedderIdentity
from index.errors import (
    REPAIR_COMMAND,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexStoreError,
)

logging.getLogger("milvus_lite.server_manager").setLevel(logging.CRITICAL)
"""Its traceback when a file is open elsewhere: `connect` says what happened and what to do."""

IDENTITY_PROPERTY = "ragchat.embedder"
MAX_LIMIT = 16384
"""Milvus's largest `limit` for one search or one page of a query iterator. Rows are read back
in pages this size: each page is a new `id > last` query, which Milvus Lite answers by sorting
every row, so pages of 1,000 made reading every row quadratic."""
TEXT_LENGTH = 65535


def connect(settings: StoreSettings) -> Any:
    """A client for `store.uri`, or an error saying why there is none."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    uri = settings.uri
    token = settings.token.get_secret_value() if settings.token else ""
    try:
        return MilvusClient(uri=uri, token=token, db_name=settings.db_name, timeout=10)
    except MilvusException as err:
        if uri.endswith(".db") and "Open local milvus failed" in str(err):
            raise IndexBusyError(
                f"Milvus Lite cannot open {uri}: another process has it open (Milvus Lite "
                "allows one process per file; stop it, or use a Milvus server's URI)"
            ) from None
        raise IndexStoreError(f"cannot reach Milvus at {uri}: {err.message}") from None


def release(settings: StoreSettings) -> None:
    """Close Milvus Lite's file in this process, so that another process may open it."""
    if settings.uri.endswith(".db"):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(settings.uri)


def create_collection(
    client: Any, name: str, identity: EmbedderIdentity, settings: StoreSettings
) -> None:
    """The chunks' collection (`collection.py`) and its BM25 statistics (`keywords.py`)."""
    from pymilvus import DataType

    from index.stores.milvus.keywords import create_terms_collection

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("text", DataType.VARCHAR, max_length=TEXT_LENGTH)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=identity.dimension)
    schema.add_field("keywords", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("metadata", DataType.JSON)
    schema.add_field("terms", DataType.JSON)
    schema.add_field("sentences", DataType.VARCHAR, max_length=TEXT_LENGTH)
    index = client.prepare_index_params()
    index.add_index("vector", index_type=settings.index_type, metric_type="IP")
    index.add_index("keywords", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(
        name,
        schema=schema,
        index_params=index,
        consistency_level="Strong",
        properties={IDENTITY_PROPERTY: json.dumps(identity.to_dict())},
    )
    create_terms_collection(client, name)


def check_collection(
    client: Any, name: str, identity: EmbedderIdentity, settings: StoreSettings
) -> None:
    if not client.has_collection(name):
        raise IndexCorruptError(missing_collection(name, settings))
    properties = client.describe_collection(name).get("properties", {})
    stored = json.loads(properties.get(IDENTITY_PROPERTY, "{}"))
    if stored != identity.to_dict():
        raise IndexMismatchError(
            f"the Milvus collection {name} was built with embedder "
            f"{stored.get('backend')}:{stored.get('model')} but the configuration asks for "
            f"{identity.backend}:{identity.model}; vectors of two models cannot be mixed. "
            "Rebuild it with `python ingest.py --rebuild`, or set embedding.backend/model back."
        )


def create_side_collection(client: Any, name: str, key: str, fields: dict[str, Any]) -> None:
    """A small collection beside the chunks' (statistics, manifests): `key` and `fields` (name ->
    field arguments); Milvus wants a vector field in every collection, so it has an unused one."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field(key, DataType.VARCHAR, is_primary=True, max_length=TEXT_LENGTH)
    for field, arguments in fields.items():
        schema.add_field(field, **arguments)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    index = client.prepare_index_params()
    index.add_index("unused", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")


UNUSED = [0.0, 0.0]
"""The unused vector of a side collection's row."""


def every_row(
    client: Any, collection: str, fields: list[str], expression: str = ""
) -> Iterator[dict]:
    """The rows `expression` matches (every row: ""), a page of `MAX_LIMIT` at a time."""
    rows = client.query_iterator(
        collection, batch_size=MAX_LIMIT, filter=expression, output_fields=fields
    )
    try:
        while batch := rows.next():
            yield from batch
    finally:
        rows.close()


def missing_collection(name: str, settings: StoreSettings) -> str:
    return (
        f"the Milvus collection {name or '(none named)'} at {settings.uri} is missing; "
        f"run `{REPAIR_COMMAND}`"
    )


def builds(client: Any, settings: StoreSettings) -> list[str]:
    """The collections written for `store.collection` (one per build, with its statistics)."""
    from index.stores.milvus.keywords import terms_collection

    prefix, statistics = f"{settings.collection}__b", terms_collection("")
    names = client.list_collections()
    return [n for n in names if n.startswith(prefix) and not n.endswith(statistics)]


def drop_build(client: Any, name: str) -> None:
    """A build's collection and its statistics."""
    from index.stores.milvus.keywords import terms_collection

    for collection in (name, terms_collection(name)):
        if client.has_collection(collection):
            client.drop_collection(collection)
