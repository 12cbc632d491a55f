"""``POST /vector/upsert/{id}``: load, split, embed and store a chatflow's documents.

Flowise runs the flow up to one vector store node (``stopNodeId``, or the only one there is; several
without ``stopNodeId`` is an error, none is 404 "No vector node found") and answers the vector store's
indexing result. The mock reads the text from what the flow would load: multipart ``files`` (as Flowise
maps them onto the file loaders), plain-text loader nodes (``text`` input), and file inputs holding
Flowise's ``data:<mime>;base64,<...>,filename:<name>`` values. It splits with the flow's splitter settings
(llm/chunking.py; 1000/200 without a splitter node), embeds (llm/embedding.py) and stores under the
chatflow id (store/vectors.py), where the chatflow's retrieval finds them. Unchanged chunks are skipped.

The answer is ``{numAdded, numDeleted, numUpdated, numSkipped, totalKeys, addedDocs}``; an
``upsert_history`` row keeps the counts (without ``totalKeys``/``addedDocs``) and the upserted nodes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from mockserver.auth import check_chatflow_key
from mockserver.errors import FlowiseError
from mockserver.llm.flow import FlowProfile, Node, api_override_enabled, read_profile
from mockserver.llm.retrieval import index_texts
from mockserver.operations import Call, operation
from mockserver.quirks import active
from mockserver.resources.prediction import load_chatflow
from mockserver.store import upsert_history, vectors

__all__ = ["vector_upsert"]

_FILE_VALUE = re.compile(r"data:([^;,]*)(?:;[^,]*)?;base64,([A-Za-z0-9+/=\s]*),filename:([^,\]\"]+)")
_WHERE = "vectorsService.upsertVector"


def _vector_nodes(profile: FlowProfile) -> list[Node]:
    return [n for n in profile.nodes if n.category == "Vector Stores"
            and "Upsert" not in n.label and "Load Existing" not in n.label]


def _target(profile: FlowProfile, stop_node_id: str | None) -> Node:
    candidates = _vector_nodes(profile)
    if stop_node_id:
        node = next((n for n in candidates if n.id == stop_node_id), None)
        if node is None:
            raise FlowiseError(404, f"Vector node {stop_node_id} not found in the chatflow")
        return node
    if not candidates:
        raise FlowiseError(404, "No vector node found")
    if len(candidates) > 1:
        raise FlowiseError(400, "There are multiple vector nodes, please provide stopNodeId in body request")
    return candidates[0]


def _upstream(profile: FlowProfile, node_id: str) -> list[Node]:
    """Every node feeding ``node_id``, nearest first (Flowise's ``getAllConnectedNodes`` on the reversed graph)."""
    seen: list[str] = []
    queue = list(profile.predecessors(node_id))
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.append(current)
        queue.extend(profile.predecessors(current))
    return [n for i in seen if (n := profile.node(i)) is not None]


def _decode_file_values(value: Any) -> list[tuple[str, dict[str, Any]]]:
    texts = []
    for match in _FILE_VALUE.finditer(value if isinstance(value, str) else json.dumps(value)):
        mime, payload, name = match.group(1), re.sub(r"\s+", "", match.group(2)), match.group(3)
        try:
            text = base64.b64decode(payload, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise FlowiseError(400, f"File input {name!r} is not readable text") from None
        texts.append((text, {"source": "blob", "blobType": mime or "text/plain"}))
    return texts


def _loader_texts(nodes: list[Node]) -> list[tuple[str, dict[str, Any]]]:
    texts: list[tuple[str, dict[str, Any]]] = []
    for node in nodes:
        if node.category != "Document Loaders":
            continue
        metadata = node.inputs.get("metadata")
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata) if metadata.strip() else {}
            except ValueError:
                metadata = {}
        base = dict(metadata) if isinstance(metadata, dict) else {}
        text = node.inputs.get("text")
        if isinstance(text, str) and text.strip():
            texts.append((text, base))
        for key, value in node.inputs.items():
            if key != "text" and isinstance(value, str) and "base64," in value:
                texts.extend((t, {**meta, **base}) for t, meta in _decode_file_values(value))
    return texts


async def _file_texts(call: Call) -> list[tuple[str, dict[str, Any]]]:
    texts = []
    for upload in call.files:
        content = await upload.read()
        if len(content) > call.settings.file_size_limit:
            raise FlowiseError(413, f"File {upload.filename!r} is too large")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise FlowiseError(400, f"File {upload.filename!r} is not UTF-8 text; the mock loads text files only") \
                from None
        texts.append((text, {"source": upload.filename or "file"}))
    return texts


def _request(call: Call) -> tuple[str | None, dict[str, Any]]:
    body = call.body if call.body is not None else {}
    if not isinstance(body, dict):
        raise FlowiseError(400, "Invalid request body: expected a JSON object")
    stop = body.get("stopNodeId")
    if stop is not None and not isinstance(stop, str):
        raise FlowiseError(400, "Invalid stopNodeId: must be a string")
    overrides = body.get("overrideConfig")
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except ValueError:
            raise FlowiseError(400, "Invalid overrideConfig: not valid JSON") from None
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        raise FlowiseError(400, "Invalid overrideConfig: must be an object")
    if call.files:  # Flowise copies the other multipart fields into overrideConfig
        overrides = {**{k: v for k, v in body.items() if k not in ("stopNodeId", "overrideConfig")}, **overrides}
    return stop or None, overrides


def _param_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) or value is None else "json"


def _node_summary(node: Node) -> dict[str, Any]:
    """A node as Flowise's ``saveUpsertFlowData`` records it in the upsert history."""
    params = [{"label": key, "name": key, "type": _param_type(value), "value": value}
              for key, value in node.inputs.items() if key != "credential"]
    return {"label": node.label, "name": node.name, "category": node.category, "id": node.id,
            "paramValues": params}


@operation("vectorUpsert")
async def vector_upsert(call: Call) -> dict[str, Any]:
    try:
        return await _vector_upsert(call)
    except FlowiseError as exc:
        if exc.status in (400, 404) and active(call, "client-error-500"):  # 2.2 wraps every failure
            raise FlowiseError(500, f"Error: vectorsService.upsertVector - {exc.message}") from None
        raise


async def _vector_upsert(call: Call) -> dict[str, Any]:
    chatflow = load_chatflow(call, call.path.get("id"))
    check_chatflow_key(call, chatflow, where=_WHERE)
    stop_node_id, overrides = _request(call)
    profile = read_profile(chatflow, overrides if api_override_enabled(chatflow) else None)
    target = _target(profile, stop_node_id)
    upstream = _upstream(profile, target.id)
    texts = [*await _file_texts(call), *_loader_texts(upstream)]
    namespace = str(target.inputs.get("selectedStore") or "") if target.name == "documentStoreVS" else ""
    namespace = namespace or chatflow["id"]
    added = index_texts(call.db, namespace, texts, chunk_size=profile.chunk_size,
                        chunk_overlap=min(profile.chunk_overlap, profile.chunk_size - 1))
    counts = {"numAdded": added.num_added, "numDeleted": 0, "numUpdated": 0, "numSkipped": added.skipped}
    flow_data = [_node_summary(n) for n in [*reversed(upstream), target]]
    upsert_history.add_record(call.db, chatflow["id"], counts, flow_data)
    return {**counts, "totalKeys": vectors.count(call.db, namespace), "addedDocs": added.added}
