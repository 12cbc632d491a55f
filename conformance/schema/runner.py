"""Run schemathesis over the spec against the target, with the run's guard, checks and reporting.

One run per session covers every phase (examples, coverage, fuzzing, stateful). It is driven
through schemathesis' engine, the same one its CLI uses, so all phases and checks behave exactly as
documented there; this module only adds what the suite needs around it: the write guard, the
suite's checks, progress lines, outcomes per (operation, check), and schemathesis' own artefacts.

It also keeps schemathesis within the run's key (`permissions.py`): operations the key is known to
lack are left out (reported as skipped, the permission named), as are creates whose delete it lacks
(the run would leave them behind); generated API keys ask only for permissions the key holds (the
spec's `Permission` enum is narrowed to them, or key creation is left out when none is known); and
an operation the target refused for want of a permission every time it was asked is reported as out
of reach instead of as passed.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.exchange import Exchange
from conformance.families import FAMILIES
from conformance.ledger import Ledger
from conformance.outcomes import Outcome
from conformance.permissions import GRANTING, KeyPermissions, Reach
from conformance.profile import TargetProfile
from conformance.schema.artefacts import SchemathesisArtefacts
from conformance.schema.checks import PermissionTally, permission_check, registered_checks
from conformance.schema.collector import LAYER, EventCollector, OperationVerdict
from conformance.schema.config import build_config
from conformance.schema.formats import registered_formats
from conformance.schema.guard import EXECUTION_ITEM, WriteGuard, is_negative
from conformance.schema.resend import CutAnswers, resending_sessions
from conformance.spec import SpecIndex
from conformance.version import VersionProfile
from contract.deviations import Deviations

__all__ = ["SchemaRun", "run_schema_layer", "without_multipart"]


@dataclass
class SchemaRun:
    """The schema layer's result: outcomes, per-operation verdicts, and what was written."""

    collector: EventCollector
    outcomes: list[Outcome]
    artefacts: dict[str, Path] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)

    def verdict(self, operation_id: str) -> OperationVerdict:
        return self.collector.verdict(operation_id)

    @property
    def phases(self) -> dict[str, str]:
        return self.collector.phases


def _select(schema: Any, profile: TargetProfile, excluded: dict[str, str] | None = None) -> Any:
    if profile.read_only:
        schema = schema.include(method="GET")
    if profile.only:
        schema = schema.include(tag=list(profile.only))
    if excluded:
        schema = schema.exclude(operation_id=sorted(excluded))
    return schema


def out_of_reach(spec: SpecIndex, permissions: KeyPermissions | None, profile: TargetProfile) -> dict[str, str]:
    """Operations schemathesis must not be sent to with this key, each with the reason."""
    if permissions is None or not profile.api_key:
        return {}
    excluded: dict[str, str] = {}
    for operation in spec:
        if permissions.reach(operation) is Reach.LACKING:
            excluded[operation.operation_id] = f"out of this key's reach: {permissions.why(operation)}"
    for family in FAMILIES.values():
        create, delete = spec.find("POST", family.collection), spec.find("DELETE", family.item)
        if create is None or delete is None or create.operation_id in excluded:
            continue
        if permissions.reach(delete) is Reach.LACKING:
            excluded[create.operation_id] = (
                f"out of this key's reach: the run could not delete what it creates ({permissions.why(delete)})"
            )
    if not permissions.grantable():
        for operation_id in sorted(GRANTING):
            if operation_id in spec.by_id:
                excluded.setdefault(
                    operation_id,
                    "out of this key's reach: no permission is known to be the key's own, so no key within "
                    "its permissions can be generated",
                )
    return excluded


def _deletable(spec: SpecIndex, permissions: KeyPermissions | None) -> Callable[[str], bool]:
    """Whether the key may find (list) and delete a family's resources whose ids the run never sees
    (anything but known to lack either)."""

    def can_delete(kind: str) -> bool:
        family = FAMILIES.get(kind)
        if family is None:  # an execution: no create of its own, deleted by id (its id is always answered)
            needed = [spec.find("DELETE", EXECUTION_ITEM)]
        else:
            needed = [spec.find("DELETE", family.item), spec.find("GET", family.collection)]
        return permissions is None or all(op is None or permissions.reach(op) is not Reach.LACKING for op in needed)

    return can_delete


