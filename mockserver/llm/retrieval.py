"""Retrieval for a flow with a vector store: the nearest chunks of its namespaces, as ``sourceDocuments``.

A chatflow's vector store node reads what ``POST /vector/upsert/{id}`` stored under the chatflow id; a
``documentStoreVS`` node (or an agentflow node's knowledge entry) reads a document store's namespace.
Like a real vector store the search returns ``topK`` chunks (default 4) whatever their score; the answer
engine cites the best ones. Documents come back as Flowise's ``{pageContent, metadata}``.
"""

from __future__ import annotations

from typing import Any

from mockserver.llm.chunking import split_documents
from mockserver.llm.flow import FlowProfile
from mockserver.store import vectors
from mockserver.store.db import Database

__all__ = ["index_texts", "retrieve"]


def retrieve(db: Database, profile: FlowProfile, query: str) -> list[dict[str, Any]]:
    """The ``profile.top_k`` best chunks for ``query`` over all of the flow's namespaces, best first."""
    if not profile.retrieves or not query.strip():
        return []
    hits: list[vectors.Hit] = []
    for namespace in profile.retrieval_namespaces:
        hits.extend(vectors.search(db, namespace, query, profile.top_k))
    hits.sort(key=lambda hit: -hit.score)
    return [hit.as_document() for hit in hits[: profile.top_k]]


def index_texts(
    db: Database,
    namespace: str,
    texts: list[tuple[str, dict[str, Any]]],
    *,
    chunk_size: int,
    chunk_overlap: int,
    doc_id: str | None = None,
) -> vectors.AddResult:
    """Split each ``(text, metadata)`` with the recursive splitter and store the chunks under ``namespace``.

    What a Flowise upsert does between its document loader and its vector store; shared by the vector
    upsert endpoint and by predictions that carry files for a retrieval flow.
    """
    documents = []
    for text, metadata in texts:
        for chunk in split_documents(text, metadata, chunk_size=chunk_size, chunk_overlap=chunk_overlap):
            documents.append(chunk.as_document())
    return vectors.add_documents(db, namespace, documents, doc_id=doc_id)
