"""The handler registry: one async handler per spec operationId.

Handlers register with ``@operation("createChatflow")``; ``app.py`` binds each to the path and method the
spec gives that operationId, so no path is written twice. ``check_bindings`` stops the app at startup when a
spec operation has no handler or a handler names no spec operation
(docs/README.md#the-spec-drives-everything).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

if TYPE_CHECKING:
    from mockserver.auth import Identity
    from mockserver.settings import MockSettings
    from mockserver.state import MockState
    from mockserver.store.db import Database

__all__ = ["Call", "Handler", "UnboundOperationError", "check_bindings", "handlers", "operation"]


@dataclass
class Call:
    """What a handler receives: the request already authenticated and validated against the spec.

    ``query`` holds values coerced to the spec's types (absent parameters are absent); ``body`` is the parsed
    JSON document, or for multipart/urlencoded bodies a dict of the text fields; ``files`` the uploaded files.
    A handler returns a JSON-able value (sent as 200 JSON) or a Starlette ``Response``; it raises
    ``mockserver.errors.FlowiseError`` for an error answer.
    """

    operation_id: str
    request: Request
    state: MockState
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    identity: Identity | None = None
    files: list[UploadFile] = field(default_factory=list)
    media_type: str | None = None
    #: the chatflow row the pipeline read for its per-chatflow checks (chatflow-keyed operations only)
    chatflow: dict[str, Any] | None = None

    @property
    def db(self) -> Database:
        return self.state.db

    @property
    def settings(self) -> MockSettings:
        return self.state.settings

    @property
    def workspace_id(self) -> str:
        return self.state.workspace_id

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.request.headers.get(name, default)


Handler = Callable[[Call], Awaitable[Any]]

handlers: dict[str, Handler] = {}


class UnboundOperationError(RuntimeError):
    """The registry and the spec disagree: raised at startup, never on a request."""


def operation(operation_id: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the handler of ``operation_id``; a second handler for the same id is an error."""

    def register(fn: Handler) -> Handler:
        if operation_id in handlers and handlers[operation_id] is not fn:
            raise UnboundOperationError(
                f"operation {operation_id!r} has two handlers: "
                f"{handlers[operation_id].__module__}.{handlers[operation_id].__name__} and {fn.__module__}.{fn.__name__}"
            )
        handlers[operation_id] = fn
        return fn

    return register


def check_bindings(spec_operation_ids: set[str], registered: dict[str, Handler] | None = None) -> None:
    """Fail naming every spec operation without a handler and every handler without a spec operation."""
    registered = handlers if registered is None else registered
    missing = sorted(spec_operation_ids - registered.keys())
    orphans = sorted(registered.keys() - spec_operation_ids)
    problems = []
    if missing:
        problems.append("spec operations without a handler: " + ", ".join(missing))
    if orphans:
        problems.append("handlers without a spec operation: " + ", ".join(orphans))
    if problems:
        raise UnboundOperationError("; ".join(problems))
