"""The retrieval building blocks: the recursive splitter, the hashed embedding and the vector table."""

from __future__ import annotations

import pytest

from mockserver.llm.chunking import split_documents, split_text
from mockserver.llm.embedding import DIMENSIONS, cosine, embed, from_blob, to_blob
from mockserver.store import vectors
from mockserver.store.db import Database

TEXT = (
    "Paris is the capital of France. It sits on the Seine.\n\n"
    "Berlin is the capital of Germany. It has many museums.\n\n"
    "The Moon orbits the Earth every 27 days. Tides follow the Moon.\n"
)


def test_short_text_is_one_stripped_chunk() -> None:
    assert split_text("  hello world \n", chunk_size=100, chunk_overlap=10) == ["hello world"]


def test_chunks_respect_size_and_prefer_paragraphs() -> None:
    chunks = split_text(TEXT, chunk_size=70, chunk_overlap=0)
    assert all(len(c) <= 70 for c in chunks)
    assert chunks[0] == "Paris is the capital of France. It sits on the Seine."
    assert any(c.startswith("Berlin is the capital") for c in chunks)


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    words = " ".join(f"w{i}" for i in range(60))
    chunks = split_text(words, chunk_size=40, chunk_overlap=15)
    assert len(chunks) > 2
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.split()[-1] in after.split()[:5]


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="chunkOverlap"):
        split_text("x", chunk_size=10, chunk_overlap=10)


def test_documents_carry_metadata_and_line_ranges() -> None:
    docs = split_documents(TEXT, {"source": "facts.txt"}, chunk_size=70, chunk_overlap=0)
    assert docs[0].metadata == {"source": "facts.txt", "loc": {"lines": {"from": 1, "to": 1}}}
    berlin = next(d for d in docs if d.page_content.startswith("Berlin"))
    assert berlin.metadata["loc"]["lines"]["from"] == 3
    assert docs[0].as_document() == {"pageContent": docs[0].page_content, "metadata": docs[0].metadata}


def test_embedding_is_deterministic_unit_length_and_semantic() -> None:
    a = embed("capital of France")
    assert a == embed("capital of France") and len(a) == DIMENSIONS
    assert abs(sum(v * v for v in a) - 1.0) < 1e-9
    assert cosine(a, embed("France capital city")) > cosine(a, embed("tides and the moon"))
    assert embed("") == [0.0] * DIMENSIONS
    packed = from_blob(to_blob(a))
    assert max(abs(x - y) for x, y in zip(a, packed, strict=True)) < 1e-6


def test_vectors_add_skip_search_and_delete() -> None:
    db = Database(":memory:")
    docs = [d.as_document() for d in split_documents(TEXT, {"source": "facts.txt"}, chunk_size=70, chunk_overlap=0)]
    first = vectors.add_documents(db, "ns-1", docs, doc_id="loader-1")
    assert first.num_added == len(docs) and first.skipped == 0
    again = vectors.add_documents(db, "ns-1", docs)
    assert again.num_added == 0 and again.skipped == len(docs)
    assert vectors.count(db, "ns-1") == len(docs) and vectors.count(db, "ns-2") == 0
    hits = vectors.search(db, "ns-1", "What orbits the Earth?", k=2)
    assert len(hits) == 2 and "Moon" in hits[0].page_content and hits[0].score >= hits[1].score
    assert hits[0].metadata["source"] == "facts.txt" and hits[0].doc_id == "loader-1"
    assert vectors.search(db, "ns-2", "Moon", k=3) == []
    assert vectors.search(db, "ns-1", "Moon", k=3, doc_ids=[]) == []
    assert [d["pageContent"] for d in vectors.list_documents(db, "ns-1")] == [d["pageContent"] for d in docs]
    assert vectors.delete_documents(db, "ns-1", "loader-1") == len(docs)
    assert vectors.delete_namespace(db, "ns-1") == 0
