"""The deviation catalogue: the known upstream defects, and how a failed check is recognised as one.

The catalogue (``deviations.toml``, kept at ``conformance/deviations.toml`` and shipped in this package)
lists each defect of a real Flowise with its upstream reference, the release lines that show it, and the
evidence that recognises it: the check, the operation, the status, the error message, the transport error.
Its ids are those of the spec's ``x-flowise-upstream`` notes and of the mock's ``--quirks``. The suite
classifies its findings with it, the reference harness confirms entries against a real server, and the
upgrade report reads the lines; all of them read it through this module. Matching needs only the evidence
(``Evidence``: what a recorded exchange holds), not the tools' own types.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path
from typing import Protocol

__all__ = ["CatalogueError", "Deviation", "Deviations", "Evidence", "Match", "error_message", "load_deviations"]


class CatalogueError(ValueError):
    """The catalogue (or another file in its format) is not readable as one: the message names where."""


class Evidence(Protocol):
    """What a failure is recognised by: a request and what came back (or the transport error instead)."""

    @property
    def method(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def content_type(self) -> str: ...
    @property
    def response_body(self) -> str | None: ...
    @property
    def request_body(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...


_MATCH_KEYS = frozenset(
    {
        "checks",
        "operations",
        "methods",
        "status",
        "content_type",
        "message",
        "body",
        "error",
        "request_body",
        "request_body_excludes",
    }
)
_DEVIATION_KEYS = frozenset({"id", "reference", "summary", "match", "versions", "version_notes"})
#: A release line as `deviations.toml` and the spec's `x-flowise-upstream` notes name it: `3.1`, `2.2`.
_LINE = re.compile(r"^\d+\.\d+$")


def error_message(body: str | None) -> str:
    """The text a Flowise error carries: `message` or `error` of a JSON body, else the body itself."""
    if not body:
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict):
        for key in ("message", "error"):
            value = data.get(key)
            if isinstance(value, str):
                return value
    return body


def _pattern(value: object, *, where: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: a regular expression string was expected, got {value!r}")
    try:
        # DOTALL: a message quotes what the client sent, ids with a line break in them included.
        return re.compile(value, re.DOTALL)
    except re.error as exc:
        raise CatalogueError(f"{where}: invalid regular expression {value!r}: {exc}") from None


def _strings(value: object, *, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CatalogueError(f"{where}: a list of strings was expected, got {value!r}")
    return tuple(value)


@dataclass(frozen=True, slots=True)
class Match:
    """One way of recognising a deviation; every field given must fit."""

    checks: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    status: tuple[int, ...] = ()
    content_type: re.Pattern[str] | None = None
    message: re.Pattern[str] | None = None
    body: re.Pattern[str] | None = None
    error: re.Pattern[str] | None = None
    request_body: re.Pattern[str] | None = None
    request_body_excludes: re.Pattern[str] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, object], *, where: str) -> Match:
        unknown = set(data) - _MATCH_KEYS
        if unknown:
            raise CatalogueError(f"{where}: unknown keys {sorted(unknown)}")
        status = data.get("status", [])
        if not isinstance(status, list) or not all(isinstance(code, int) for code in status):
            raise CatalogueError(f"{where}: status must be a list of integers")
        if not set(data) - {"checks", "operations"}:
            raise CatalogueError(f"{where}: a match needs evidence beyond checks and operations")
        return cls(
            checks=_strings(data.get("checks"), where=f"{where}.checks"),
            operations=_strings(data.get("operations"), where=f"{where}.operations"),
            methods=tuple(method.upper() for method in _strings(data.get("methods"), where=f"{where}.methods")),
            status=tuple(status),
            content_type=_pattern(data.get("content_type"), where=f"{where}.content_type"),
            message=_pattern(data.get("message"), where=f"{where}.message"),
            body=_pattern(data.get("body"), where=f"{where}.body"),
            error=_pattern(data.get("error"), where=f"{where}.error"),
            request_body=_pattern(data.get("request_body"), where=f"{where}.request_body"),
            request_body_excludes=_pattern(data.get("request_body_excludes"), where=f"{where}.request_body_excludes"),
        )

    def fits(self, *, check: str, operation: str, exchange: Evidence) -> bool:
        if self.checks and not any(fnmatchcase(check, pattern) for pattern in self.checks):
            return False
        if self.operations and not any(fnmatchcase(operation, pattern) for pattern in self.operations):
            return False
        if self.methods and exchange.method.upper() not in self.methods:
            return False
        if self.status and exchange.status not in self.status:
            return False
        if self.content_type and not self.content_type.search(exchange.content_type):
            return False
        if self.message and not self.message.search(error_message(exchange.response_body)):
            return False
        if self.body and not self.body.search(exchange.response_body or ""):
            return False
        if self.error and not self.error.search(exchange.error or ""):
            return False
        if self.request_body and not self.request_body.search(exchange.request_body or ""):
            return False
        if self.request_body_excludes and self.request_body_excludes.search(exchange.request_body or ""):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Deviation:
    id: str
    reference: str
    summary: str
    matches: tuple[Match, ...]
    #: The release lines (`3.1`, `3.0`, `2.2`) that show it; empty: every line the kit supports.
    versions: tuple[str, ...] = ()
    #: Per line, how that line's behaviour differs from the summary (`{"2.2": "..."}`), for upgrade notes.
    version_notes: tuple[tuple[str, str], ...] = ()

    def applies_to(self, line: str | None) -> bool:
        """Does a server of release line `line` (`3.0`) show it? An unknown line: assume it does."""
        return not self.versions or line is None or line in self.versions


class Deviations:
    """The catalogue of known deviations, loaded once per run."""

    def __init__(self, deviations: list[Deviation]) -> None:
        ids = [deviation.id for deviation in deviations]
        duplicates = sorted({item for item in ids if ids.count(item) > 1})
        if duplicates:
            raise CatalogueError(f"deviations: duplicate ids {duplicates}")
        self._items = tuple(deviations)

    def __iter__(self) -> Iterator[Deviation]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def ids(self) -> list[str]:
        return [deviation.id for deviation in self._items]

    def classify(self, *, check: str, operation: str, exchange: Evidence | None) -> Deviation | None:
        """The known deviation a failure is an instance of, or None when it is a new defect."""
        if exchange is None:
            return None
        for deviation in self._items:
            if any(match.fits(check=check, operation=operation, exchange=exchange) for match in deviation.matches):
                return deviation
        return None

    @classmethod
    def from_toml(cls, text: str, *, source: str = "deviations.toml") -> Deviations:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueError(f"{source}: {exc}") from None
        items = data.get("deviation", [])
        if set(data) - {"deviation"} or not isinstance(items, list):
            raise CatalogueError(f"{source}: only [[deviation]] tables are allowed")
        deviations = []
        for index, item in enumerate(items):
            where = f"{source}: deviation[{index}]"
            unknown = set(item) - _DEVIATION_KEYS
            if unknown:
                raise CatalogueError(f"{where}: unknown keys {sorted(unknown)}")
            if not isinstance(item.get("id"), str) or not isinstance(item.get("reference"), str):
                raise CatalogueError(f"{where}: `id` and `reference` are required strings")
            versions = _strings(item.get("versions"), where=f"{where}.versions")
            bad = [line for line in versions if not _LINE.match(line)]
            if bad:
                raise CatalogueError(f"{where}.versions: release lines look like \"3.1\", got {bad}")
            notes = item.get("version_notes", {})
            if not isinstance(notes, dict) or not all(isinstance(k, str) and _LINE.match(k) and isinstance(v, str)
                                                      for k, v in notes.items()):
                raise CatalogueError(f"{where}.version_notes: a table of release line = text was expected")
            matches = item.get("match", [])
            if not matches:
                raise CatalogueError(f"{where} ({item['id']}): at least one [[deviation.match]] is required")
            deviations.append(
                Deviation(
                    id=item["id"],
                    reference=item["reference"],
                    summary=str(item.get("summary", "")),
                    matches=tuple(
                        Match.from_dict(match, where=f"{where}.match[{number}]") for number, match in enumerate(matches)
                    ),
                    versions=versions,
                    version_notes=tuple(sorted(notes.items())),
                )
            )
        return cls(deviations)


def load_deviations(path: Path | None = None) -> Deviations:
    """Load the catalogue shipped with the package (or another file, for tests)."""
    if path is not None:
        return Deviations.from_toml(path.read_text(encoding="utf-8"), source=str(path))
    text = resources.files("contract").joinpath("deviations.toml").read_text(encoding="utf-8")
    return Deviations.from_toml(text)
