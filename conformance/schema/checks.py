"""The suite's own checks, run by schemathesis on every response next to its built-in ones.

Each one adapts a pure check from `conformance.checks` to schemathesis' `(ctx, response, case)`
signature and raises a `Violation` (an `AssertionError`, which schemathesis records as a failure
under the check's name). They are registered with schemathesis only for the duration of a run and
removed afterwards, so importing this module changes nothing for other schemathesis users in the
same process.

With the run's key permissions (`permissions.py`), `permission_is_honoured` reads every answer too:
it learns from it what the key holds, counts per operation how many answers were refusals for want
of a permission (an operation refused every time is out of the key's reach, see `runner.py`), and
fails a refusal the key's permissions do not explain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from conformance.checks import errors, sse
from conformance.exchange import Exchange
from conformance.permissions import KeyPermissions
from conformance.spec import SpecIndex
from conformance.violations import Violation, expect

__all__ = ["CHECK_NAMES", "registered_checks"]


def _headers(response: Any) -> list[tuple[str, str]]:
    """schemathesis keeps headers as name -> list of values."""
    result = []
    for name, values in (response.headers or {}).items():
        for value in values if isinstance(values, list) else [values]:
            result.append((name, value))
    return result


def _operation(case: Any) -> Any:
    return case.operation.schema.get_operation_id(case.operation)


def _exchange(response: Any, case: Any) -> Exchange | None:
    """The exchange of one schemathesis response, for a contradiction found later (best effort)."""
    try:
        request = response.request
        body = request.body.encode() if isinstance(request.body, str) else request.body
        return Exchange.build(
            method=str(request.method),
            url=str(request.url),
            request_headers=list(request.headers.items()),
            request_body=body,
            status=response.status_code,
            response_headers=_headers(response),
            response_body=response.content,
        )
    except Exception:  # an attribute schemathesis moved must not break the run
        return None


class PermissionTally:
    """Per operation: answers to the run's key, and how many were refusals for want of a permission."""

    def __init__(self) -> None:
        self.answered: dict[str, int] = {}
        self.refused: dict[str, int] = {}

    def always_refused(self) -> list[str]:
        return [op for op, count in self.answered.items() if count and self.refused.get(op, 0) == count]


def permission_check(spec: SpecIndex, permissions: KeyPermissions, tally: PermissionTally) -> Callable[..., None]:
    def permission_is_honoured(ctx: Any, response: Any, case: Any) -> None:
        """A 403 Forbidden only for a permission the key lacks (and a 2xx only for one it holds)."""
        operation = spec.get(_operation(case) or "")
        if operation is None:
            return
        sent = str(getattr(getattr(response, "request", None), "method", "") or "").upper()
        if sent and sent != operation.method:
            # A probe of an undeclared method (`TRACE` for unsupported_method) answers for the path, not
            # for this operation: Flowise 3.0's UI page for it proves no permission (seen on 3.0.13).
            return
        body = getattr(case, "body", None)
        requested = body.get("permissions") if isinstance(body, dict) else None
        refused, found = permissions.observe(
            operation,
            response.status_code,
            response.content,
            _exchange(response, case),
            requested=requested if isinstance(requested, list) else None,
        )
        op_id = operation.operation_id
        tally.answered[op_id] = tally.answered.get(op_id, 0) + 1
        if refused:
            tally.refused[op_id] = tally.refused.get(op_id, 0) + 1
        if found is not None and found.operation == op_id:
            # A contradiction about another operation (this success shows an earlier refusal was
            # wrong) is reported under that operation at the end of the run.
            permissions.mark_reported(found)
            raise Violation(found.message, check=found.check, operation=found.operation)

    return permission_is_honoured


def _build(spec: SpecIndex) -> list[Callable[..., None]]:
    optional_auth = {operation.operation_id for operation in spec if operation.optional_auth}
    gated = {operation.operation_id for operation in spec if operation.needs_key}
    validate_event = spec.event_validator

    def error_body_has_flowise_shape(ctx: Any, response: Any, case: Any) -> None:
        """4xx/5xx from the error handler: `{statusCode, success: false, message, stack}`."""
        if response.status_code in {401, 403}:
            return
        expect(
            errors.error_body_has_flowise_shape(response.status_code, _headers(response), response.content),
            check="error_body_has_flowise_shape",
            operation=_operation(case),
        )

    def unauthorized_body_is_flowise(ctx: Any, response: Any, case: Any) -> None:
        """A 401 on an operation behind the auth gate is exactly `{"error": "Unauthorized Access"}`.

        Public operations that answer 401 themselves (`/verify/apikey`, `/chatflows/apikey`) and the
        chatflow-bound key of prediction use other documented bodies, which the response schema
        check judges; this check is about the gate.
        """
        if response.status_code != 401 or _operation(case) not in gated:
            return
        expect(
            errors.unauthorized_body_is_flowise(401, _headers(response), response.content),
            check="unauthorized_body_is_flowise",
            operation=_operation(case),
        )

    def forbidden_body_is_flowise(ctx: Any, response: Any, case: Any) -> None:
        """403 from RBAC is exactly `{"message": "Forbidden"}` (prediction's origin check aside)."""
        if response.status_code != 403 or _operation(case) in optional_auth:
            return
        expect(
            errors.forbidden_body_is_flowise(403, _headers(response), response.content),
            check="forbidden_body_is_flowise",
            operation=_operation(case),
        )

    def no_framework_default_error(ctx: Any, response: Any, case: Any) -> None:
        """No 422 and no `{"detail": ...}`: Flowise answers a schema violation with 400 FlowiseError."""
        expect(
            errors.no_framework_default_error(response.status_code, _headers(response), response.content),
            check="no_framework_default_error",
            operation=_operation(case),
        )

    def sse_stream_is_flowise(ctx: Any, response: Any, case: Any) -> None:
        """A text/event-stream answer: Flowise headers and frames, event order, each event valid."""
        content_type = dict((name.lower(), value) for name, value in _headers(response)).get("content-type", "")
        if "text/event-stream" not in content_type:
            return
        parsed = sse.parse_stream(response.content or b"")
        problems = sse.stream_header_problems(_headers(response))
        problems += sse.frame_format_problems(parsed)
        problems += sse.event_schema_problems(parsed.events, validate_event)
        if not getattr(response, "stream_cut_short", False):
            problems += sse.event_order_problems(parsed.events)
        expect(problems[:10], check="sse_stream_is_flowise", operation=_operation(case))

    return [
        error_body_has_flowise_shape,
        unauthorized_body_is_flowise,
        forbidden_body_is_flowise,
        no_framework_default_error,
        sse_stream_is_flowise,
    ]


CHECK_NAMES = (
    "error_body_has_flowise_shape",
    "unauthorized_body_is_flowise",
    "forbidden_body_is_flowise",
    "no_framework_default_error",
    "sse_stream_is_flowise",
)


@contextmanager
def registered_checks(spec: SpecIndex, extra: tuple[Callable[..., None], ...] = ()) -> Iterator[list[str]]:
    """Register the checks (and `extra` ones) with schemathesis for the duration of a run, then remove them."""
    import schemathesis
    from schemathesis.checks import CHECKS

    functions = [*_build(spec), *extra]
    names = []
    try:
        for function in functions:
            schemathesis.check(function)
            names.append(function.__name__)
        yield names
    finally:
        for name in names:
            if name in CHECKS.get_all_names():
                CHECKS.unregister(name)
