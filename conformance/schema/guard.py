"""Keep schemathesis' writing requests on the run's own resources, and record what they create.

schemathesis draws ids from examples, from earlier responses (a `GET /chatflows` list holds the
operator's chatflows) and from inferred links, so left alone it could `DELETE` or `PUT` a
production resource. Before every writing request this guard replaces any UUID in the path, query
or body that the run did not create by a fresh UUID derived from it (which names nothing), and prefixes the
names of new resources with the run prefix. After every call it records what a create, a
prediction or a feedback produced, so the ledger can delete it at the end. Reads pass untouched.

Flowise ids are UUIDs; a value that is not UUID-shaped cannot name an existing Flowise resource,
so it is left as generated (schemathesis needs those to test validation).

With a scoped key, the guard also keeps the run from creating what the key could not delete again:
a document-store upsert asking for a new store (`createNewDocStore`, which needs no permission of
its own) is sent without that flag when the key may not list and delete stores (the new store's id
is never answered: only the end-of-run sweep finds it).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from conformance.checks.sse import parse_stream
from conformance.families import FAMILIES, Family
from conformance.ledger import Ledger
from conformance.spec import SpecIndex

__all__ = ["EXECUTION_ITEM", "WriteGuard", "is_negative"]

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
PREDICTION = "createPrediction"


#: Writes whose body may turn an assistant into one the run could not delete again.
ASSISTANT_WRITES = frozenset({"createAssistant", "updateAssistant"})
#: Flowise merges whatever an execution update is sent (packages/server/src/services/executions): a new
#: `id` saves a copy under that id, another `workspaceId` or `agentflowId` moves the run's execution out
#: of its cleanup's sight. The guard sends an update without them.
EXECUTION_UPDATE = "updateExecution"
EXECUTION_FIXED = ("id", "workspaceId", "agentflowId")
#: Where an execution is deleted (predictions create executions; no POST does).
EXECUTION_ITEM = "/executions/{id}"


def is_negative(case: Any) -> bool:
    """Whether schemathesis generated ``case`` to violate the schema."""
    mode = getattr(getattr(getattr(case, "meta", None), "generation", None), "mode", None)
    return bool(getattr(mode, "is_negative", False))


class WriteGuard:
    """The `before_call` / `after_call` hooks of one schemathesis run."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        spec: SpecIndex,
        read_only: bool,
        answering_chatflow: str | None = None,
        prediction_ids: Iterable[str] = (),
        can_delete: Callable[[str], bool] = lambda kind: True,
    ) -> None:
        self.ledger = ledger
        self.read_only = read_only
        #: Whether the run's key may delete a resource of a family (by kind) it would create.
        self.can_delete = can_delete
        self.answering = answering_chatflow
        self.prediction_ids = set(prediction_ids) | ({answering_chatflow} if answering_chatflow else set())
        #: Ids this schemathesis run created: the only ones its writes may touch. The run's
        #: fixtures (the answering chatflow above all) are off limits, or a generated DELETE would
        #: take them away from the semantics layer.
        self.created: set[str] = set()
        #: Ids that must never be written to: the run's own fixtures and the operator's chatflows.
        self.protected: set[str] = {entry.id for entry in ledger.entries} | self.prediction_ids
        #: Cases the guard rewrote: how the server answers them says nothing about the ids they had.
        self.rewritten_cases: set[str] = set()
        self.creates: dict[str, Family] = {}
        self.updates: dict[str, Family] = {}
        for family in FAMILIES.values():
            create = spec.find("POST", family.collection)
            update = spec.find("PUT", family.item)
            if create is not None:
                self.creates[create.operation_id] = family
            if update is not None:
                self.updates[update.operation_id] = family
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"flowise-conformance:{ledger.run_id}")
        #: Ids of resources written by requests generated as invalid that the target accepted: what
        #: they store is schemathesis' junk, so a later response showing it says nothing new.
        self.tainted: set[str] = set()
        #: Writing requests whose foreign ids were replaced (reported in the run notes).
        self.rewritten = 0
        self.refused = 0

    # -- before ------------------------------------------------------------------------------------

    def _foreign(self, value: object, operation_id: str | None) -> bool:
        if not isinstance(value, str) or not UUID.match(value):
            return False
        if operation_id == PREDICTION and value in self.prediction_ids:
            return False
        return value in self.protected or value not in self.created

    def _replacement(self, value: str, operation_id: str | None) -> str:
        """A stand-in for a foreign id: mostly the answering chatflow for a prediction, else an id
        derived from the value (deterministic, so Hypothesis sees the same request on replay)."""
        derived = uuid.uuid5(self.namespace, value)
        if operation_id == PREDICTION and self.answering and derived.int % 4:
            return self.answering
        return str(derived)

    def _scrub(self, value: Any, operation_id: str | None) -> Any:
        if isinstance(value, dict):
            return {key: self._scrub(item, operation_id) for key, item in value.items()}
        if isinstance(value, list):
            return [self._scrub(item, operation_id) for item in value]
        if self._foreign(value, operation_id):
            self.rewritten += 1
            return self._replacement(value, operation_id)
        return value

    def before_call(self, context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        method = str(case.method).upper()
        if method in SAFE_METHODS:
            return
        if self.read_only:
            # Never reached: a read-only run selects GET operations only. Refuse loudly if it is.
            self.refused += 1
            raise RuntimeError(f"--read-only run: refusing to send {method} {case.path}")
        operation_id = case.operation.schema.get_operation_id(case.operation)
        for container in ("path_parameters", "query"):
            values = getattr(case, container, None)
            if isinstance(values, dict):
                for name, value in list(values.items()):
                    replaced = self._scrub(value, operation_id)
                    if replaced != value:
                        values[name] = replaced
                        self.rewritten_cases.add(str(case.id))
        body = getattr(case, "body", None)
        if isinstance(body, dict | list):
            scrubbed = self._scrub(body, operation_id)
            if scrubbed != body:
                case.body = scrubbed
                body = scrubbed
                self.rewritten_cases.add(str(case.id))
        if operation_id == PREDICTION and isinstance(body, dict):
            body = self._no_stream_to_nowhere(case, body)
        if operation_id == EXECUTION_UPDATE and isinstance(body, dict) and any(k in body for k in EXECUTION_FIXED):
            body = {key: value for key, value in body.items() if key not in EXECUTION_FIXED}
            case.body = body
        if operation_id in ASSISTANT_WRITES and isinstance(body, dict) and body.get("type") not in (None, "CUSTOM"):
            # An OPENAI/AZURE assistant with a made-up credential cannot be deleted on a real Flowise
            # (`assistant-undeletable`): the run would leave it behind. Only CUSTOM assistants are written.
            body = {**body, "type": "CUSTOM"}
            case.body = body
        family = self.creates.get(operation_id or "") or self.updates.get(operation_id or "")
        if family is not None and isinstance(body, dict):
            renamed = family.renamed(body, self._ours)
            if renamed != body:
                case.body = renamed
        elif isinstance(body, dict):
            named = _name_new_stores(body, self._ours, new_stores=self.can_delete("document_store"))
            if named != body:
                case.body = named

    def _no_stream_to_nowhere(self, case: Any, body: dict[str, Any]) -> dict[str, Any]:
        """Ask for JSON instead of a stream when the chatflow is not one known to answer.

        A real Flowise never answers a streaming prediction that fails before the stream opens
        (`stream-error-hang`): each such request would hold the run for the whole timeout. The
        semantics layer checks that case once, on purpose (`stream_error_answers`).
        """
        chatflow = (getattr(case, "path_parameters", None) or {}).get("id")
        if body.get("streaming") in (True, "true") and chatflow not in self.prediction_ids:
            body = {**body, "streaming": False if body.get("streaming") is True else "false"}
            case.body = body
        return body

    def _ours(self, name: str) -> str:
        return name if self.ledger.is_ours_name(name) else self.ledger.name(name)

    # -- after -------------------------------------------------------------------------------------

    def after_call(self, context: Any, case: Any, response: Any) -> None:
        status = int(getattr(response, "status_code", 0))
        if not 200 <= status < 300:
            return
        operation_id = case.operation.schema.get_operation_id(case.operation)
        data = _payload(response)
        if is_negative(case) and str(case.method).upper() not in SAFE_METHODS:
            self._taint(case, data)
        family = self.creates.get(operation_id or "")
        if family is not None:
            self._record_created(family, case, data)
        elif operation_id == PREDICTION:
            self._record_prediction(case, data)
        elif isinstance(data, dict) and isinstance(data.get("id"), str) and str(case.method).upper() == "POST":
            # Feedback, leads, upserts: rows hanging off the run's chatflows; deleted with them.
            self._own(data["id"])
            self.ledger.claim(data["id"])

    def _taint(self, case: Any, data: Any) -> None:
        ids: list[str] = []
        if str(case.method).upper() in ("PUT", "PATCH"):  # the path names what was written
            ids += [v for v in (getattr(case, "path_parameters", None) or {}).values() if isinstance(v, str)]
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                ids.append(item["id"])
        self.tainted.update(ids)

    def _own(self, value: str) -> None:
        if value not in self.protected:
            self.created.add(value)

    def _record_created(self, family: Family, case: Any, data: Any) -> None:
        items = data if isinstance(data, list) else [data]
        body = getattr(case, "body", None)
        wanted = body.get(family.name_field) if isinstance(body, dict) else None
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            if isinstance(data, list) and family.name_of(item) != wanted:
                continue  # POST /apikey answers with every key: keep only the one just created
            identifier = item["id"]
            self._own(identifier)
            self.ledger.record(family.kind, identifier, family.item_path(identifier), name=family.name_of(item))

    def _record_prediction(self, case: Any, data: Any) -> None:
        chatflow = (getattr(case, "path_parameters", None) or {}).get("id")
        if not isinstance(chatflow, str) or not isinstance(data, dict):
            return
        chat_id = data.get("chatId")
        for key in ("chatMessageId", "executionId"):
            if isinstance(data.get(key), str):
                self._own(data[key])
                self.ledger.claim(data[key])
        execution = data.get("executionId")
        if isinstance(execution, str) and self.can_delete("execution"):
            # Flowise keeps an agentflow's executions when the agentflow is deleted: delete each one.
            self.ledger.record("execution", execution, EXECUTION_ITEM.replace("{id}", execution))
        if isinstance(chat_id, str):
            self._own(chat_id)
            self.ledger.claim(chat_id)
            if not self.ledger.owns(chatflow, kind="chatflow"):
                # A chatflow the operator gave: remove this run's messages, not the chatflow.
                self.ledger.record(
                    "chatmessages",
                    f"{chatflow}:{chat_id}",
                    f"/chatmessage/{chatflow}",
                    params={"chatId": chat_id},
                )


def _name_new_stores(body: dict[str, Any], rename: Any, *, new_stores: bool = True) -> dict[str, Any]:
    """A document-store upsert with `createNewDocStore` creates a store whose id is never answered:
    give it the run's name so the end-of-run sweep finds and deletes it (or, when the run could not
    delete it, ask for no new store)."""
    result = dict(body)
    if result.get("createNewDocStore") in (True, "true") and not new_stores:
        result["createNewDocStore"] = False if result["createNewDocStore"] is True else "false"
    if result.get("createNewDocStore") in (True, "true"):
        store = result.get("docStore") if isinstance(result.get("docStore"), dict) else {}
        name = store.get("name") if isinstance(store.get("name"), str) else "document-store"
        result["docStore"] = {**store, "name": rename(name)}
    items = result.get("items")
    if isinstance(items, list):
        result["items"] = [_name_new_stores(item, rename, new_stores=new_stores) if isinstance(item, dict) else item
                           for item in items]
    return result


def _payload(response: Any) -> Any:
    """The JSON body, or for a stream the `metadata` event's data (it carries chatId and message id)."""
    content = getattr(response, "content", b"") or b""
    content_type = str((getattr(response, "headers", {}) or {}).get("content-type", [""]))
    if "event-stream" in content_type:
        for event in parse_stream(content).events:
            if event.get("event") == "metadata":
                return event.get("data")
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None
