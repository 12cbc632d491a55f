"""Vector upsert, then retrieval: what was upserted into a chatflow is what its answers cite.

`POST /vector/upsert/{id}` loads the chatflow's documents into its vector store and answers the
indexing counts; a prediction that asks about them must return them as `sourceDocuments`
(`returnSourceDocuments`). Only a chatflow this run created is upserted into.
"""

from __future__ import annotations

import pytest

from conformance.fixtures import RETRIEVAL_TEXT
from conformance.semantics.support import body_json, expect_status, new_chat_id, predict
from conformance.violations import expect

pytestmark = pytest.mark.flowise(area="vector", tags=("vector", "prediction"), writes=True, requires=("retrieval",))


def test_upsert_then_retrieve(flowise_client, flowise_caps, flowise_ledger, flowise_spec) -> None:
    """Upsert counts documents; a question about them is answered with them as sources."""
    client, chatflow = flowise_client, flowise_caps.retrieval_chatflow
    response = client.post(f"/vector/upsert/{chatflow}", json={})
    expect_status(client, response, 200, check="vector_upsert_is_accepted", operation="vectorUpsert")
    result = body_json(client, response, check="vector_upsert_is_accepted", operation="vectorUpsert")
    validate = flowise_spec.validator("#/components/schemas/VectorUpsertResponse")
    expect(validate(result), check="vector_upsert_matches_schema", operation="vectorUpsert", exchange=client.exchange_of(response))
    added = result.get("numAdded", 0) if isinstance(result, dict) else 0
    expect(
        isinstance(added, int) and (added > 0 or result.get("numSkipped", 0) > 0),
        check="vector_upsert_indexes_documents",
        operation="vectorUpsert",
        message=f"the upsert indexed nothing: {result!r}",
        exchange=client.exchange_of(response),
    )
    response, data = predict(
        client, chatflow, {"question": "Who keeps the conformance lighthouse on Quillsby Point?", "chatId": new_chat_id(flowise_ledger, "rag")}
    )
    sources = data.get("sourceDocuments")
    expect(
        isinstance(sources, list) and any("Oriel Vantwerp" in str(doc.get("pageContent", "")) for doc in sources if isinstance(doc, dict)),
        check="retrieval_returns_upserted_documents",
        operation="createPrediction",
        message=f"sourceDocuments do not hold the upserted text {RETRIEVAL_TEXT[:40]!r}...: {str(sources)[:300]}",
        exchange=client.exchange_of(response),
    )
