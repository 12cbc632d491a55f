"""``--quirks flowise-3.0`` and ``--quirks flowise-2.2``: each release line reproduces the spec notes that
hold for it (a note's ``versions``), and the notes without ``versions`` on every line."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from mockserver import create_app
from mockserver.settings import KNOWN_QUIRKS
from mockserver.spec import Spec
from tests.mockserver.conftest import asgi_client, mock_settings

FLOW = {"name": "q", "type": "CHATFLOW", "flowData": '{"nodes":[],"edges":[]}'}


def test_every_supported_line_has_a_quirks_set() -> None:
    assert KNOWN_QUIRKS == ("flowise-3.1", "flowise-3.0", "flowise-2.2")
    assert [mock_settings(quirks=name).quirks_line for name in KNOWN_QUIRKS] == ["3.1", "3.0", "2.2"]
    assert mock_settings().quirks_line is None
    with pytest.raises(ValidationError, match="unknown quirks set 'flowise-2.1'"):
        mock_settings(quirks="flowise-2.1")


def test_a_note_holds_on_the_lines_it_names(spec: Spec) -> None:
    document = copy.deepcopy(spec.document)
    note = {"id": "missing-question-accepted", "behaviour": "x", "reference": "y", "versions": ["3.1"]}
    document["paths"]["/prediction/{id}"]["post"]["x-flowise-upstream"] = [note]
    op = Spec(document).operations["createPrediction"]
    assert op.upstream_ids_for("3.1") == {"missing-question-accepted"}
    assert op.upstream_ids_for("2.2") == set()
    assert op.upstream_ids_for(None) == {"missing-question-accepted"}  # every note, whatever its lines


@pytest.mark.parametrize(("quirks", "tagged", "status"), [
    ("flowise-3.1", ["3.1"], 200),   # the note names the line: reproduced
    ("flowise-2.2", ["3.1"], 400),   # it does not: the contract holds
    ("flowise-2.2", None, 200),      # no versions: every line
    ("flowise-3.0", ["3.0", "2.2"], 200),
])
async def test_quirks_follow_the_notes_versions(spec: Spec, admin_headers: dict[str, str], quirks: str,
                                                tagged: list[str] | None, status: int) -> None:
    document = copy.deepcopy(spec.document)
    notes = document["paths"]["/prediction/{id}"]["post"]["x-flowise-upstream"]
    for note in notes:
        if note["id"] == "missing-question-accepted":
            if tagged is None:
                note.pop("versions", None)
            else:
                note["versions"] = tagged
    app: Any = create_app(mock_settings(fast=True, quirks=quirks), spec=Spec(document))
    async with asgi_client(app) as client:
        flow = (await client.post("/chatflows", headers=admin_headers, json=FLOW)).json()["id"]
        answer = await client.post(f"/prediction/{flow}", json={})
    assert answer.status_code == status, answer.text
