"""The real server's known deviations, reproduced only under ``--quirks flowise-3.1``.

By default the mock serves the contract the spec states; a quirk switches one answer to what Flowise 3.1
actually sends (the ids match the spec's ``x-flowise-upstream`` notes and conformance/deviations.toml).
Handlers call these helpers instead of testing the setting themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.errors import FlowiseError

if TYPE_CHECKING:
    from mockserver.operations import Call

__all__ = ["deleted", "not_found"]


def not_found(call: Call, message: str, *, where: str) -> FlowiseError:
    """The error for an unknown id: 404 by contract; 500 ``Error: <where> - <message>`` under quirks.

    ``where`` is Flowise's ``service.function`` prefix, e.g. ``toolsService.getToolById``.
    Use as ``raise not_found(call, f"Tool {id} not found", where="toolsService.getToolById")``.
    """
    if call.settings.quirks_on:
        return FlowiseError(500, f"Error: {where} - {message}")
    return FlowiseError(404, message)


def deleted(call: Call, affected: int, message: str, *, where: str, upstream: str = "delete-missing-200") -> dict[str, object]:
    """The body of a DELETE: ``{"raw": [], "affected": n}``; a miss is 404 by contract.

    Under quirks a miss answers as the real server does for that family: ``delete-missing-200`` (200 with
    ``affected: 0``, Flowise#3221, e.g. variables) or ``missing-id-500`` (the wrapped 500, e.g. chatflows).
    """
    if affected == 0:
        if not call.settings.quirks_on:
            raise FlowiseError(404, message)
        if upstream == "missing-id-500":
            raise FlowiseError(500, f"Error: {where} - {message}")
    return {"raw": [], "affected": affected}
