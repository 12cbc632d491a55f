"""A deterministic local embedding: hashed words and character trigrams, 256 dims, unit length.

The mock must retrieve without an embedding model or network, and the same text must embed to the same
vector in every process (so vectors stored in SQLite stay comparable after a restart). Python's ``hash()``
is salted per process, hence ``blake2b``. Each lower-cased word adds weight 1.0 and each of its
character trigrams (with ``^``/``$`` word boundaries) 0.5 to a signed bucket; the vector is then
L2-normalised, so the cosine similarity of two embeddings is their dot product. Texts sharing words or
word fragments score high; unrelated texts score near 0. Pure Python: no numpy needed.
"""

from __future__ import annotations

import hashlib
import math
import re
from array import array
from collections.abc import Sequence

__all__ = ["DIMENSIONS", "cosine", "embed", "from_blob", "to_blob", "words"]

DIMENSIONS = 256

_WORD = re.compile(r"\w+", re.UNICODE)
_WORD_WEIGHT = 1.0
_TRIGRAM_WEIGHT = 0.5


def words(text: str) -> list[str]:
    """The lower-cased word tokens of ``text`` (what the embedding and the answer engine match on)."""
    return [w.lower() for w in _WORD.findall(text)]


def _bucket(feature: str) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % DIMENSIONS, (1.0 if (value >> 63) & 1 == 0 else -1.0)


def embed(text: str) -> list[float]:
    """The unit-length embedding of ``text`` (all zeros for a text without words)."""
    vector = [0.0] * DIMENSIONS
    for word in words(text):
        index, sign = _bucket("w:" + word)
        vector[index] += sign * _WORD_WEIGHT
        padded = f"^{word}$"
        for i in range(len(padded) - 2):
            index, sign = _bucket("c:" + padded[i : i + 3])
            vector[index] += sign * _TRIGRAM_WEIGHT
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        return vector
    return [v / norm for v in vector]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; for two ``embed`` results it is their dot product."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return dot / (na * nb)


def to_blob(vector: Sequence[float]) -> bytes:
    """Pack a vector as little-endian float32 for the ``vector.embedding`` BLOB column."""
    packed = array("f", vector)
    if packed.itemsize != 4:  # pragma: no cover - every platform CPython supports has 4-byte floats
        raise RuntimeError("float32 array items are not 4 bytes on this platform")
    return packed.tobytes()


def from_blob(blob: bytes) -> list[float]:
    """Unpack a vector written by ``to_blob``."""
    unpacked = array("f")
    unpacked.frombytes(blob)
    return unpacked.tolist()