def _within_key(document: dict[str, Any], permissions: KeyPermissions | None) -> dict[str, Any]:
    """The spec as schemathesis reads it: generated API keys ask only for permissions the key holds."""
    if permissions is None:
        return document
    schema = (document.get("components", {}).get("schemas", {}) or {}).get("Permission")
    held = permissions.grantable()
    if isinstance(schema, dict) and isinstance(schema.get("enum"), list) and held:
        narrowed = [value for value in schema["enum"] if value in held] or held
        schema["enum"] = narrowed
    return document


def _network_error_hook(collector: EventCollector) -> Callable[..., None]:
    def after_network_error(context: Any, case: Any, request: Any) -> None:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        collector.network_errors[collector.operation_id(case.operation.label)] = Exchange.build(
            method=str(request.method),
            url=str(request.url),
            request_headers=list(request.headers.items()),
            request_body=body,
            error=f"timeout or connection error after {case.operation.schema.config.request_timeout}s",
        )

    return after_network_error


def without_multipart(document: dict[str, Any]) -> list[str]:
    """Take `multipart/form-data` out of every request body of `document` (in place); returns the
    operations it was the only media type of, which schemathesis must then leave out."""
    alone = []
    for item in (document.get("paths") or {}).values():
        for operation in (item or {}).values():
            content = (operation.get("requestBody") or {}).get("content") if isinstance(operation, dict) else None
            if isinstance(content, dict) and content.pop("multipart/form-data", None) is not None and not content:
                alone.append(str(operation.get("operationId")))
    return alone


REWRITE_SENSITIVE = frozenset({"RejectedPositiveData", "EnsureResourceAvailability", "UseAfterFree"})


def _json_body_is_valid(spec: SpecIndex, case: Any) -> bool | None:
    """Whether a JSON body as sent is valid for its operation (None when that cannot be told)."""
    operation = spec.get(case.operation.schema.get_operation_id(case.operation) or "")
    if operation is None or not str(getattr(case, "media_type", "") or "").startswith("application/json"):
        return None
    pointer = f"#/paths/{operation.path.replace('~', '~0').replace('/', '~1')}/{operation.method.lower()}"
    try:
        validate = spec.validator(pointer + "/requestBody/content/application~1json/schema", formats=True)
    except Exception:
        return None
    return not validate(case.body)


def _path_params_are_valid(spec: SpecIndex, case: Any) -> bool | None:
    """Whether the path parameters as sent satisfy their schemas (formats included); schemathesis'
    coverage phase sometimes sends a "positive" id that is not a uuid."""
    operation = spec.get(case.operation.schema.get_operation_id(case.operation) or "")
    values = getattr(case, "path_parameters", None) or {}
    if operation is None or not values:
        return None
    base = f"#/paths/{operation.path.replace('~', '~0').replace('/', '~1')}/{operation.method.lower()}/parameters"
    for index, param in enumerate(operation.raw.get("parameters", [])):
        pointer = f"{base}/{index}"
        if "$ref" in param:
            pointer = param["$ref"]
            param = spec.resolve(pointer)
        if param.get("in") != "path" or param.get("name") not in values:
            continue
        value: Any = values[param["name"]]
        if (param.get("schema") or {}).get("type") == "integer":
            try:
                value = int(value)
            except (TypeError, ValueError):
                return False
        try:
            if spec.validator(pointer + "/schema", formats=True)(value):
                return False
        except Exception:
            return None
    return True



