"""schemathesis' own reports (JUnit XML, NDJSON event log, HAR of every exchange) beside ours.

They come from schemathesis' report handlers fed with the same engine events the suite reads; the
HAR in particular holds every request the schema layer sent. These handlers are not part of
schemathesis' documented Python API, so any failure here is recorded in the run notes and never
affects the verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["SchemathesisArtefacts"]


class SchemathesisArtefacts:
    """Feed engine events to schemathesis' JUnit, NDJSON and HAR writers."""

    def __init__(self, directory: Path, config: Any) -> None:
        self.directory = directory
        self.paths: dict[str, Path] = {}
        self.error: str | None = None
        self._handlers: list[Any] = []
        self._context: Any = None
        try:
            from schemathesis.cli.commands.run.context import ExecutionContext
            from schemathesis.cli.commands.run.handlers.har import HarHandler
            from schemathesis.cli.commands.run.handlers.junitxml import JunitXMLHandler
            from schemathesis.cli.commands.run.handlers.ndjson import NdjsonHandler

            directory.mkdir(parents=True, exist_ok=True)
            self.paths = {
                "schemathesis-junit": directory / "schemathesis-junit.xml",
                "schemathesis-ndjson": directory / "schemathesis-events.ndjson",
                "schemathesis-har": directory / "schemathesis.har",
            }
            self._context = ExecutionContext(config=config)
            self._handlers = [
                JunitXMLHandler(self.paths["schemathesis-junit"]),
                NdjsonHandler(self.paths["schemathesis-ndjson"], config=config),
                HarHandler(self.paths["schemathesis-har"], config=config.output),
            ]
            for handler in self._handlers:
                handler.start(self._context)
        except Exception as exc:  # an internal API that moved must not break the run
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        self.error = f"schemathesis artefacts unavailable: {type(exc).__name__}: {exc}"
        self._handlers = []
        self.paths = {}

    def handle(self, event: Any) -> None:
        if not self._handlers:
            return
        try:
            self._context.on_event(event)
            for handler in self._handlers:
                handler.handle_event(self._context, event)
        except Exception as exc:
            self._fail(exc)

    def close(self) -> None:
        for handler in self._handlers:
            try:
                handler.shutdown(self._context)
            except Exception as exc:
                self._fail(exc)
