"""What the embed widget learns from a chatflow's graph: streaming, uploads, TTS, the public flowData.

Flowise derives these from ``flowData`` (the React-Flow graph as a JSON string) and from the chatflow's
JSON-string columns (``chatbotConfig``, ``speechToText``, ``textToSpeech``). The mock follows the same
rules in a reduced form (docs/prediction.md#helper-endpoints, Flowise's ``utilGetUploadsConfig`` and
``checkIfChatflowIsValidForStreaming``), enough for the mock's own flows and for flows exported from a
real Flowise. A broken JSON column reads as empty instead of failing the request.
"""

from __future__ import annotations

import json
from typing import Any

from mockserver.llm.flow import graph_parts
from mockserver.store.db import json_object, json_value

__all__ = ["is_streaming", "is_tts_enabled", "public_flow_data", "uploads_config"]

#: Image types Flowise allows when a chat model has ``allowImageUploads`` (max 5 MB each).
IMAGE_TYPES = ["image/gif", "image/jpeg", "image/png", "image/webp"]
#: Chains and agents whose chat model may take images (Flowise's ``imgUploadAllowedNodes``).
IMAGE_NODES = {"llmChain", "conversationChain", "reactAgentChat", "conversationalAgent", "toolAgent",
               "supervisor", "seqStart"}
#: Model-config inputs of agentflow v2 nodes that can carry ``allowImageUploads``.
AGENT_MODEL_INPUTS = ("agentModelConfig", "llmModelConfig", "conditionAgentModelConfig")
#: The file types of ``chatbotConfig.fullFileUpload`` when it names none.
DEFAULT_FILE_TYPES = ["text/plain", "text/csv", "application/json", "application/pdf", "text/markdown"]
RAG_MAX_UPLOAD_MB = 500
IMAGE_MAX_UPLOAD_MB = 5


def _nodes_and_edges(chatflow: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return graph_parts(json_object(chatflow.get("flowData")))


def _data(node: dict[str, Any]) -> dict[str, Any]:
    data = node.get("data")
    return data if isinstance(data, dict) else {}


def _inputs(node: dict[str, Any]) -> dict[str, Any]:
    inputs = _data(node).get("inputs")
    return inputs if isinstance(inputs, dict) else {}


def _config(chatflow: dict[str, Any], column: str) -> dict[str, Any]:
    return json_object(chatflow.get(column))


def _any_provider_on(config: dict[str, Any]) -> bool:
    """``speechToText``/``textToSpeech`` hold ``{provider: {status, ...}}``; ``none`` never counts."""
    return any(name != "none" and isinstance(cfg, dict) and bool(cfg.get("status"))
               for name, cfg in config.items())


def is_tts_enabled(chatflow: dict[str, Any]) -> bool:
    return _any_provider_on(_config(chatflow, "textToSpeech"))


def is_streaming(chatflow: dict[str, Any]) -> bool:
    """Flowise's rule, reduced: agentflows (and multi-agent flows) always stream; a chatflow streams
    unless a node ends the flow in a custom-function ``EndingNode`` or ``chatbotConfig.postProcessing``
    is enabled (both rewrite the whole answer, so there is nothing to stream token by token). Flowise also
    checks that the ending node is a streaming-capable chain; the mock's fake LLM always is."""
    if chatflow.get("type") in ("AGENTFLOW", "MULTIAGENT"):
        return True
    nodes, _ = _nodes_and_edges(chatflow)
    for node in nodes:
        outputs = _data(node).get("outputs")
        if isinstance(outputs, dict) and outputs.get("output") == "EndingNode":
            return False
    post = _config(chatflow, "chatbotConfig").get("postProcessing")
    return not (isinstance(post, dict) and post.get("enabled") is True)


def _rag_file_types(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A vector store with ``fileUpload`` on accepts the file types of the loaders feeding it."""
    found: list[dict[str, Any]] = []
    by_id = {n.get("id"): n for n in nodes}
    for store in nodes:
        if _data(store).get("category") != "Vector Stores" or not _inputs(store).get("fileUpload"):
            continue
        for edge in edges:
            if edge.get("target") != store.get("id") or not str(edge.get("targetHandle", "")).endswith(
                    "-input-document-Document"):
                continue
            loader = by_id.get(edge.get("source"))
            params = _data(loader).get("inputParams") if loader else None
            for param in params if isinstance(params, list) else []:
                if isinstance(param, dict) and param.get("type") == "file" and param.get("fileType"):
                    types = [t.strip() for t in str(param["fileType"]).split(",") if t.strip()]
                    found.append({"fileTypes": types, "maxUploadSize": RAG_MAX_UPLOAD_MB})
                    break
        break
    return found


def _allows_images(nodes: list[dict[str, Any]]) -> bool:
    if any(_data(n).get("category") == "Agent Flows" for n in nodes):
        return any(isinstance(_inputs(n).get(key), dict) and _inputs(n)[key].get("allowImageUploads")
                   for n in nodes if _data(n).get("category") == "Agent Flows" for key in AGENT_MODEL_INPUTS)
    if not any(_data(n).get("name") in IMAGE_NODES for n in nodes):
        return False
    return any(_data(n).get("category") == "Chat Models" and _inputs(n).get("allowImageUploads") is True
               for n in nodes)


def uploads_config(chatflow: dict[str, Any]) -> dict[str, Any]:
    """``GET /chatflows-uploads/{id}``: speech-to-text, image uploads and file uploads (RAG through a
    vector store with ``fileUpload``, or ``chatbotConfig.fullFileUpload``)."""
    nodes, edges = _nodes_and_edges(chatflow)
    file_types = _rag_file_types(nodes, edges)
    full = _config(chatflow, "chatbotConfig").get("fullFileUpload")
    if isinstance(full, dict) and full.get("status"):
        allowed = full.get("allowedUploadFileTypes")
        types = [t.strip() for t in allowed.split(",") if t.strip()] if isinstance(allowed, str) else []
        file_types.append({"fileTypes": types or list(DEFAULT_FILE_TYPES), "maxUploadSize": RAG_MAX_UPLOAD_MB})
    images = _allows_images(nodes)
    return {
        "isSpeechToTextEnabled": _any_provider_on(_config(chatflow, "speechToText")),
        "isImageUploadAllowed": images,
        "isRAGFileUploadAllowed": bool(file_types),
        "imgUploadSizeAndTypes": [{"fileTypes": list(IMAGE_TYPES), "maxUploadSize": IMAGE_MAX_UPLOAD_MB}]
        if images else [],
        "fileUploadSizeAndTypes": file_types,
    }


def public_flow_data(chatflow: dict[str, Any]) -> str:
    """``flowData`` as the public chatbot config shows it: credentials and password inputs removed, since
    anyone may read this endpoint. Text that is not a graph is passed through unchanged."""
    text = chatflow.get("flowData") or ""
    graph = json_value(text)
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
        return text
    for node in graph["nodes"]:
        data = _data(node) if isinstance(node, dict) else {}
        data.pop("credential", None)
        inputs = data.get("inputs")
        if not isinstance(inputs, dict):
            continue
        inputs.pop("credential", None)
        for param in data.get("inputParams") or []:
            if isinstance(param, dict) and param.get("type") == "password":
                inputs.pop(param.get("name"), None)
    return json.dumps(graph, separators=(",", ":"), ensure_ascii=False)
