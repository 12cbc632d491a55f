"""What the document store's loaders and splitters do, in the mock: read text inputs, split them into chunks.

Flowise hands a loader entry to a loader component (``plainText``, ``txtFile``, ``pdfFile``...) with an
optional splitter; files travel inside the loader config as data URIs
(``data:<mime>;base64,<data>,filename:<name>``), and once processed they are stored and the config says
``FILE-STORAGE::["<name>"]`` instead. The mock reads any of those inputs as UTF-8 text (a binary file is a
400 naming it), splits with the recursive character splitter when a splitter is configured (no splitter:
one chunk per input, as Flowise) and applies the loader's ``metadata`` and ``omitMetadataKeys``.
Private to the document-store handlers (the leading underscore keeps it out of handler discovery).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile

from mockserver.errors import FlowiseError
from mockserver.llm.chunking import (
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_SEPARATORS,
    split_documents,
)
from mockserver.resources.attachments import decode_text, safe_filename, store_file
from mockserver.store.db import json_object, new_id, now_iso

__all__ = ["UpsertRequest", "flag", "json_field", "load_and_split", "read_upload", "remove_stored_file",
           "store_files", "top_k", "upsert_flow_data", "uses_stored_files"]

STORED = "FILE-STORAGE::"
#: Component labels Flowise stores as ``loaderName``/``splitterName`` (unknown names keep the name).
LABELS = {
    "plainText": "Plain Text", "txtFile": "Text File", "file": "File Loader", "jsonFile": "Json File",
    "jsonlinesFile": "Json Lines File", "csvFile": "Csv File", "pdfFile": "Pdf File", "docxFile": "Docx File",
    "recursiveCharacterTextSplitter": "Recursive Character Text Splitter",
    "characterTextSplitter": "Character Text Splitter", "markdownTextSplitter": "Markdown Text Splitter",
    "tokenTextSplitter": "Token Text Splitter",
}
#: Flowise's ``mapExtToInputField``: which loader input an uploaded file fills, by extension.
_FIELD_BY_EXT = {".pdf": "pdfFile", ".json": "jsonFile", ".jsonl": "jsonlinesFile", ".csv": "csvFile",
                 ".docx": "docxFile", ".doc": "docxFile"}

log = logging.getLogger("flowise-mock")


def flag(value: Any) -> bool:
    """A boolean field that multipart bodies carry as text (``"true"``)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def json_field(item: dict[str, Any], key: str) -> dict[str, Any] | None:
    """An object field, sent as an object (JSON body) or as its JSON text (multipart)."""
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise FlowiseError(400, f"Invalid JSON in field '{key}': {exc}") from exc
    if not isinstance(value, dict):
        raise FlowiseError(400, f"Invalid field '{key}': expected a JSON object")
    return value


