"""Body size: a JSON body over FLOWISE_FILE_SIZE_LIMIT answers 413 with the Flowise error body.

The limit is the target's configuration, so the test runs only when it is known: `--max-body` for
a remote target, and automatically against the embedded mock (started with a 1 MB limit to keep
the request cheap). The oversize request goes to a chatflow id that names nothing: the body parser
refuses it before any route runs, and if it did not, nothing could be written.
"""

from __future__ import annotations

import pytest

from conformance.semantics.support import expect_error_shape, expect_status, random_id
from conformance.violations import expect

pytestmark = pytest.mark.flowise(area="limits", tags=("prediction",), operation="createPrediction", writes=True)


def test_oversize_body_is_413(flowise_client, flowise_profile) -> None:
    """A JSON body 64 KiB over the limit: 413 `request entity too large`."""
    limit = flowise_profile.max_body
    if not limit:
        pytest.skip("the target's body limit is unknown (pass --max-body, e.g. --max-body 50mb)")
    if limit > 64 * 1024 * 1024:
        pytest.skip(f"--max-body {limit} bytes: too large to send from a test")
    question = "x" * (limit + 64 * 1024)
    response = flowise_client.post(f"/prediction/{random_id()}", json={"question": question}, auth=None)
    expect_status(flowise_client, response, 413, check="oversize_body_is_413", operation="createPrediction")
    expect_error_shape(flowise_client, response, check="oversize_body_is_413", operation="createPrediction")
    expect(
        "request entity too large" in response.text,
        check="oversize_body_is_413",
        message="the message is Flowise's `request entity too large`",
        exchange=flowise_client.exchange_of(response),
    )
