"""The target profile: flags beat the environment, which beats the defaults; bad values stop early."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.errors import ConfigError
from conformance.profile import DEFAULT_EXAMPLES, Capabilities, build_profile, parse_size


def test_flags_beat_environment() -> None:
    env = {"FLOWISE_URL": "http://env:3000", "FLOWISE_API_KEY": "env-key", "FLOWISE_EXAMPLES": "7", "FLOWISE_CHATFLOW_ID": "a,b"}
    profile = build_profile({"url": "http://flag:3000/api/v1/", "examples": 3}, env, run_id="r-1")
    assert profile.base_url == "http://flag:3000" and profile.api_root == "http://flag:3000/api/v1"
    assert profile.api_key == "env-key" and profile.examples == 3 and profile.chatflow_ids == ("a", "b")


def test_defaults() -> None:
    profile = build_profile({}, {"FLOWISE_URL": "https://flowise.example.com"}, run_id="r-2")
    assert profile.examples == DEFAULT_EXAMPLES and not profile.read_only and profile.api_key is None
    assert profile.spec_path.name == "flowise.openapi.yaml"


def test_environment_flags_and_sizes() -> None:
    env = {"FLOWISE_URL": "http://x", "FLOWISE_READ_ONLY": "true", "FLOWISE_STRICT": "1", "FLOWISE_MAX_BODY": "1mb", "FLOWISE_ONLY": "chatflows, prediction", "FLOWISE_REPORT_DIR": "out"}
    profile = build_profile({}, env, run_id="r-3")
    assert profile.read_only and profile.strict and profile.max_body == 1024 * 1024
    assert profile.only == ("chatflows", "prediction") and profile.report_dir == Path("out")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "no BASE_URL"),
        ({"url": "ftp://x"}, "http"),
        ({"url": "http://x?a=1"}, "query"),
        ({"url": "http://x", "examples": "many"}, "examples"),
        ({"url": "http://x", "timeout": 0}, "timeout"),
        ({"url": "http://x", "read_only": "perhaps"}, "boolean"),
        ({"url": "http://x", "max_body": "lots"}, "size"),
        ({"url": "http://x", "seed": -1}, "seed"),
    ],
)
def test_bad_values_stop_early(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_profile(options, {}, run_id="r-4")


def test_a_seed_reaches_schemathesis_and_the_pytest_run() -> None:
    from conformance.cli import pytest_args
    from conformance.schema.config import build_config

    profile = build_profile({}, {"FLOWISE_URL": "http://x", "FLOWISE_SEED": "0"}, run_id="r-5")
    assert profile.seed == 0
    assert build_config(profile).seed == 0
    args = pytest_args(profile, layer="schema", verbose=0)
    assert "--flowise-seed=0" in args
    unseeded = build_profile({}, {"FLOWISE_URL": "http://x"}, run_id="r-6")
    assert unseeded.seed is None and not any(a.startswith("--flowise-seed") for a in pytest_args(unseeded, layer="schema", verbose=0))


def test_parse_size() -> None:
    assert parse_size("50mb") == 50 * 1024**2 and parse_size("512KB") == 512 * 1024 and parse_size("10") == 10


def test_capabilities_say_why() -> None:
    caps = Capabilities().with_reason("streaming", "GET /chatflows-streaming says no")
    assert caps.why_not("streaming") == "GET /chatflows-streaming says no"
    assert "answering" in caps.why_not("answering")
    assert Capabilities(streaming=True).why_not("streaming") is None
    assert "streaming" in Capabilities().to_dict()["missing"]
    with pytest.raises(KeyError):
        caps.why_not("telepathy")
