"""Command lines whose option values may begin with "-".

argparse reads ``--api-key -Xy3...`` as an option with no value followed by an unknown option, yet a
Flowise API key is random URL-safe base64 and begins with "-" about once in 64 keys. For options that
take such values, ``attach_values`` turns ``--option VALUE`` into ``--option=VALUE`` before parsing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["attach_values"]


def attach_values(argv: Sequence[str], options: Iterable[str]) -> list[str]:
    """``argv`` with each of ``options`` joined to the word after it (when it is not joined already)."""
    joined = set(options)
    result: list[str] = []
    words = iter(argv)
    for word in words:
        if word in joined:
            value = next(words, None)
            result.append(word if value is None else f"{word}={value}")
        else:
            result.append(word)
            if word == "--":
                result.extend(words)
    return result
