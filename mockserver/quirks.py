"""The real server's known deviations, reproduced only under ``--quirks flowise-<line>`` (3.1, 3.0, 2.2).

By default the mock serves the contract the spec states. Under quirks, an operation answers as the real
server does exactly where the spec records it: the operation's ``x-flowise-upstream`` notes (whose ids
are shared with conformance/deviations.toml) decide, so a deviation is written down once, in the spec.
A note may name the release lines that show it (``versions: ["3.0", "3.1"]``); ``--quirks flowise-2.2``
then leaves it out. Handlers call these helpers instead of testing the setting themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.errors import FlowiseError, TextError

if TYPE_CHECKING:
    from mockserver.operations import Call
    from mockserver.settings import MockSettings
    from mockserver.spec import Operation

__all__ = ["active", "applies", "client_error", "deleted", "not_found"]


def applies(settings: MockSettings, op: Operation | None, upstream_id: str) -> bool:
    """Does the quirks set of ``settings`` reproduce ``upstream_id`` on ``op`` (the note names its line)?"""
    return settings.quirks_on and op is not None and upstream_id in op.upstream_ids_for(settings.quirks_line)


def active(call: Call, upstream_id: str) -> bool:
    """Is deviation ``upstream_id`` to be reproduced for this call's operation?"""
    if not call.settings.quirks_on or call.state.spec is None:
        return False
    return applies(call.settings, call.state.spec.operations.get(call.operation_id), upstream_id)


def not_found(call: Call, message: str, *, where: str) -> FlowiseError:
    """The error for an unknown id: 404 by contract; under quirks the operation's recorded behaviour
    (``missing-id-500``: 500 ``Error: <where> - <message>``; ``not-found-text``: a text/html 404).

    ``where`` is Flowise's ``service.function`` prefix, e.g. ``toolsService.getToolById``.
    Use as ``raise not_found(call, f"Tool {id} not found", where="toolsService.getToolById")``.
    """
    if active(call, "missing-id-500"):
        return FlowiseError(500, f"Error: {where} - {message}")
    if active(call, "not-found-text"):
        return TextError(404, message)
    return FlowiseError(404, message)


def client_error(call: Call, status: int, message: str, *, where: str) -> FlowiseError:
    """A request the client got wrong: ``status`` by contract; under quirks, where the spec records
    ``client-error-500``, Flowise's plain-``Error`` 500 ``Error: <where> - <message>``."""
    if active(call, "client-error-500"):
        return FlowiseError(500, f"Error: {where} - {message}")
    return FlowiseError(status, message)


def deleted(call: Call, affected: int, message: str, *, where: str) -> dict[str, object]:
    """The body of a DELETE, ``{"raw": [], "affected": n}``; a miss is ``not_found``, or under quirks 200
    with ``affected: 0`` where the spec records ``delete-missing-200`` (Flowise#3221)."""
    if affected == 0 and not active(call, "delete-missing-200"):
        raise not_found(call, message, where=where)
    return {"raw": [], "affected": affected}