def unjudgeable_failures(spec: SpecIndex, guard: WriteGuard) -> Callable[..., bool]:
    """A `filter_failure` hook dropping findings that say nothing about the target:

    - "accepted negative data" for a multipart body: multipart sends every field as text, so a
      value schemathesis negated (a number where a string is due) usually arrives as a valid one,
      and the server is right to accept it (schemathesis already reasons so for urlencoded forms);
    - "rejected positive data" for a JSON body or path parameter that, as sent, does not satisfy the
      spec's schema (a generated body that lost a required property, an id that is not a uuid): a
      refusal is then the right answer;
    - "rejected positive data", "created resource not found" and "use after free" on a request
      the write guard rewrote (an id named a resource the run may not touch, so the request went
      elsewhere and the relation between its ids is broken);
    - "use after free" answered with an empty list: a collection whose members were deleted
      (`DELETE /chatmessage/{id}`) is rightly empty, not gone;
    - a response-schema violation on a request generated as negative data and answered 2xx: the
      server echoed what it should have refused, which `negative_data_rejection` already reports;
    - a response-schema violation inside a resource such a request wrote (a later `GET` or list
      showing the stored junk): the same finding again.
    """

    def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
        kind = type(failure).__name__
        media_type = str(getattr(case, "media_type", "") or "")
        if kind == "AcceptedNegativeData" and media_type.startswith("multipart/form-data"):
            return False
        if kind == "RejectedPositiveData" and (
            _json_body_is_valid(spec, case) is False or _path_params_are_valid(spec, case) is False
        ):
            return False
        if kind in REWRITE_SENSITIVE and str(case.id) in guard.rewritten_cases:
            return False
        if kind == "JsonSchemaError" and is_negative(case) and 200 <= getattr(response, "status_code", 0) < 300:
            # The server accepted schema-violating input and echoed it back: that is one finding,
            # `negative_data_rejection` (a target without input validation), not a second one here.
            return False
        if kind == "JsonSchemaError" and guard.tainted and _inside_tainted(response, failure, guard.tainted):
            return False
        if kind == "UseAfterFree" and getattr(response, "status_code", None) == 200:
            try:
                return json.loads(response.content or b"null") != []
            except ValueError:
                return True
        return True

    return filter_failure


def _inside_tainted(response: Any, failure: Any, tainted: set[str]) -> bool:
    """Whether the failing value lies in an object (the body or one on the path to the value) whose
    ``id`` is one a request generated as invalid wrote."""
    try:
        node: Any = json.loads(response.content or b"null")
    except ValueError:
        return False
    for step in [*(getattr(failure, "instance_path", None) or []), None]:
        if isinstance(node, dict) and node.get("id") in tainted:
            return True
        if step is None:
            break
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False
    return False


def _progress_line(event: Any, collector: EventCollector, started: float) -> str | None:
    from schemathesis.engine import events

    elapsed = time.monotonic() - started
    if isinstance(event, events.PhaseStarted):
        return f"schemathesis: {event.phase.name.value} phase started ({elapsed:.0f}s)"
    if isinstance(event, events.PhaseFinished):
        return f"schemathesis: {event.phase.name.value} phase {event.status.value} ({elapsed:.0f}s)"
    return None


