"""pytest11 entry point: `pytest conformance --flowise-url URL [--flowise-api-key KEY ...]`.

Inert unless `--flowise-url` is given: it then only adds its options, its marker and fixtures that
nothing outside `conformance/` requests. With the URL it opens a `ConformanceSession`, probes the
target (an unusable target ends the run at once with one line and a distinct exit code), provisions
the run's fixtures, skips what the target cannot do with the reason, turns each test result into an
outcome (classifying known deviations from `deviations.toml`), cleans up, and writes the reports.
A check that needed an operation out of the key's reach (`OutOfReach`) is a skip naming the
permission; a refusal the key's permissions do not explain fails the run at the end.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from conformance.errors import ConformanceError
from conformance.exitcodes import exit_code_for
from conformance.ledger import new_run_id
from conformance.outcomes import DeviationRef, Outcome, Status
from conformance.permissions import OutOfReach
from conformance.profile import build_profile
from conformance.session import ConformanceSession
from conformance.spec import Operation
from conformance.violations import Violation

__all__ = ["SESSION_KEY"]

SESSION_KEY = pytest.StashKey[ConformanceSession]()
MARKER = (
    "flowise(operation=None, area=None, tags=(), requires=(), writes=False, aggregate=False): "
    "a Flowise conformance check; `requires` names target capabilities, `writes` marks a test that "
    "sends writing requests (skipped in --read-only runs)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flowise", "Flowise conformance (active only with --flowise-url)")
    add = group.addoption
    add("--flowise-url", metavar="BASE_URL", help="the Flowise to check, e.g. http://localhost:3000")
    add("--flowise-api-key", metavar="KEY", help="API key sent as Authorization: Bearer KEY")
    add("--flowise-chatflow-id", action="append", default=[], metavar="ID", help="a chatflow that answers")
    add("--flowise-read-only", action="store_true", default=False, help="send GET requests only")
    add("--flowise-examples", type=int, metavar="N", help="schemathesis examples per operation")
    add("--flowise-timeout", type=float, metavar="S", help="request timeout in seconds (streams included)")
    add("--flowise-only", metavar="TAG,...", help="only these spec tags")
    add("--flowise-report-dir", metavar="DIR", help="where reports go")
    add("--flowise-junit", metavar="FILE", help="JUnit XML path")
    add("--flowise-strict", action="store_true", default=False, help="known deviations fail the run")
    add("--flowise-rate-limit", type=float, metavar="R", help="at most R requests per second")
    add("--flowise-max-body", metavar="SIZE", help="the target's FLOWISE_FILE_SIZE_LIMIT (enables the 413 test)")
    add("--flowise-seed", type=int, metavar="N", help="schemathesis' seed (replays a run's generated requests)")
    add("--flowise-spec", metavar="PATH", help="the OpenAPI spec (default: spec/flowise.openapi.yaml)")
    add("--flowise-run-id", metavar="ID", help="run id used in resource names (default: generated)")
    add("--flowise-ca-bundle", metavar="FILE", help="PEM CA bundle to trust for an https:// target")
    add("--flowise-insecure", action="store_true", default=False, help="do not verify TLS certificates")
    add("--flowise-target-version", metavar="X.Y.Z", help="apply this Flowise version's expectations")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    if not config.getoption("flowise_url", default=None):
        return
    options = {
        "url": config.getoption("flowise_url"),
        "api_key": config.getoption("flowise_api_key"),
        "chatflow_ids": config.getoption("flowise_chatflow_id"),
        "read_only": config.getoption("flowise_read_only"),
        "examples": config.getoption("flowise_examples"),
        "timeout": config.getoption("flowise_timeout"),
        "only": config.getoption("flowise_only"),
        "report_dir": config.getoption("flowise_report_dir"),
        "junit": config.getoption("flowise_junit"),
        "strict": config.getoption("flowise_strict"),
        "rate_limit": config.getoption("flowise_rate_limit"),
        "max_body": config.getoption("flowise_max_body"),
        "spec": config.getoption("flowise_spec"),
        "seed": config.getoption("flowise_seed"),
        "ca_bundle": config.getoption("flowise_ca_bundle"),
        "insecure": config.getoption("flowise_insecure") or None,
        "flowise_version": config.getoption("flowise_target_version"),
    }
    try:
        profile = build_profile(options, os.environ, run_id=config.getoption("flowise_run_id") or new_run_id())
        session = ConformanceSession.open(profile)
    except ConformanceError as exc:
        raise pytest.UsageError(f"flowise-conformance: {exc}") from None
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(SessionHooks(session, config), "flowise-conformance-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.client.close()


# -- item metadata -----------------------------------------------------------------------------------


def _marker_kwargs(item: pytest.Item) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for marker in reversed(list(item.iter_markers("flowise"))):
        merged.update(marker.kwargs)
    return merged


def _param_operation(item: pytest.Item) -> Operation | None:
    callspec = getattr(item, "callspec", None)
    for value in (callspec.params.values() if callspec else ()):
        if isinstance(value, Operation):
            return value
    return None


def _params(item: pytest.Item) -> list[Any]:
    callspec = getattr(item, "callspec", None)
    return list(callspec.params.values()) if callspec else []


def item_operation(item: pytest.Item) -> str:
    meta = _marker_kwargs(item)
    operation = _param_operation(item)
    if meta.get("operation"):
        return str(meta["operation"])
    if operation is not None:
        return operation.operation_id
    labelled = next((value.label for value in _params(item) if isinstance(getattr(value, "label", None), str)), None)
    if labelled:
        return labelled
    return str(meta.get("area") or item.module.__name__.rsplit(".", 1)[-1].removeprefix("test_"))  # type: ignore[attr-defined]


def item_check(item: pytest.Item) -> str:
    name = getattr(item, "originalname", None) or item.name
    return name.removeprefix("test_")


def item_tags(item: pytest.Item) -> set[str]:
    meta = _marker_kwargs(item)
    operation = _param_operation(item)
    tags = set(meta.get("tags") or ())
    if operation is not None:
        tags |= set(operation.tags)
    for value in _params(item):
        if not isinstance(value, Operation) and isinstance(getattr(value, "tags", None), tuple):
            tags |= set(value.tags)
    return tags


class SessionHooks:
    """The hooks of an active run (registered only when --flowise-url is given)."""

    def __init__(self, session: ConformanceSession, config: pytest.Config) -> None:
        self.session = session
        self.config = config
        self.prepared = False

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            self.session.prepare()
        except ConformanceError as exc:
            pytest.exit(f"flowise-conformance: {exc}", returncode=int(exit_code_for(exc)))
        self.prepared = True

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """`spec_operation` parametrizes a test over the spec's operations (filtered by --only)."""
        if "spec_operation" not in metafunc.fixturenames:
            return
        only = set(self.session.profile.only)
        operations = [op for op in self.session.spec if not only or only & set(op.tags)]
        metafunc.parametrize("spec_operation", operations, ids=[op.operation_id for op in operations])

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        profile = self.session.profile
        capabilities = self.session.capabilities
        only = set(profile.only)
        selected, deselected = [], []
        for item in items:
            tags = item_tags(item)
            if only and tags and not (only & tags):
                deselected.append(item)
                continue
            selected.append(item)
            meta = _marker_kwargs(item)
            requires = list(meta.get("requires") or ())
            if meta.get("writes"):
                requires.insert(0, "writes")
            for capability in requires:
                reason = capabilities.why_not(capability)
                if reason is not None:
                    item.add_marker(pytest.mark.skip(reason=f"target cannot: {capability}: {reason}"))
                    break
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = selected

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        error = call.excinfo.value if call.excinfo is not None else None
        if isinstance(error, OutOfReach) and report.when in {"setup", "call"}:
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {error}")
        if _marker_kwargs(item).get("aggregate"):
            return report
        outcome = self._outcome(item, call, report)
        if outcome is None:
            return report
        self.session.record(outcome)
        if outcome.status is Status.DEVIATION and outcome.deviation is not None and not self.session.profile.strict:
            report.outcome = "skipped"
            report.wasxfail = f"known deviation {outcome.deviation.id} ({outcome.deviation.reference})"
        if outcome.status is Status.PROXY and outcome.deviation is not None:
            report.outcome = "skipped"
            report.wasxfail = f"the proxy's doing: {outcome.deviation.summary} ({outcome.deviation.reference})"
        return report

    def _outcome(self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> Outcome | None:
        operation, check = item_operation(item), item_check(item)
        base = {"layer": "semantics", "operation": operation, "check": check, "source": item.nodeid}
        if report.skipped and report.when in {"setup", "call"} and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            return Outcome(status=Status.SKIP, message=reason.removeprefix("Skipped: "), **base)
        if report.when == "call" and report.passed:
            return Outcome(status=Status.PASS, duration=report.duration, **base)
        if report.failed:
            error = call.excinfo.value if call.excinfo is not None else None
            if isinstance(error, Violation):
                base["check"] = error.check if error.check != check else check
                if error.operation:
                    base["operation"] = error.operation
                deviation = self.session.deviations.classify(
                    check=str(base["check"]), operation=str(base["operation"]), exchange=error.exchange
                )
                proxy = None if deviation is not None else self.session.attribute(
                    check=str(base["check"]), operation=str(base["operation"]), exchange=error.exchange,
                    message=error.message,
                )
                if proxy is not None:  # the proxy in front did it (docs/deployment.md): not Flowise's behaviour
                    return Outcome(status=Status.PROXY, message=f"the proxy's doing: {error.message}",
                                   deviation=proxy, exchange=error.exchange, duration=report.duration, **base)
                return Outcome(
                    status=Status.DEVIATION if deviation else Status.FAIL,
                    message=error.message,
                    deviation=None if deviation is None else DeviationRef.of(deviation),
                    exchange=error.exchange,
                    duration=report.duration,
                    **base,
                )
            text = call.excinfo.exconly() if call.excinfo is not None else str(report.longrepr)
            prefix = "" if report.when == "call" else f"{report.when} error: "
            return Outcome(
                status=Status.FAIL,
                message=prefix + text[:2000],
                exchange=self.session.client.last if report.when == "call" else None,
                duration=report.duration,
                **base,
            )
        return None

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.prepared:
            return
        self.session.cleanup()
        if self.session.finish_permissions() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        paths = self.session.write_reports()
        self.session.notes["reports"] = ", ".join(str(path) for path in paths.values())

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.prepared:
            return
        write = terminalreporter.write_line
        report = self.session.report()
        terminalreporter.section("flowise conformance")
        counts = report.counts()
        write(
            f"target {report.target} (run {report.run_id}): "
            + ", ".join(f"{counts[key]} {key}" for key in ("pass", "fail", "deviation", "skip", "proxy"))
        )
        for outcome in report.failed:
            write(f"FAIL  {outcome.operation} · {outcome.check}: {outcome.message[:300]}", red=True)
            if outcome.exchange is not None:
                write(f"      {outcome.exchange.curl[:400]}")
                write(f"      -> {outcome.exchange.status} {(outcome.exchange.response_body or '')[:200]!r}")
        deviations = [o for o in report.outcomes if o.status is Status.DEVIATION and o not in report.failed]
        for outcome in deviations:
            assert outcome.deviation is not None
            write(f"KNOWN {outcome.operation} · {outcome.check}: {outcome.deviation.id} ({outcome.deviation.reference})")
        missing = report.capabilities.get("missing") or {}
        for capability, reason in dict(missing).items():  # type: ignore[call-overload]
            if reason:
                write(f"SKIPPED capability {capability}: {reason}")
        for key in ("flowise version", "deployment", "key permissions", "out of this key's reach", "cleanup",
                    "cleanup_failures", "reports"):
            if key in self.session.notes:
                write(f"{key}: {self.session.notes[key]}")


# -- fixtures (requested only by the modules under conformance/) --------------------------------------


@pytest.fixture(scope="session")
def flowise_session(request: pytest.FixtureRequest) -> ConformanceSession:
    session = request.config.stash.get(SESSION_KEY, None)
    if session is None:
        pytest.skip("no --flowise-url given: the Flowise conformance suite is not active")
    return session


@pytest.fixture(scope="session")
def flowise_profile(flowise_session: ConformanceSession) -> Any:
    return flowise_session.profile


@pytest.fixture(scope="session")
def flowise_spec(flowise_session: ConformanceSession) -> Any:
    return flowise_session.spec


@pytest.fixture(scope="session")
def flowise_client(flowise_session: ConformanceSession) -> Any:
    return flowise_session.client


@pytest.fixture(scope="session")
def flowise_ledger(flowise_session: ConformanceSession) -> Any:
    return flowise_session.ledger


@pytest.fixture(scope="session")
def flowise_caps(flowise_session: ConformanceSession) -> Any:
    return flowise_session.capabilities


@pytest.fixture(scope="session")
def flowise_permissions(flowise_session: ConformanceSession) -> Any:
    """What the run's key may do (`conformance.permissions.KeyPermissions`)."""
    return flowise_session.permissions


@pytest.fixture(scope="session")
def flowise_chatflow(flowise_session: ConformanceSession) -> str:
    """The id of a chatflow that answers (skips with the reason when there is none)."""
    capabilities = flowise_session.capabilities
    reason = capabilities.why_not("answering")
    if reason is not None:
        pytest.skip(f"target cannot: answering: {reason}")
    assert capabilities.answering_chatflow is not None
    return capabilities.answering_chatflow


@pytest.fixture(scope="session")
def flowise_unique(flowise_session: ConformanceSession) -> Iterator[Any]:
    """A name maker: `conformance-<run>-<label>-<counter>`, unique within the run."""
    counter = itertools.count(1)

    def make(label: str) -> str:
        return flowise_session.ledger.name(f"{label}-{next(counter)}")

    yield make


@pytest.fixture(scope="session")
def flowise_schema_run(flowise_session: ConformanceSession, request: pytest.FixtureRequest) -> Any:
    """Run the schemathesis layer once (printing progress) and keep its result for the session."""
    if flowise_session.schema_run is None:
        from conformance.schema import run_schema_layer

        capture = request.config.pluginmanager.getplugin("capturemanager")
        reporter = request.config.pluginmanager.getplugin("terminalreporter")

        def progress(line: str) -> None:
            if reporter is None:
                return
            if capture is not None:
                with capture.global_and_fixture_disabled():
                    reporter.write_line(line)
            else:
                reporter.write_line(line)

        run = run_schema_layer(
            profile=flowise_session.profile,
            spec=flowise_session.spec,
            deviations=flowise_session.deviations,
            ledger=flowise_session.ledger,
            report_dir=flowise_session.report_dir,
            progress=progress,
            permissions=flowise_session.permissions,
            attribute=getattr(flowise_session, "attribute", None),
            behind_proxy=flowise_session.deployment.behind_proxy,
            version=flowise_session.version.profile if flowise_session.version is not None else None,
        )
        for outcome in run.outcomes:
            flowise_session.record(outcome)
        flowise_session.notes.update(run.notes)
        flowise_session.notes.update({name: str(path) for name, path in run.artefacts.items()})
        flowise_session.schema_run = run
    return flowise_session.schema_run
