"""Retrieval for a flow with a vector store: the nearest chunks of its namespaces, as ``sourceDocuments``.

A chatflow's vector store node reads what ``POST /vector/upsert/{id}`` stored under the chatflow id; a
``documentStoreVS`` node (or an agentflow node's knowledge entry) reads a document store's namespace.
Like a real vector store the search returns ``topK`` chunks (default 4) whatever their score; the answer
engine cites the best ones. Documents come back as Flowise's ``{pageContent, metadata}``.
"""

from __future__ import annotations

from typing import Any

from mockserver.llm.flow import FlowProfile
from mockserver.store import vectors
from mockserver.store.db import Database

__all__ = ["retrieve"]


def retrieve(db: Database, profile: FlowProfile, query: str) -> list[dict[str, Any]]:
    """The ``profile.top_k`` best chunks for ``query`` over all of the flow's namespaces, best first."""
    if not profile.retrieves or not query.strip():
        return []
    hits: list[vectors.Hit] = []
    for namespace in profile.retrieval_namespaces:
        hits.extend(vectors.search(db, namespace, query, profile.top_k))
    hits.sort(key=lambda hit: -hit.score)
    return [hit.as_document() for hit in hits[: profile.top_k]]