def run_schema_layer(
    *,
    profile: TargetProfile,
    spec: SpecIndex,
    deviations: Deviations,
    ledger: Ledger,
    report_dir: Path,
    progress: Callable[[str], None] = lambda line: None,
    seed: int | None = None,
    permissions: KeyPermissions | None = None,
    attribute: Callable[..., Any] | None = None,
    behind_proxy: bool = False,
    version: VersionProfile | None = None,
) -> SchemaRun:
    """Run every schemathesis phase once against the profile's target and collect the outcomes.

    Behind a proxy, an answer the proxy cut off mid-body is sent once more (`resend.py`). On a release
    that a malformed multipart body stops (`VersionProfile.multipart_crashes`), no multipart body is
    generated (`without_multipart`)."""
    import schemathesis
    from schemathesis.engine import from_schema
    from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER

    config = build_config(profile, seed=seed)
    excluded = out_of_reach(spec, permissions, profile)
    document = _within_key(copy.deepcopy(spec.document), permissions)
    if version is not None:
        for operation_id, reason in version.left_out().items():
            if operation_id in spec.by_id:
                excluded.setdefault(operation_id, reason)
    if version is not None and version.multipart_crashes:
        for operation_id in without_multipart(document):
            excluded.setdefault(operation_id, f"left out on {version.name}: a malformed multipart body stops the "
                                "server (multer before 2.0.2, CVE-2025-7338); docs/real-flowise.md#multipart-crash")
    schema = _select(schemathesis.openapi.from_dict(document, config=config), profile, excluded)
    collector = EventCollector(spec, deviations, attribute)
    for operation_id, reason in excluded.items():
        collector.skips[operation_id].add(reason)
    tally = PermissionTally()
    extra_checks = (permission_check(spec, permissions, tally),) if permissions is not None and profile.api_key else ()
    capabilities = profile.capabilities
    guard = WriteGuard(
        ledger=ledger,
        spec=spec,
        read_only=profile.read_only,
        answering_chatflow=capabilities.answering_chatflow,
        prediction_ids=profile.chatflow_ids,
        can_delete=_deletable(spec, permissions) if profile.api_key else (lambda kind: True),
    )
    schema.hooks.register_hook_with_name(guard.after_call, "after_call")
    schema.hooks.register_hook_with_name(_network_error_hook(collector), "after_network_error")
    schema.hooks.register_hook_with_name(unjudgeable_failures(spec, guard), "filter_failure")
    # `before_call` is only dispatched globally; it is registered for this run only.
    GLOBAL_HOOK_DISPATCHER.register_hook_with_name(guard.before_call, "before_call")
    artefacts = SchemathesisArtefacts(report_dir, schema.config)
    started = time.monotonic()
    cut = CutAnswers()
    try:
        with (registered_checks(spec, extra_checks) as names, registered_formats(),
              resending_sessions(cut, enabled=behind_proxy)):
            stream = from_schema(schema).execute()
            try:
                for event in stream:
                    collector.handle(event)
                    artefacts.handle(event)
                    line = _progress_line(event, collector, started)
                    if line:
                        progress(line)
            finally:
                # On Ctrl-C or an error: tell the engine's workers to stop, then end the generator.
                stream.stop()
                stream.generator.close()
    finally:
        GLOBAL_HOOK_DISPATCHER.unregister(guard.before_call)
        artefacts.close()
    if permissions is not None:
        refused = permissions.refused_operations()
        for operation_id in tally.always_refused():
            if operation_id in refused:
                collector.out_of_reach[operation_id] = f"out of this key's reach: {refused[operation_id]}"
    notes: dict[str, object] = {
        "schemathesis": f"{schemathesis.__version__}, seed {schema.config.seed}, "
        f"{collector.scenarios} scenarios in {time.monotonic() - started:.1f}s, stop: {collector.stop_reason}",
        "schemathesis phases": ", ".join(f"{name}: {status}" for name, status in collector.phases.items()),
        "suite checks run by schemathesis": ", ".join(names),
        "write guard": f"{guard.rewritten} foreign ids replaced in writing requests",
    }
    if artefacts.error:
        notes["schemathesis artefacts"] = artefacts.error
    outcomes = collector.outcomes()
    if cut.resent:
        notes["answers cut by the proxy"] = cut.summary()
        outcomes.append(_cut_outcome(cut))
    return SchemaRun(collector=collector, outcomes=outcomes, artefacts=artefacts.paths, notes=notes)


def _cut_outcome(cut: CutAnswers) -> Outcome:
    """The resends as the proxy's doing (docs/deployment.md#answers-cut-off)."""
    from conformance.deployment import REFERENCE
    from conformance.outcomes import DeviationRef, Status

    ref = DeviationRef(id="proxy-cut-answer", reference=f"{REFERENCE}#answers-cut-off",
                       summary="the proxy aborted answers mid-body; each was sent once more")
    return Outcome(LAYER, "(transport)", "answers_complete", Status.PROXY, cut.summary(), ref,
                   source="schemathesis")
