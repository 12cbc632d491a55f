"""Generated API keys are base64url, as Flowise's: a `%` would be answered 400 `Failed to decode param`."""

from __future__ import annotations

import re

from hypothesis import given, settings

from conformance.profile import default_spec_path
from conformance.schema.formats import SPEC_FORMATS
from contract.spec import read_document


def test_the_key_path_parameters_use_the_api_key_format() -> None:
    paths = read_document(default_spec_path())["paths"]
    for path in ("/verify/apikey/{apikey}", "/chatflows/apikey/{apikey}"):
        [param] = [p for p in paths[path]["get"]["parameters"] if p["name"] == "apikey"]
        assert param["schema"]["format"] == "api-key", path


@settings(max_examples=50, deadline=None)
@given(SPEC_FORMATS["api-key"]())
def test_generated_keys_are_base64url(key: str) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]+", key)
