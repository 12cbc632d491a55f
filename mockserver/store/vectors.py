"""The fake vector store: chunks and their embeddings in the ``vector`` table, searched by cosine.

A namespace is a chatflow id (``POST /vector/upsert/{id}``) or a document store id (the document store's
upsert). ``(namespace, contentHash)`` is unique, which plays the part of Flowise's record manager:
upserting the same chunk again is counted in ``numSkipped`` instead of stored twice. Search is a linear
scan of one namespace: the mock holds hundreds of chunks, not millions, and a scan keeps it exact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.llm.embedding import embed, from_blob, to_blob
from mockserver.store.db import Database, new_id, now_iso

__all__ = [
    "AddResult",
    "Hit",
    "add_documents",
    "content_hash",
    "count",
    "delete_documents",
    "delete_namespace",
    "list_documents",
    "search",
]


@dataclass
class AddResult:
    """What an upsert did: the documents it stored (Flowise's ``addedDocs``) and how many it skipped."""

    added: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0

    @property
    def num_added(self) -> int:
        return len(self.added)


@dataclass(frozen=True)
class Hit:
    """One search result: the stored chunk, its score (cosine, higher is closer) and its row ids."""

    id: str
    doc_id: str | None
    page_content: str
    metadata: dict[str, Any]
    score: float

    def as_document(self) -> dict[str, Any]:
        """Flowise's ``{pageContent, metadata}`` shape, as ``sourceDocuments`` carries it."""
        return {"pageContent": self.page_content, "metadata": self.metadata}


def content_hash(page_content: str, metadata: Mapping[str, Any] | None = None) -> str:
    """A stable hash of a chunk's text and metadata (key order does not matter)."""
    canonical = json.dumps(
        {"pageContent": page_content, "metadata": metadata or {}}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def add_documents(
    db: Database, namespace: str, documents: Iterable[Mapping[str, Any]], *, doc_id: str | None = None
) -> AddResult:
    """Embed and store ``documents`` (each ``{pageContent, metadata}``) under ``namespace``, in one commit.

    A document whose text and metadata are already stored in the namespace is skipped; ``doc_id`` tags
    the rows (a document store loader id) so they can be deleted per loader later.
    """
    result = AddResult()
    created = now_iso()
    with db.transaction():
        for document in documents:
            text = str(document.get("pageContent", ""))
            metadata = dict(document.get("metadata") or {})
            changed = db.execute(
                'INSERT OR IGNORE INTO "vector" (id, namespace, docId, contentHash, pageContent, metadata, '
                "embedding, createdDate) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_id(),
                    namespace,
                    doc_id,
                    content_hash(text, metadata),
                    text,
                    json.dumps(metadata, separators=(",", ":"), ensure_ascii=False),
                    to_blob(embed(text)),
                    created,
                ),
            )
            if changed:
                result.added.append({"pageContent": text, "metadata": metadata})
            else:
                result.skipped += 1
    return result


def search(
    db: Database, namespace: str, query: str, k: int = 4, *, doc_ids: Iterable[str] | None = None
) -> list[Hit]:
    """The ``k`` chunks of ``namespace`` nearest to ``query``, best first (ties: oldest first).

    Chunks with no word in common with the query can still appear (with a low score) when the namespace
    holds fewer relevant ones, as with a real vector store, which always returns ``k`` results.
    ``doc_ids`` restricts the search to those loader ids.
    """
    if k <= 0:
        return []
    sql = 'SELECT id, docId, pageContent, metadata, embedding FROM "vector" WHERE namespace = ?'
    params: list[Any] = [namespace]
    wanted = list(doc_ids) if doc_ids is not None else None
    if wanted is not None:
        if not wanted:
            return []
        sql += f" AND docId IN ({', '.join('?' for _ in wanted)})"
        params.extend(wanted)
    sql += " ORDER BY createdDate, rowid"
    query_vector = embed(query)
    scored: list[tuple[float, int, dict[str, Any]]] = []
    for position, row in enumerate(db.query(sql, params)):
        vector = from_blob(row["embedding"])
        score = sum(x * y for x, y in zip(query_vector, vector, strict=True))
        scored.append((score, position, row))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [
        Hit(
            id=row["id"],
            doc_id=row["docId"],
            page_content=row["pageContent"],
            metadata=json.loads(row["metadata"] or "{}"),
            score=round(score, 6),
        )
        for score, _, row in scored[:k]
    ]


def list_documents(db: Database, namespace: str) -> list[dict[str, Any]]:
    """Every chunk of a namespace in insertion order, as ``{id, docId, pageContent, metadata}``."""
    rows = db.query(
        'SELECT id, docId, pageContent, metadata FROM "vector" WHERE namespace = ? ORDER BY createdDate, rowid',
        (namespace,),
    )
    return [
        {"id": r["id"], "docId": r["docId"], "pageContent": r["pageContent"], "metadata": json.loads(r["metadata"])}
        for r in rows
    ]


def count(db: Database, namespace: str) -> int:
    """How many chunks ``namespace`` holds (Flowise's ``totalKeys``)."""
    return int(db.scalar('SELECT COUNT(*) FROM "vector" WHERE namespace = ?', (namespace,)) or 0)


def delete_documents(db: Database, namespace: str, doc_id: str) -> int:
    """Delete the chunks one loader (``doc_id``) stored in ``namespace``; returns how many."""
    return db.execute('DELETE FROM "vector" WHERE namespace = ? AND docId = ?', (namespace, doc_id))


def delete_namespace(db: Database, namespace: str) -> int:
    """Delete every chunk of ``namespace`` (a deleted chatflow or document store); returns how many."""
    return db.execute('DELETE FROM "vector" WHERE namespace = ?', (namespace,))