def _metadata(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    parsed = json_field({"metadata": value}, "metadata") if isinstance(value, str) else value
    if not isinstance(parsed, dict):
        raise FlowiseError(400, "Error: Invalid metadata")
    return parsed


@dataclass
class UpsertRequest:
    """One item of an upsert or refresh (Flowise's ``IDocumentStoreUpsertData``), JSON or multipart."""

    doc_id: str | None
    replace_existing: bool
    metadata: dict[str, Any]
    selections: dict[str, dict[str, Any] | None]
    loader_name: str | None

    @classmethod
    def parse(cls, item: dict[str, Any]) -> UpsertRequest:
        keys = ("loader", "splitter", "embedding", "vectorStore", "recordManager")
        return cls(doc_id=item.get("docId") or None, replace_existing=flag(item.get("replaceExisting")),
                   metadata=_metadata(item.get("metadata")), selections={k: json_field(item, k) for k in keys},
                   loader_name=item.get("loaderName") or None)

    def loader_data(self, base: dict[str, Any], uploads: list[tuple[str, str, bytes]]) -> dict[str, Any]:
        """The loader entry fields: ``base`` (an existing entry) overridden by this request and its files."""
        data: dict[str, Any] = {k: base.get(k) for k in ("loaderId", "loaderName", "splitterId", "splitterName", "credential",
                                         "files")}
        config = dict(base.get("loaderConfig") or {})
        splitter_config = dict(base.get("splitterConfig") or {})
        loader, splitter = self.selections["loader"], self.selections["splitter"]
        if loader is not None:  # a selection without a name (even `{}`) is the plain-text loader
            name = str(loader.get("name") or "plainText")
            data["loaderId"], data["loaderName"] = name, LABELS.get(name, name)
            config.update(loader.get("config") or {})
        if splitter is not None:
            name = str(splitter.get("name") or "recursiveCharacterTextSplitter")
            data["splitterId"], data["splitterName"] = name, LABELS.get(name, name)
            splitter_config.update(splitter.get("config") or {})
        fields: dict[str, list[str]] = {}
        for name, mime, raw in uploads:
            field = _FIELD_BY_EXT.get(Path(name).suffix.lower(), "txtFile")
            uri = f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')},filename:{name}"
            fields.setdefault(field, []).append(uri)
        for field, uris in fields.items():
            config[field] = json.dumps(uris)
        if fields and not data["loaderId"]:
            data["loaderId"] = next(iter(fields))
            data["loaderName"] = LABELS.get(data["loaderId"], data["loaderId"])
        if self.metadata:
            config["metadata"] = self.metadata
        if self.loader_name:
            data["loaderName"] = self.loader_name
        if not data["loaderId"]:
            raise FlowiseError(400, "Loader not configured: give a loader, a docId or files")
        return {**data, "loaderConfig": config, "splitterConfig": splitter_config or None}

    def vector_configs(self) -> dict[str, str]:
        """Store columns for the embedding/vector store/record manager selections this request carries."""
        columns = {"embedding": "embeddingConfig", "vectorStore": "vectorStoreConfig",
                   "recordManager": "recordManagerConfig"}
        return {column: json.dumps({"config": sel.get("config") or {}, "name": sel.get("name")}, separators=(",", ":"))
                for key, column in columns.items() if (sel := self.selections[key])}


async def read_upload(upload: UploadFile) -> tuple[str, str, bytes]:
    name = upload.filename or "file"
    return name, upload.content_type or mimetypes.guess_type(name)[0] or "text/plain", await upload.read()


def uses_stored_files(config: dict[str, Any]) -> bool:
    return any(isinstance(v, str) and v.startswith(STORED) for v in config.values())


def _data_uris(value: str) -> list[str]:
    if value.startswith("[") and value.endswith("]"):
        try:
            items = json.loads(value)
        except ValueError:
            return []
        return [v for v in items if isinstance(v, str) and v.startswith("data:")] if isinstance(items, list) else []
    return [value] if value.startswith("data:") and ";base64," in value else []


def _decode_uri(uri: str) -> tuple[str, str, bytes]:
    parts = uri.split(",")
    name = parts[-1].split(":", 1)[1] if len(parts) > 2 and parts[-1].startswith("filename:") else "file"
    payload = parts[-2] if len(parts) > 2 else parts[-1]
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FlowiseError(400, f"File {name}: invalid base64 data") from exc
    return name, parts[0][5:].split(";")[0] or "application/octet-stream", raw


def _stored_names(value: str) -> list[str]:
    names = value[len(STORED):]
    if names.startswith("["):
        try:
            parsed = json.loads(names)
        except ValueError:
            return []
        return [str(n) for n in parsed] if isinstance(parsed, list) else []
    return [names]


def _files(config: dict[str, Any], files_dir: Path | None,
           stored: list[dict[str, Any]]) -> Iterator[tuple[str, str, bytes]]:
    """Every (name, mime, bytes) the config carries, data URIs and stored files alike."""
    for value in config.values():
        if not isinstance(value, str):
            continue
        if value.startswith(STORED):
            for name in _stored_names(value):
                path = files_dir / safe_filename(name) if files_dir else None
                if path is None or not path.is_file():
                    raise FlowiseError(400, f"Stored file {name} not found")
                mime = next((f.get("mimePrefix") for f in stored if f.get("name") == name), None)
                yield name, mime or mimetypes.guess_type(name)[0] or "text/plain", path.read_bytes()
        else:
            yield from (_decode_uri(uri) for uri in _data_uris(value))


def _splitter(source: dict[str, Any], *, zero_overlap_ignored: bool = False) -> tuple[int, int, tuple[str, ...]] | None:
    config: dict[str, Any] = source.get("splitterConfig") or {}
    if not source.get("splitterId") or not config:
        return None
    try:
        size = int(config.get("chunkSize") or DEFAULT_CHUNK_SIZE)
        given = config.get("chunkOverlap")
        if zero_overlap_ignored and not given:  # the splitter node sets it only when truthy
            given = None
        overlap = int(given if given is not None and given != "" else DEFAULT_CHUNK_OVERLAP)
    except (TypeError, ValueError) as exc:
        raise FlowiseError(400, f"Invalid splitter config: {exc}") from exc
    separators = DEFAULT_SEPARATORS
    if source["splitterId"] == "characterTextSplitter":
        separators = (str(config.get("separator") or "\n\n"),)
    elif isinstance(config.get("separators"), str) and config["separators"].startswith("["):
        try:
            separators = tuple(str(s) for s in json.loads(config["separators"])) or DEFAULT_SEPARATORS
        except ValueError:
            pass
    return size, overlap, separators


def load_and_split(source: dict[str, Any], *, files_dir: Path | None, stored_files: list[dict[str, Any]],
                   zero_overlap_ignored: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run a loader entry (or preview body): returns its chunks ``[{pageContent, metadata}]`` and its config.

    ``zero_overlap_ignored`` (quirk ``chunk-overlap-zero-ignored``): ``chunkOverlap: 0`` means LangChain's
    default 200, and an overlap not below the chunk size is Flowise's 500, not the contract's 400."""
    config = dict(source.get("loaderConfig") or {})
    inputs: list[tuple[str, dict[str, Any]]] = []
    for name, _mime, raw in _files(config, files_dir, stored_files):
        text = decode_text(raw)
        if text is None:
            # Flowise would run a PDF/DOCX loader here; the mock's loaders read text only, so a binary file
            # loads nothing (zero chunks) rather than failing a request the contract allows.
            log.warning("document loader: %s is not UTF-8 text; the mock loads nothing from it", name)
            continue
        inputs.append((text, {"source": name}))
    if not inputs and isinstance(config.get("text"), str):
        inputs.append((config["text"], {}))
    # A loader the mock cannot run (a web scraper, a PDF...) loads nothing: zero chunks, not an error, so
    # schema-valid requests are accepted; text comes from plainText's loaderConfig.text or text files.
    extra = _metadata(config.get("metadata"))
    omit = str(config.get("omitMetadataKeys") or "")
    omitted = {k.strip() for k in omit.split(",") if k.strip()}
    splitter = _splitter(source, zero_overlap_ignored=zero_overlap_ignored)
    chunks = []
    for text, meta in inputs:
        if not text.strip():
            continue
        if splitter is None:
            pieces = [(text, meta)]
        else:
            size, overlap, separators = splitter
            try:
                found = split_documents(text, meta, chunk_size=size, chunk_overlap=overlap, separators=separators)
            except ValueError as exc:
                if zero_overlap_ignored:
                    raise FlowiseError(500, f"Error: documentStoreServices.splitIntoChunks - {exc}") from exc
                raise FlowiseError(400, f"Invalid splitter config: {exc}") from exc
            pieces = [(c.page_content, c.metadata) for c in found]
        for content, metadata in pieces:
            merged = dict(extra) if omit.strip() == "*" else {
                k: v for k, v in {**metadata, **extra}.items() if k not in omitted}
            chunks.append({"pageContent": content, "metadata": merged})
    return chunks, config


def store_files(config: dict[str, Any], files_dir: Path) -> list[dict[str, Any]]:
    """Write the config's data-URI files to the store's folder, replacing them by ``FILE-STORAGE::[names]``."""
    entries = []
    for key, value in list(config.items()):
        uris = _data_uris(value) if isinstance(value, str) and not value.startswith(STORED) else []
        names = []
        for uri in uris:
            name, mime, raw = _decode_uri(uri)
            saved = store_file(files_dir, [], name, raw).name
            names.append(saved)
            entries.append({"id": new_id(), "name": saved, "mimePrefix": mime, "size": len(raw),
                            "status": "NEW", "uploaded": now_iso()})
        if uris:
            config[key] = STORED + json.dumps(names, separators=(",", ":"), ensure_ascii=False)
    return entries


def remove_stored_file(files_dir: Path, name: str | None) -> None:
    if name:
        (files_dir / safe_filename(name)).unlink(missing_ok=True)


def top_k(store: dict[str, Any]) -> int:
    """The retriever's k: the vector store config's ``topK``, else 4 (LangChain's default)."""
    try:
        config = json.loads(store.get("vectorStoreConfig") or "{}").get("config") or {}
        return max(int(config.get("topK") or 4), 1)
    except (AttributeError, TypeError, ValueError):
        return 4


def upsert_flow_data(store: dict[str, Any], configs: dict[str, str]) -> dict[str, Any]:
    """The upsert history's ``flowData``: the embedding, vector store and record manager nodes used.

    Flowise records a list of ``{label, name, category, id, paramValues}``; the spec types ``flowData``
    as an object, so the list travels as ``nodes`` of a flow graph.
    """
    nodes: list[dict[str, Any]] = []
    for column, category, default in (("embeddingConfig", "Embeddings", "mockEmbeddings"),
                                      ("vectorStoreConfig", "Vector Stores", "mockVectorStore"),
                                      ("recordManagerConfig", "Record Manager", None)):
        raw = configs.get(column) or store.get(column)
        name = json_object(raw).get("name") or default
        if name:
            nodes.append({"label": LABELS.get(name, name), "name": name, "category": category, "id": f"{name}_0",
                          "paramValues": []})
    return {"nodes": nodes, "edges": []}
