"""A recursive character text splitter, the one Flowise's default text splitter node runs.

Flowise's upserts (``POST /vector/upsert/{id}``, the document store's process and upsert) split loaded
text with LangChain's ``RecursiveCharacterTextSplitter`` (chunkSize 1000, chunkOverlap 200 unless the
flow's splitter node says otherwise). The mock reproduces that algorithm so chunk counts, chunk texts
and the ``loc.lines`` metadata look like the real server's:

- try the separators ``"\\n\\n"``, ``"\\n"``, ``" "``, ``""`` in order; split on the first one present,
  keeping the separator at the start of the following piece (LangChain JS ``keepSeparator: true``);
- merge neighbouring pieces up to ``chunk_size`` characters, carrying up to ``chunk_overlap`` characters
  of the previous chunk into the next; pieces still too long are split with the next separator;
- every chunk is stripped, empty chunks are dropped.

Lengths are counted in code points (JavaScript counts UTF-16 units: texts with characters outside the
BMP can split a little differently from the real server).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_CHUNK_OVERLAP",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_SEPARATORS",
    "Chunk",
    "split_documents",
    "split_text",
]

DEFAULT_CHUNK_SIZE = 1000
DEFAULT_CHUNK_OVERLAP = 200
DEFAULT_SEPARATORS: tuple[str, ...] = ("\n\n", "\n", " ", "")


@dataclass(frozen=True)
class Chunk:
    """One split document: Flowise's ``{pageContent, metadata}`` (metadata carries ``loc.lines``)."""

    page_content: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_document(self) -> dict[str, Any]:
        """The chunk as Flowise serialises a LangChain ``Document``."""
        return {"pageContent": self.page_content, "metadata": self.metadata}


def _check_sizes(chunk_size: int, chunk_overlap: int) -> None:
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    if chunk_overlap < 0 or chunk_overlap >= chunk_size:
        # LangChain's own message for the same mistake.
        raise ValueError("Cannot have chunkOverlap >= chunkSize")


def _split_keeping_separator(text: str, separator: str) -> list[str]:
    if separator == "":
        return [c for c in text]
    pieces = re.split(f"(?={re.escape(separator)})", text)
    return [p for p in pieces if p != ""]


def _join(pieces: list[str], separator: str) -> str | None:
    text = separator.join(pieces).strip()
    return text or None


def _merge(pieces: list[str], separator: str, chunk_size: int, chunk_overlap: int) -> list[str]:
    """Greedy merge with overlap: LangChain's ``mergeSplits``, step for step."""
    sep_len = len(separator)
    chunks: list[str] = []
    current: list[str] = []
    total = 0
    for piece in pieces:
        length = len(piece)
        if total + length + (sep_len if current else 0) > chunk_size:
            if current:
                joined = _join(current, separator)
                if joined is not None:
                    chunks.append(joined)
                while total > chunk_overlap or (
                    total + length + (sep_len if current else 0) > chunk_size and total > 0
                ):
                    total -= len(current[0]) + (sep_len if len(current) > 1 else 0)
                    current = current[1:]
        current.append(piece)
        total += length + (sep_len if len(current) > 1 else 0)
    joined = _join(current, separator)
    if joined is not None:
        chunks.append(joined)
    return chunks


def _split(text: str, separators: tuple[str, ...], chunk_size: int, chunk_overlap: int) -> list[str]:
    separator = separators[-1]
    rest: tuple[str, ...] = ()
    for i, candidate in enumerate(separators):
        if candidate == "":
            separator = candidate
            break
        if candidate in text:
            separator = candidate
            rest = separators[i + 1 :]
            break
    final: list[str] = []
    good: list[str] = []
    for piece in _split_keeping_separator(text, separator):
        if len(piece) < chunk_size:
            good.append(piece)
            continue
        if good:
            final.extend(_merge(good, "", chunk_size, chunk_overlap))
            good = []
        if rest:
            final.extend(_split(piece, rest, chunk_size, chunk_overlap))
        else:
            final.append(piece)
    if good:
        final.extend(_merge(good, "", chunk_size, chunk_overlap))
    return final


def split_text(
    text: str,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
    separators: tuple[str, ...] = DEFAULT_SEPARATORS,
) -> list[str]:
    """Split ``text`` into chunks of at most ``chunk_size`` characters (unless a single word is longer)."""
    _check_sizes(chunk_size, chunk_overlap)
    return _split(text, separators, chunk_size, chunk_overlap)


def _newlines(text: str, start: int = 0, end: int | None = None) -> int:
    return text.count("\n", start, len(text) if end is None else end)


def split_documents(
    text: str,
    metadata: dict[str, Any] | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
    separators: tuple[str, ...] = DEFAULT_SEPARATORS,
) -> list[Chunk]:
    """Split one loaded document into chunks, each with ``metadata`` plus ``loc: {lines: {from, to}}``.

    The line numbers follow LangChain's ``createDocuments``: 1-based, found by locating each chunk in the
    source text after the previous one, so overlapping chunks get overlapping line ranges.
    """
    base = dict(metadata or {})
    chunks: list[Chunk] = []
    line = 1
    prev: str | None = None
    prev_index = -1
    for piece in split_text(text, chunk_size=chunk_size, chunk_overlap=chunk_overlap, separators=separators):
        index = text.find(piece, prev_index + 1)
        if prev is None:
            line += _newlines(text, 0, index)
        else:
            prev_end = prev_index + len(prev)
            if prev_end < index:
                line += _newlines(text, prev_end, index)
            elif prev_end > index:
                line -= _newlines(text, index, prev_end)
        count = _newlines(piece)
        loc = dict(base["loc"]) if isinstance(base.get("loc"), dict) else {}
        loc["lines"] = {"from": line, "to": line + count}
        chunks.append(Chunk(piece, {**base, "loc": loc}))
        line += count
        prev = piece
        prev_index = index
    return chunks
