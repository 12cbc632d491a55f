"""Proxy recognition and attribution, version profiles, TLS settings and the operator's summary:
pure logic, no network (the real proxies run in test_conformance_behind_proxies.py, marked slow)."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import httpx
import pytest

from conformance.cli import build_parser, pytest_args
from conformance.deployment import (
    Deployment,
    ProxyInfo,
    attribute,
    errors_stay_json,
    generated_by_proxy,
    header_only_problem,
    recognise_proxy,
    self_call_failure,
    stream_timing,
    survey,
)
from conformance.errors import ConfigError
from conformance.exchange import Exchange
from conformance.outcomes import DeviationRef, Outcome, RunReport, Status
from conformance.profile import build_profile
from conformance.reports.html import render_html
from conformance.reports.junit import render_junit
from conformance.reports.summary import area_of, area_verdicts
from conformance.schema.collector import EventCollector
from conformance.tls import resolve_tls
from conformance.version import DEFAULT_PROFILE, choose_profile, parse_version
from contract.deviations import load_deviations

NGINX_405 = ("<html>\r\n<head><title>405 Not Allowed</title></head>\r\n<body>\r\n<center><h1>405 Not Allowed</h1>"
             "</center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n")
NGINX = Deployment(scheme="https", http_version="HTTP/2", proxy=ProxyInfo("nginx", "server: nginx/1.22.1"),
                   fingerprint=frozenset({"vary"}))
CADDY = Deployment(scheme="https", http_version="HTTP/2", proxy=ProxyInfo("Caddy", "server: Caddy"),
                   fingerprint=frozenset({"vary"}))
DIRECT = Deployment(scheme="http", http_version="HTTP/1.1", fingerprint=frozenset({"vary"}))


def exchange(status: int, body: str = "", *, method: str = "GET", headers: dict[str, str] | None = None) -> Exchange:
    return Exchange.build(method=method, url="https://flowise.example/api/v1/chatflows", status=status,
                          response_headers=headers or {}, response_body=body)


# -- recognising the proxy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        ({"server": "nginx/1.22.1"}, "nginx"),
        ([("server", "Caddy"), ("server", "uvicorn")], "Caddy"),
        ({"Server": "cloudflare", "CF-RAY": "8a1"}, "Cloudflare"),
        ({"server": "awselb/2.0"}, "AWS Elastic Load Balancing"),
        ({"via": "1.1 google"}, "Google Cloud Load Balancing"),
        ({"x-envoy-upstream-service-time": "3"}, "Envoy"),
        ({"content-type": "application/json", "vary": "Origin"}, None),
        ({"server": "uvicorn"}, None),
    ],
)
def test_recognise_proxy(headers, name) -> None:
    found = recognise_proxy(headers)
    assert (found.name if found else None) == name


def test_survey_reads_the_ping_answer() -> None:
    response = httpx.Response(200, headers=[("server", "nginx/1.22.1"), ("vary", "Origin"),
                                            ("content-type", "text/html")], text="pong")
    found = survey(response, base_url="https://host.example/flowise", tls="verified")
    assert found.proxy is not None and found.proxy.name == "nginx"
    assert found.fingerprint == frozenset({"vary"})
    assert found.path_prefix == "/flowise" and found.scheme == "https" and found.behind_proxy
    assert "behind nginx" in found.describe() and "/flowise" in found.describe()


def test_http2_alone_means_something_in_front() -> None:
    assert Deployment(http_version="HTTP/2").behind_proxy
    assert not DIRECT.behind_proxy


# -- answers the proxy wrote -----------------------------------------------------------------------


def test_nginx_page_is_the_proxys() -> None:
    assert generated_by_proxy(exchange(405, NGINX_405, method="TRACE")) == "nginx"


def test_flowise_json_error_is_not_the_proxys() -> None:
    flowise = exchange(404, '{"statusCode":404,"success":false,"message":"not found","stack":{}}',
                       headers={"vary": "Origin", "content-type": "application/json"})
    assert generated_by_proxy(flowise, proxy=CADDY.proxy, fingerprint=CADDY.fingerprint) is None


def test_caddy_empty_refusal_lacks_flowise_headers() -> None:
    refusal = exchange(413, "", headers={"server": "Caddy"})
    assert generated_by_proxy(refusal, proxy=CADDY.proxy, fingerprint=CADDY.fingerprint) == "Caddy"
    # Flowise's own non-JSON answers carry its headers (Vary from its CORS middleware): not attributed
    flowise_text = exchange(429, "Too many requests", headers={"server": "Caddy", "vary": "Origin"})
    assert generated_by_proxy(flowise_text, proxy=CADDY.proxy, fingerprint=CADDY.fingerprint) is None
    # without a recognised proxy nothing but a known page is attributed
    assert generated_by_proxy(refusal) is None


def test_attribute_proxy_page() -> None:
    ref = attribute(NGINX, check="unsupported_method", operation="getVersion",
                    exchange=exchange(405, NGINX_405, method="TRACE"), message="405 without Allow")
    assert ref is not None and ref.id == "proxy-answered" and "nginx" in ref.summary
    assert ref.reference.startswith("docs/deployment.md#")


def test_attribute_never_takes_a_502_or_a_deployment_check() -> None:
    page = NGINX_405.replace("405 Not Allowed", "502 Bad Gateway")
    assert attribute(NGINX, check="not_a_server_error", operation="x", exchange=exchange(502, page), message="") is None
    assert attribute(NGINX, check="errors_stay_json", operation="errors", exchange=exchange(401, NGINX_405),
                     message="") is None


def test_attribute_502_on_an_oversize_body_only() -> None:
    page = NGINX_405.replace("405 Not Allowed", "502 Bad Gateway")
    big = Exchange.build(method="POST", url="https://h/api/v1/prediction/x", request_headers={"Content-Length": "2000"},
                         status=502, response_body=page)
    limited = Deployment(proxy=NGINX.proxy, fingerprint=NGINX.fingerprint, max_body=1000)
    assert attribute(limited, check="oversize_body_is_413", operation="createPrediction", exchange=big,
                     message="") is not None
    assert attribute(NGINX, check="oversize_body_is_413", operation="createPrediction", exchange=big,
                     message="") is None


def test_attribute_504_is_a_warning() -> None:
    page = NGINX_405.replace("405 Not Allowed", "504 Gateway Time-out")
    ref = attribute(NGINX, check="request_completes", operation="createPrediction", exchange=exchange(504, page),
                    message="")
    assert ref is not None and ref.id == "proxy-timeout" and ref.summary.startswith("warning")


@pytest.mark.parametrize(
    ("message", "names"),
    [
        ("missing header connection: keep-alive; missing header x-accel-buffering: no",
         {"connection", "x-accel-buffering"}),
        ("Custom check failed: `sse_stream_is_flowise`: sse_stream_is_flowise: missing header x-accel-buffering: no",
         {"x-accel-buffering"}),
        ("missing header x-accel-buffering: no; frame 3 is not JSON", None),
        ("status 500", None),
    ],
)
def test_header_only_problem(message, names) -> None:
    found = header_only_problem(message)
    assert (set(found) if found is not None else None) == names


def test_hop_by_hop_headers_are_the_proxys_only_behind_one() -> None:
    message = "missing header connection: keep-alive; missing header x-accel-buffering: no"
    ref = attribute(NGINX, check="stream_headers_are_flowise", operation="createPrediction", exchange=None,
                    message=message)
    assert ref is not None and ref.id == "proxy-headers"
    assert attribute(DIRECT, check="stream_headers_are_flowise", operation="createPrediction", exchange=None,
                     message=message) is None
    # an end-to-end header is Flowise's to send, proxy or not
    assert attribute(NGINX, check="stream_headers_are_flowise", operation="createPrediction", exchange=None,
                     message="missing header cache-control: no-cache") is None


def test_collector_reports_proxy_findings_apart(monkeypatch) -> None:
    from conformance.profile import default_spec_path
    from conformance.spec import load_spec

    collector = EventCollector(load_spec(default_spec_path()), load_deviations(), NGINX.attribute)
    collector._add("getVersion", "unsupported_method", "405 without Allow", exchange(405, NGINX_405, method="TRACE"),
                   "coverage")
    collector._add("getVersion", "not_a_server_error", "500", exchange(500, '{"message":"boom"}'), "fuzzing")
    outcomes = {o.check: o for o in collector.outcomes()}
    assert outcomes["unsupported_method"].status is Status.PROXY
    assert outcomes["not_a_server_error"].status is Status.FAIL
    assert collector.verdict("getVersion").status is Status.FAIL


# -- deployment checks -------------------------------------------------------------------------------


def test_stream_timing() -> None:
    assert stream_timing((0.16, 0.2, 0.3, 0.6, 1.1)).ok is True
    buffered = stream_timing((1.24, 1.25, 1.25))
    assert buffered.ok is False and "buffered" in buffered.message
    assert stream_timing((0.01, 0.05)).ok is None
    assert stream_timing(()).ok is None


def test_errors_stay_json() -> None:
    good = exchange(401, '{"error":"Unauthorized Access"}', headers={"content-type": "application/json"})
    bad = exchange(401, "<html>oops</html>", headers={"content-type": "text/html"})
    assert errors_stay_json([good]).ok is True
    finding = errors_stay_json([good, bad])
    assert finding.ok is False and finding.exchange is bad


# -- version profiles --------------------------------------------------------------------------------


def test_parse_version() -> None:
    assert parse_version("3.1.4") == (3, 1, 4)
    assert parse_version("v3.1") == (3, 1, 0)
    assert parse_version("3.1.4-beta.1") == (3, 1, 4)
    assert parse_version("latest") is None and parse_version(None) is None


def test_detected_31_gets_its_profile() -> None:
    choice = choose_profile("3.1.4")
    assert choice.exact and choice.profile.name == "flowise-3.1" and choice.source == "GET /api/v1/version"
    assert choice.note.endswith("profile flowise-3.1")


@pytest.mark.parametrize("version", ["1.8.0", "4.0.0", "latest", None])
def test_unknown_version_falls_back_to_31_and_says_so(version) -> None:
    choice = choose_profile(version)
    assert not choice.exact and choice.profile is DEFAULT_PROFILE
    assert "expectations of flowise-3.1 applied" in choice.note


def test_override_wins_and_is_named() -> None:
    choice = choose_profile("1.8.0", "3.1.2")
    assert choice.exact and choice.version == "3.1.2" and choice.source == "--flowise-version"
    assert "reports 1.8.0" in choice.note
    assert not choose_profile("3.1.4", "1.0.0").exact


def test_profile_selects_its_deviations() -> None:
    catalogue = load_deviations()
    # Every entry that holds on 3.1 (entries tagged for older lines only are left out: conformance/version.py).
    assert DEFAULT_PROFILE.select(catalogue).ids == [d.id for d in catalogue if d.applies_to("3.1")]
    narrowed = type(DEFAULT_PROFILE)(name="t", line=(9, 9), deviations=frozenset({"missing-id-500"}))
    assert narrowed.select(catalogue).ids == ["missing-id-500"]


# -- TLS ---------------------------------------------------------------------------------------------


def test_tls_default_and_bundle_precedence(tmp_path: Path) -> None:
    bundle = certifi.where()
    assert resolve_tls(None, None, {}).requests_verify() is True
    assert resolve_tls(bundle, None, {"SSL_CERT_FILE": "/nonexistent"}).source == "--ca-bundle"
    assert resolve_tls(None, None, {"SSL_CERT_FILE": bundle, "REQUESTS_CA_BUNDLE": "/x"}).source == "SSL_CERT_FILE"
    from_env = resolve_tls(None, None, {"REQUESTS_CA_BUNDLE": bundle})
    assert from_env.requests_verify() == bundle and isinstance(from_env.httpx_verify(), ssl.SSLContext)


def test_tls_insecure_is_off_in_both_layers() -> None:
    settings = resolve_tls(None, True, {})
    assert settings.insecure and settings.httpx_verify() is False and settings.requests_verify() is False
    assert "NOT verified" in settings.describe()
    assert resolve_tls(None, None, {"FLOWISE_INSECURE": "1"}).insecure


def test_tls_bad_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="contradict"):
        resolve_tls(certifi.where(), True, {})
    with pytest.raises(ConfigError, match="no such CA bundle"):
        resolve_tls(str(tmp_path / "missing.pem"), None, {})
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigError, match="no usable PEM"):
        resolve_tls(str(junk), None, {})


def test_both_layers_get_the_same_trust() -> None:
    from conformance.schema.config import build_config

    profile = build_profile({"url": "https://flowise.example/flowise/api/v1", "ca_bundle": certifi.where()}, {},
                            run_id="tls-run")
    assert profile.base_url == "https://flowise.example/flowise"
    assert profile.api_root == "https://flowise.example/flowise/api/v1"
    config = build_config(profile)
    assert config.projects.default.tls_verify == certifi.where()
    args = pytest_args(profile, layer="all", verbose=0)
    assert f"--flowise-ca-bundle={certifi.where()}" in args


def test_cli_flags_reach_the_profile() -> None:
    args = build_parser().parse_args(["https://h.example", "--insecure", "--flowise-version", "3.1.0"])
    from conformance.cli import _options

    profile = build_profile(_options(args), {}, run_id="cli-run")
    assert profile.tls.insecure and profile.flowise_version == "3.1.0"
    argv = pytest_args(profile, layer="semantics", verbose=0)
    assert "--flowise-insecure" in argv and "--flowise-target-version=3.1.0" in argv


# -- the operator's summary --------------------------------------------------------------------------


def _report() -> RunReport:
    proxy = DeviationRef("proxy-answered", "docs/deployment.md#answers-the-proxy-writes", "nginx answered TRACE")
    return RunReport(
        target="https://flowise.example/flowise", run_id="r1", started="s", finished="f",
        outcomes=[
            Outcome("schema", "getVersion", "unsupported_method", Status.PROXY, "405", proxy),
            Outcome("semantics", "createPrediction", "stream_is_not_buffered", Status.FAIL, "buffered",
                    source="semantics/test_deployment.py::test_stream_is_not_buffered"),
            Outcome("semantics", "auth", "gate", Status.PASS, source="semantics/test_auth.py::test_gate"),
            Outcome("schema", "createChatflow", "status_code_conformance", Status.PASS),
        ],
        target_facts={"version": choose_profile("1.8.0").to_dict(), "deployment": NGINX.to_dict()},
    )


def test_areas() -> None:
    report = _report()
    assert area_of(report.outcomes[1]) == "deployment" and area_of(report.outcomes[2]) == "auth"
    assert area_of(report.outcomes[3]) == "CRUD"
    verdicts = {v.area: v.verdict for v in area_verdicts(report)}
    assert verdicts["deployment"] == "fail" and verdicts["auth"] == "pass" and verdicts["limits"] == "not tested"
    assert not report.ok


def test_html_leads_with_what_an_operator_needs() -> None:
    html = render_html(_report())
    facts, areas, matrix = (html.index("Flowise version"), html.index("Verdict per area"),
                            html.index("Details: operation × check"))
    assert facts < areas < matrix
    assert "expectations of flowise-3.1 applied" in html and "nginx" in html
    assert "The proxy&#x27;s doing" in html or "The proxy's doing" in html


def test_junit_keeps_proxy_findings_out_of_failures() -> None:
    xml = render_junit(_report()).decode()
    assert 'type="proxy"' in xml and 'failures="1"' in xml


@pytest.mark.parametrize(("text", "found"), [
    ('{"message":"Error: predictionsServices.buildChatflow - Error: connect ECONNREFUSED 127.0.0.1:443"}',
     "ECONNREFUSED"),
    ('{"message":"Error: unable to verify the first certificate; if the root CA is installed locally, try '
     'running Node.js with --use-system-ca"}', "unable to verify the first certificate"),
    ('{"message":"Error: getaddrinfo ENOTFOUND flowise.internal"}', "ENOTFOUND"),
    ('{"message":"Error: Cannot read properties of undefined"}', None),
])
def test_a_flow_that_cannot_reach_flowise_itself_is_told_apart(text: str, found: str | None) -> None:
    assert self_call_failure(text) == found
