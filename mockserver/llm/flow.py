"""What a chatflow's flowData asks for: memory, retrieval, tools, splitter settings, follow-ups.

Flowise decides behaviour from the nodes of the graph, not from flags on the chatflow: a node in the
``Memory`` category gives the answer a history and the response a ``memoryType`` (its label); a vector store
node makes the chain retrieve (from the chatflow's own upserted vectors, or from a document store for the
``documentStoreVS`` node); tool nodes feed ``usedTools``; a text splitter sets the upsert's chunking.
``FlowProfile`` is that reading, done once per request, so the answer engine never looks at raw JSON.

A flowData of ``{"nodes":[],"edges":[]}`` is valid here: it answers as a plain LLM with no memory.
``overrideConfig`` replaces node inputs only when the chatflow's ``apiConfig.overrideConfig.status`` is
true (Flowise's ``replaceInputsWithConfig``); a dict value keyed by node id targets single nodes.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from mockserver.llm.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE
from mockserver.store.db import json_object

__all__ = [
    "FlowProfile",
    "Node",
    "api_override_enabled",
    "follow_ups_enabled",
    "read_profile",
]

_CATEGORY_BY_NAME = (
    (re.compile(r"(Memory|memory)$"), "Memory"),
    (re.compile(r"(VectorStore|VS|pinecone|chroma|faiss|qdrant|weaviate|milvus|supabase|postgres|redis|"
                r"elasticsearch|opensearch|mongoDBAtlas|upstash|zep)$", re.IGNORECASE), "Vector Stores"),
    (re.compile(r"Splitter$"), "Text Splitters"),
    (re.compile(r"^(calculator|customTool|serpAPI|serper|requestsGet|requestsPost|readFile|writeFile|"
                r"retrieverTool|chainTool|chatflowTool|currentDateTime|webBrowser|braveSearchAPI)$"), "Tools"),
)
_STICKY_NOTES = ("stickyNoteAgentflow", "stickyNote")
_VAR_REF = re.compile(r"\$vars\.([A-Za-z_][\w-]*)")
_RESERVED_OVERRIDES = frozenset({"sessionId", "vars", "chatId"})


@dataclass
class Node:
    """One flow node, reduced to what the mock reads from ``node.data``."""

    id: str
    name: str
    label: str
    category: str
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    #: the Iteration node this node sits in (the canvas's ``parentNode``), and whether it is held inside it
    #: (``extent: "parent"``), which keeps it from starting the run
    parent: str | None = None
    inside_parent: bool = False

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Node:
        given = raw.get("data")
        data: dict[str, Any] = given if isinstance(given, dict) else {}
        name = str(data.get("name") or raw.get("id") or "")
        category = str(data.get("category") or "")
        if not category:
            for pattern, guessed in _CATEGORY_BY_NAME:
                if pattern.search(name):
                    category = guessed
                    break
        return cls(
            id=str(raw.get("id") or data.get("id") or name),
            name=name,
            label=str(data.get("label") or name),
            category=category,
            inputs=dict(data["inputs"]) if isinstance(data.get("inputs"), dict) else {},
            outputs=dict(data["outputs"]) if isinstance(data.get("outputs"), dict) else {},
            parent=str(raw["parentNode"]) if raw.get("parentNode") else None,
            inside_parent=raw.get("extent") == "parent",
        )

    def truthy(self, key: str) -> bool:
        value = self.inputs.get(key)
        return value is True or (isinstance(value, str) and value.lower() == "true")


@dataclass
class FlowProfile:
    """The behaviour a chatflow's graph asks for (see the module docstring)."""

    chatflow_id: str
    kind: str
    nodes: list[Node]
    edges: list[tuple[str, str]]
    #: the output anchor each edge leaves from (``<nodeId>-output-<n>`` on a branching node)
    source_handles: dict[tuple[str, str], str] = field(default_factory=dict)
    memory_label: str | None = None
    memory_session_input: str | None = None
    retrieval_namespaces: list[str] = field(default_factory=list)
    top_k: int = 4
    return_source_documents: bool = False
    tools: list[Node] = field(default_factory=list)
    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    var_names: list[str] = field(default_factory=list)

    @property
    def is_agentflow(self) -> bool:
        return self.kind == "AGENTFLOW"

    @property
    def has_memory(self) -> bool:
        return self.memory_label is not None

    @property
    def retrieves(self) -> bool:
        return bool(self.retrieval_namespaces)

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def successors(self, node_id: str, *, handle: str | None = None) -> list[str]:
        """The nodes ``node_id`` leads to; with ``handle``, only along edges leaving from that output anchor."""
        return [target for source, target in self.edges
                if source == node_id and (handle is None or self.source_handles.get((source, target)) == handle)]

    def predecessors(self, node_id: str) -> list[str]:
        return [source for source, target in self.edges if target == node_id]

    def block(self, parent_id: str) -> FlowProfile:
        """The nodes inside Iteration node ``parent_id`` and the edges between them, as a flow of their own."""
        inside = [n for n in self.nodes if n.parent == parent_id]
        ids = {n.id for n in inside}
        edges = [(s, t) for s, t in self.edges if s in ids and t in ids]
        kept = set(edges)
        return replace(self, nodes=inside, edges=edges,
                       source_handles={e: h for e, h in self.source_handles.items() if e in kept})


