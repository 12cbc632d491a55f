"""Mock-only control endpoints under ``/__mock``, outside ``/api/v1`` so they never pollute the contract.

- ``POST /__mock/reset``: delete every resource (API keys are kept, so the admin key stays valid).
- ``POST /__mock/seed``: load a fixtures document (the same format as ``--seed FILE``).
- ``GET /__mock/state``: row counts per table, for tests and curious developers.
With auth on they need an admin key: one holding every permission an API key can hold (the key the mock
creates or is given with ``--api-key`` is one). Any other valid key gets 403 ``{"message":"Forbidden"}``,
so a view-only key can neither wipe the store nor read it through a fixture. With ``--no-auth`` they are
open, like every other route.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mockserver.auth import ALL_PERMISSIONS, key_from_header
from mockserver.errors import FlowiseError, ForbiddenError, GateUnauthorizedError
from mockserver.jsonbody import MalformedJSONError, parse_json
from mockserver.state import MockState
from mockserver.store import records
from mockserver.store.db import UnknownColumnError, new_id, now_iso, to_json_text

__all__ = ["FIXTURE_TABLES", "control_routes", "load_fixtures", "read_fixtures"]

#: fixture key -> (table, JSON-string columns, has workspaceId, has updatedDate)
FIXTURE_TABLES: dict[str, tuple[records.Table, tuple[str, ...], bool, bool]] = {
    "chatflows": ("chat_flow", ("flowData", "chatbotConfig", "apiConfig", "analytic", "speechToText",
                                "textToSpeech", "followUpPrompts", "mcpServerConfig"), True, True),
    "tools": ("tool", ("schema",), True, True),
    "variables": ("variable", (), True, True),
    "assistants": ("assistant", ("details",), True, True),
    "document_stores": ("document_store", ("loaders", "whereUsed", "vectorStoreConfig", "embeddingConfig",
                                           "recordManagerConfig"), True, True),
    "chat_messages": ("chat_message", ("sourceDocuments", "usedTools", "fileAnnotations", "agentReasoning",
                                       "reasonContent", "fileUploads", "artifacts", "action", "followUpPrompts"),
                      False, False),
    "feedback": ("chat_message_feedback", (), False, False),
    "leads": ("lead", (), False, False),
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "chat_flow": {"flowData": '{"nodes":[],"edges":[]}', "type": "CHATFLOW"},
    "chat_message": {"chatType": "EXTERNAL"},
}


def read_fixtures(path: str) -> dict[str, Any]:
    """Read a fixtures file (YAML or JSON): ``{"chatflows": [...], "tools": [...], ...}``."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read fixtures {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"fixtures {path} must be a mapping of families to lists")
    return data


def load_fixtures(state: MockState, data: dict[str, Any]) -> dict[str, int]:
    """Insert fixture rows (ids and dates filled in when absent); returns how many rows per family."""
    unknown = sorted(set(data) - set(FIXTURE_TABLES))
    if unknown:
        raise ValueError(f"unknown fixture families: {', '.join(unknown)}; known: {', '.join(FIXTURE_TABLES)}")
    counts: dict[str, int] = {}
    with state.db.transaction():
        for family, rows in data.items():
            table, json_cols, has_ws, has_updated = FIXTURE_TABLES[family]
            if not isinstance(rows, list):
                raise ValueError(f"fixtures: {family} must be a list")
            for raw in rows:
                if not isinstance(raw, dict):
                    raise ValueError(f"fixtures: each {family} entry must be a mapping")
                row = {**_DEFAULTS.get(table, {}), **raw}
                row.setdefault("id", new_id())
                stamp = now_iso()
                row.setdefault("date" if table == "upsert_history" else "createdDate", stamp)
                if has_updated:
                    row.setdefault("updatedDate", stamp)
                if has_ws:
                    row["workspaceId"] = state.workspace_id
                for col in json_cols:
                    if col in row:
                        row[col] = to_json_text(row[col])
                for col, value in list(row.items()):
                    if isinstance(value, bool):
                        row[col] = int(value)
                try:
                    records.insert(state.db, table, row)
                except UnknownColumnError as exc:
                    raise ValueError(f"fixtures: {family}: {exc}") from None
                except Exception as exc:
                    raise ValueError(f"fixtures: cannot insert into {family}: {exc}") from exc
            counts[family] = len(rows)
    return counts


def control_routes(state: MockState) -> list[BaseRoute]:
    def guard(request: Request) -> None:
        if not state.settings.auth_on:
            return
        identity = state.keys.identify(key_from_header(request.headers.get("authorization")))
        if identity is None:
            raise GateUnauthorizedError()
        if not identity.permissions.issuperset(ALL_PERMISSIONS):
            raise ForbiddenError()

    async def reset(request: Request) -> Response:
        try:
            guard(request)
        except FlowiseError as error:
            return error.response()
        records.wipe_keeping(state.db, "apikey")
        state.ratelimits.reset()
        return JSONResponse({"status": "reset"})

    async def seed(request: Request) -> Response:
        try:
            guard(request)
            try:
                data = parse_json(await request.body() or b"{}")
            except MalformedJSONError as exc:
                raise FlowiseError(400, f"Malformed JSON body: {exc}") from None
            if not isinstance(data, dict):
                raise FlowiseError(400, "fixtures must be a JSON object of families to lists")
            try:
                counts = load_fixtures(state, data)
            except ValueError as exc:
                raise FlowiseError(400, str(exc)) from exc
        except FlowiseError as error:
            return error.response()
        return JSONResponse({"loaded": counts})

    async def show(request: Request) -> Response:
        try:
            guard(request)
        except FlowiseError as error:
            return error.response()
        others: list[records.Table] = ["apikey", "credential", "document_store_file_chunk", "upsert_history", "vector",
                                       "execution"]
        tables = [t for t, *_ in FIXTURE_TABLES.values()] + others
        return JSONResponse({t: records.count(state.db, t) for t in tables})

    return [
        Route("/__mock/reset", reset, methods=["POST"]),
        Route("/__mock/seed", seed, methods=["POST"]),
        Route("/__mock/state", show, methods=["GET"]),
    ]
