"""Helpers the semantics modules share: requests that fail as named `Violation`s, with the exchange.

A semantics test reads as a list of expectations, each with the name of what it asserts; when one
does not hold, the `Violation` carries the exchange that showed it, so the report prints the curl
command and the response and the deviation catalogue can recognise a known upstream defect.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Collection
from typing import Any

import httpx
import pytest

from conformance.checks import errors as error_checks
from conformance.client import StreamResult, TargetClient
from conformance.fixtures import ProvisionError, create_resource, record_created
from conformance.ledger import Ledger
from conformance.permissions import KeyPermissions
from conformance.violations import Violation, expect

__all__ = [
    "body_json",
    "grantable",
    "create",
    "expect_error_shape",
    "expect_status",
    "new_chat_id",
    "predict",
    "random_id",
    "stream_prediction",
]

_counter = itertools.count(1)


def random_id() -> str:
    """An id that names nothing on any target (a fresh UUID4)."""
    return str(uuid.uuid4())


def new_chat_id(ledger: Ledger, label: str = "chat") -> str:
    """A conversation id that is recognisably this run's and unique within it."""
    chat_id = ledger.name(f"{label}-{next(_counter)}-{uuid.uuid4().hex[:6]}")
    ledger.claim(chat_id)
    return chat_id


def expect_status(
    client: TargetClient,
    response: httpx.Response,
    expected: int | Collection[int],
    *,
    check: str,
    operation: str,
    message: str = "",
) -> None:
    allowed = {expected} if isinstance(expected, int) else set(expected)
    if response.status_code not in allowed:
        wanted = " or ".join(str(code) for code in sorted(allowed))
        detail = f"{message}: " if message else ""
        raise Violation(
            f"{detail}expected {wanted}, got {response.status_code}",
            check=check,
            operation=operation,
            exchange=client.exchange_of(response),
        )


def body_json(client: TargetClient, response: httpx.Response, *, check: str, operation: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise Violation(
            f"response is not JSON ({response.headers.get('content-type', 'no content type')})",
            check=check,
            operation=operation,
            exchange=client.exchange_of(response),
        ) from None


def expect_error_shape(client: TargetClient, response: httpx.Response, *, check: str, operation: str) -> None:
    expect(
        error_checks.error_body_has_flowise_shape(response.status_code, response.headers.items(), response.content),
        check=check,
        operation=operation,
        exchange=client.exchange_of(response),
        message="error body",
    )


def create(client: TargetClient, ledger: Ledger, kind: str, body: dict[str, Any], *, operation: str) -> dict[str, Any]:
    """Create a resource for a test (recorded in the ledger); a refusal is a violation of `operation`.
    What the target's release must not be sent (`VersionProfile.left_out`) skips the test, with the reason."""
    version = getattr(client, "version", None)
    reason = version.left_out().get(operation) if version is not None else None
    if reason:
        pytest.skip(reason)
    try:
        return create_resource(client, ledger, kind, body)
    except ProvisionError as exc:
        exchange = client.exchange_of(exc.response) if exc.response is not None else client.last
        raise Violation(str(exc), check="create_is_accepted", operation=operation, exchange=exchange) from None


def grantable(permissions: KeyPermissions | None, *, avoiding: Collection[str] = ()) -> list[str] | None:
    """Permissions for a key this run creates: one the run's key is known to hold (a key cannot grant
    more than it holds), `chatflows:view` first when it is one. With nothing known yet, `chatflows:view`
    (a refusal then makes the check out of reach); None when the key is known to hold nothing to give."""
    if permissions is None:
        return ["chatflows:view"]
    known = permissions.grantable(avoiding=avoiding)
    if known:
        return ["chatflows:view"] if "chatflows:view" in known else known[:1]
    if permissions.exact:
        return None
    return None if "chatflows:view" in avoiding else ["chatflows:view"]


def record_if_created(ledger: Ledger, kind: str, response: httpx.Response) -> None:
    """A request that should have been refused created something anyway: still clean it up."""
    if response.status_code in (200, 201):
        try:
            data = response.json()
        except ValueError:
            return
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            record_created(ledger, kind, data)


def predict(
    client: TargetClient,
    chatflow: str,
    body: dict[str, Any],
    *,
    auth: bool | str | None = True,
    check: str = "prediction_is_answered",
) -> tuple[httpx.Response, dict[str, Any]]:
    """A JSON prediction that must answer 200 with an object (else a violation of `check`)."""
    return prediction_answer(client, client.post(f"/prediction/{chatflow}", json=body, auth=auth), check=check)


def prediction_answer(client: TargetClient, response: httpx.Response, *,
                      check: str = "prediction_is_answered") -> tuple[httpx.Response, dict[str, Any]]:
    """A prediction's answer, which must be 200 with a JSON object (else a violation of `check`)."""
    expect_status(client, response, 200, check=check, operation="createPrediction")
    data = body_json(client, response, check=check, operation="createPrediction")
    if not isinstance(data, dict):
        raise Violation(
            "answer is not a JSON object", check=check, operation="createPrediction", exchange=client.exchange_of(response)
        )
    return response, data


def expect_answer(client: TargetClient, chatflow: str, body: dict[str, Any], expected: str, *,
                  check: str) -> dict[str, Any]:
    """A JSON prediction whose ``text`` must be ``expected`` (else a violation of ``check``); returns its body."""
    response, data = predict(client, chatflow, body)
    expect(
        data.get("text") == expected,
        check=check,
        message=f"text {data.get('text')!r}; expected {expected!r}",
        exchange=client.exchange_of(response),
    )
    return data


def stream_prediction(client: TargetClient, chatflow: str, body: dict[str, Any]) -> StreamResult:
    """A streaming prediction read to its end; a hang or a cut is a violation of `stream_completes`."""
    result = client.stream("POST", f"/prediction/{chatflow}", json={**body, "streaming": True})
    if not result.completed:
        raise Violation(
            f"the stream did not complete: {result.error}",
            check="stream_completes",
            operation="createPrediction",
            exchange=result.exchange,
        )
    return result


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