def api_override_enabled(chatflow: dict[str, Any]) -> bool:
    """Flowise applies ``overrideConfig`` to node inputs only when ``apiConfig.overrideConfig.status`` is true."""
    override = json_object(chatflow.get("apiConfig")).get("overrideConfig")
    return isinstance(override, dict) and override.get("status") is True


def follow_ups_enabled(chatflow: dict[str, Any]) -> bool:
    """Follow-up prompts are on when the chatflow's ``followUpPrompts`` (or chatbotConfig's) has ``status: true``."""
    for source in (json_object(chatflow.get("followUpPrompts")),
                   json_object(chatflow.get("chatbotConfig")).get("followUpPrompts")):
        if isinstance(source, dict) and source.get("status") in (True, "true"):
            return True
    return False


def _apply_overrides(nodes: list[Node], overrides: dict[str, Any]) -> None:
    for key, value in overrides.items():
        if key in _RESERVED_OVERRIDES:
            continue
        by_node = isinstance(value, dict) and any(n.id in value for n in nodes)
        for node in nodes:
            if by_node:
                if node.id in value and key in node.inputs:
                    node.inputs[key] = value[node.id]
            elif key in node.inputs:
                node.inputs[key] = value


def _int_input(value: Any, default: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def _read_chatflow(profile: FlowProfile) -> None:
    connected = {s for s, _ in profile.edges} | {t for _, t in profile.edges}
    for node in profile.nodes:
        if node.category == "Memory" and profile.memory_label is None and (node.id in connected or not profile.edges):
            profile.memory_label = node.label
            session = node.inputs.get("sessionId")
            profile.memory_session_input = session if isinstance(session, str) and session else None
        elif node.category == "Vector Stores":
            store = node.inputs.get("selectedStore") if node.name == "documentStoreVS" else None
            namespace = str(store) if store else profile.chatflow_id
            if namespace not in profile.retrieval_namespaces:
                profile.retrieval_namespaces.append(namespace)
            profile.top_k = _int_input(node.inputs.get("topK"), profile.top_k)
        elif node.category == "Tools":
            profile.tools.append(node)
        elif node.category == "Text Splitters":
            profile.chunk_size = _int_input(node.inputs.get("chunkSize"), DEFAULT_CHUNK_SIZE)
            overlap = node.inputs.get("chunkOverlap")
            try:
                profile.chunk_overlap = max(0, int(str(overlap).strip()))
            except (TypeError, ValueError):
                profile.chunk_overlap = DEFAULT_CHUNK_OVERLAP
        if node.truthy("returnSourceDocuments"):
            profile.return_source_documents = True


def _read_agentflow(profile: FlowProfile) -> None:
    for node in profile.nodes:
        stores: list[Any] = []
        for key in ("agentKnowledgeDocumentStores", "retrieverKnowledgeDocumentStores"):
            value = node.inputs.get(key)
            if isinstance(value, list):
                stores.extend(value)
        for entry in stores:
            store = entry.get("documentStore") if isinstance(entry, dict) else None
            if isinstance(store, str) and store:
                namespace = store.split(":", 1)[0]
                if namespace not in profile.retrieval_namespaces:
                    profile.retrieval_namespaces.append(namespace)
                if entry.get("returnSourceDocuments") in (True, "true"):
                    profile.return_source_documents = True


def graph_parts(flow: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The nodes and edges of a parsed flowData, whatever shape it has: a field that is not a list
    counts as empty, an entry that is not an object is left out (a stored flowData is anyone's text)."""
    nodes, edges = flow.get("nodes"), flow.get("edges")
    return ([n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else [],
            [e for e in edges if isinstance(e, dict)] if isinstance(edges, list) else [])


def read_profile(chatflow: dict[str, Any], overrides: dict[str, Any] | None = None) -> FlowProfile:
    """Read ``chatflow`` (a ``chat_flow`` row) into a profile; ``overrides`` are already gated by the caller."""
    flow, var_names = _read_flow_data(chatflow.get("flowData"))
    raw_nodes, raw_edges = graph_parts(flow)
    # Sticky notes are the canvas's comments: Flowise leaves them out of the graph it runs.
    nodes = [node for node in map(Node.from_json, raw_nodes) if node.name not in _STICKY_NOTES]
    if overrides:
        _apply_overrides(nodes, overrides)
    edges: list[tuple[str, str]] = []
    handles: dict[tuple[str, str], str] = {}
    for e in raw_edges:
        if e.get("source") and e.get("target"):
            edge = (str(e.get("source")), str(e.get("target")))
            edges.append(edge)
            if isinstance(e.get("sourceHandle"), str):
                handles[edge] = e["sourceHandle"]
    profile = FlowProfile(chatflow_id=str(chatflow.get("id")), kind=str(chatflow.get("type") or "CHATFLOW"),
                          nodes=nodes, edges=edges, source_handles=handles)
    if profile.is_agentflow:
        _read_agentflow(profile)
    else:
        _read_chatflow(profile)
    profile.var_names = list(var_names)
    return profile


def _read_flow_data(flow_data: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The flowData object and the ``$vars`` it names. A stored flowData is text; its parse is cached."""
    if isinstance(flow_data, str):
        return _parse_flow_data(flow_data)
    flow = json_object(flow_data)
    return flow, tuple(sorted(set(_VAR_REF.findall(json.dumps(flow)))))


class _FlowDataCache:
    """Parsed flowData texts, least recently used first out, bounded by the text they hold (not by count:
    twenty 3 MB flows would otherwise keep hundreds of megabytes of parsed objects alive)."""

    def __init__(self, max_chars: int, max_entry_chars: int) -> None:
        self.max_chars = max_chars
        self.max_entry_chars = max_entry_chars
        self.entries: OrderedDict[str, tuple[dict[str, Any], tuple[str, ...]]] = OrderedDict()
        self.chars = 0
        self.lock = threading.Lock()

    def get(self, text: str) -> tuple[dict[str, Any], tuple[str, ...]]:
        with self.lock:
            hit = self.entries.get(text)
            if hit is not None:
                self.entries.move_to_end(text)
                return hit
        parsed = json_object(text), tuple(sorted(set(_VAR_REF.findall(text))))
        if len(text) > self.max_entry_chars:
            return parsed
        with self.lock:
            if text not in self.entries:
                self.entries[text] = parsed
                self.chars += len(text)
            while self.chars > self.max_chars:
                evicted, _ = self.entries.popitem(last=False)
                self.chars -= len(evicted)
        return parsed


#: A real flow's JSON runs to tens of kilobytes and would otherwise be parsed on every request.
_flow_data_cache = _FlowDataCache(max_chars=8 * 1024**2, max_entry_chars=1024**2)


def _parse_flow_data(text: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Shared by every prediction on the same flow, so read-only: ``Node.from_json`` copies what it keeps."""
    return _flow_data_cache.get(text)
