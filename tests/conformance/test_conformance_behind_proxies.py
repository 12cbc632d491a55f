"""The suite against flowise-mock behind real nginx and Caddy (Debian packages), with TLS and HTTP/2.

A correct proxy (the settings the proxies' documentation recommends for event streams) must pass the
whole suite: what the proxy legitimately does is attributed to it, never to Flowise. Each deliberate
misconfiguration must fail the run with a deployment finding. The proxies are started on free
loopback ports with configs, certificates (a throw-away CA) and data in temp folders, and stopped by
their pid; a proxy that is not installed is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.embedded import EMBEDDED_BODY_LIMIT, EmbeddedMock

pytestmark = pytest.mark.slow

pytest.importorskip("trustme", reason="trustme (the dev extra) makes the proxies' throw-away certificates")

from conformance.reference.proxies import skip_reason, start_proxy  # noqa: E402  (after the skip)


@pytest.fixture(scope="module")
def mock() -> Iterator[EmbeddedMock]:
    with EmbeddedMock(env=dict(os.environ)) as server:
        yield server


def _run(url: str, ca: Path, mock: EmbeddedMock, report_dir: Path, *extra: str) -> tuple[int, str, dict]:
    command = [sys.executable, "-m", "conformance.cli", url, "--api-key", mock.api_key, "--ca-bundle", str(ca),
               "--max-body", EMBEDDED_BODY_LIMIT[0], "--report-dir", str(report_dir), "--timeout", "30", *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                          env={k: v for k, v in os.environ.items() if not k.startswith(("FLOWISE_", "MOCK_"))})
    results = report_dir / "results.json"
    data = json.loads(results.read_text()) if results.exists() else {}
    return done.returncode, done.stdout + done.stderr, data


def _proxy(kind: str, mock: EmbeddedMock, variant: str, prefix: str = ""):
    reason = skip_reason(kind)
    if reason:
        pytest.skip(reason)
    return start_proxy(kind, mock.base_url, variant=variant, prefix=prefix)


@pytest.mark.parametrize(("kind", "prefix"), [("nginx", "/flowise"), ("caddy", "")])
def test_suite_passes_through_a_correct_proxy(kind: str, prefix: str, mock: EmbeddedMock, tmp_path: Path) -> None:
    proxy = _proxy(kind, mock, "good", prefix)
    try:
        code, output, results = _run(proxy.url, proxy.ca, mock, tmp_path)
    finally:
        proxy.stop()
    assert code == 0, output[-4000:]
    facts = results["target_facts"]
    assert facts["deployment"]["proxy"] == {"nginx": "nginx", "caddy": "Caddy"}[kind]
    assert facts["deployment"]["http_version"] == "HTTP/2" and facts["deployment"]["scheme"] == "https"
    assert facts["version"]["profile"] == "flowise-3.1"
    assert facts["deployment"]["path_prefix"] == prefix
    proxied = [o for o in results["outcomes"] if o["status"] == "proxy"]
    if kind == "nginx":  # nginx answers TRACE itself and consumes X-Accel-Buffering: the proxy's, reported so
        assert {o["deviation"]["id"] for o in proxied} >= {"proxy-answered", "proxy-headers"}
    html = (tmp_path / "report.html").read_text()
    assert html.index("Verdict per area") < html.index("Details: operation")


MISCONFIGURED = [
    ("nginx", "buffered-sse", "stream_is_not_buffered"),
    ("nginx", "small-body", "body_limit_reaches_flowise"),
    ("nginx", "html-errors", "errors_stay_json"),
    ("caddy", "small-body", "body_limit_reaches_flowise"),
    ("caddy", "html-errors", "errors_stay_json"),
]


@pytest.mark.parametrize(("kind", "variant", "check"), MISCONFIGURED)
def test_misconfigured_proxy_fails_the_deployment(kind: str, variant: str, check: str, mock: EmbeddedMock,
                                                  tmp_path: Path) -> None:
    proxy = _proxy(kind, mock, variant)
    try:
        code, output, results = _run(proxy.url, proxy.ca, mock, tmp_path, "--layer", "semantics")
    finally:
        proxy.stop()
    assert code == 1, output[-4000:]
    failed = {o["check"] for o in results["outcomes"] if o["status"] == "fail"}
    assert check in failed, output[-4000:]


@pytest.mark.parametrize("kind", ["nginx", "caddy"])
def test_stripped_authorization_is_diagnosed(kind: str, mock: EmbeddedMock, tmp_path: Path) -> None:
    proxy = _proxy(kind, mock, "strip-authorization")
    try:
        code, output, _ = _run(proxy.url, proxy.ca, mock, tmp_path, "--layer", "semantics")
    finally:
        proxy.stop()
    assert code == 4, output[-4000:]
    assert "does not forward the Authorization header" in output
    assert mock.api_key not in output


def test_insecure_is_loud_and_both_layers_skip_verification(mock: EmbeddedMock, tmp_path: Path) -> None:
    proxy = _proxy("nginx", mock, "good")
    try:
        command = [sys.executable, "-m", "conformance.cli", proxy.url, "--api-key", mock.api_key, "--insecure",
                   "--layer", "semantics", "--report-dir", str(tmp_path), "--max-body", EMBEDDED_BODY_LIMIT[0]]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        verifying = [part for part in command if part != "--insecure"]
        without = subprocess.run(verifying, capture_output=True, text=True, timeout=600)
    finally:
        proxy.stop()
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "WARNING: --insecure" in done.stderr
    assert without.returncode == 3 and "CERTIFICATE_VERIFY_FAILED" in without.stderr
