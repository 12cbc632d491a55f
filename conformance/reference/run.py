"""One reference run, start to finish: install, start, bootstrap, flows, fidelity, suite, triage, stop.

Every step prints a progress line and its duration, because the first run takes minutes and a
silent terminal looks like a hang. Everything started is registered with a `ProcessGroup`, so it is
stopped on success, failure and Ctrl-C alike. The measurements (install, start-up, suite, fidelity)
go to `run.json` beside the reports, so a record of "how long does a real Flowise take here" exists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx

from conformance.reference.bootstrap import (
    SCOPED_PERMISSIONS,
    BootstrapError,
    Bootstrapped,
    bootstrap,
    bootstrap_api_json,
    create_api_key,
    strong_password,
)
from conformance.reference.case_report import run_case_matrix
from conformance.reference.exchanges import SCRIPT, Step, run_script
from conformance.reference.fidelity import Column, compare_targets
from conformance.reference.fidelity_report import write_fidelity
from conformance.reference.flows import FlowsError, ReferenceFlows, create_credential, create_reference_flows
from conformance.reference.install import Installation, InstallError, ensure_installed
from conformance.reference.proxies import start_proxy
from conformance.reference.releases import DEFAULT_RELEASE, Release
from conformance.reference.server import (
    LOOPBACK,
    ManagedProcess,
    ProcessGroup,
    ServerError,
    free_port,
    start_flowise,
    start_mock,
    wait_until_ready,
)
from conformance.reference.services import (
    configuration_error,
    database_env,
    queue_env,
    redis_port,
    start_postgres,
    start_redis,
    start_worker,
)
from conformance.reference.targets import prepare_target
from conformance.reference.triage import write_triage

__all__ = ["RunOptions", "default_report_dir", "run_reference"]

Log = Callable[[str], None]
MOCK_ADMIN_KEY = "sk-fidelity-admin"
FLOWISE_READY_TIMEOUT = 240.0
MOCK_READY_TIMEOUT = 60.0
EXIT_INSTALL = 3
EXIT_SERVER = 4
EXIT_SETUP = 5


@dataclass
class RunOptions:
    #: The Flowise release to install and judge (releases.py); 3.1.4 by default.
    release: Release = DEFAULT_RELEASE
    cache_dir: Path | None = None
    report_dir: Path | None = None
    llm_url: str | None = None
    suite: bool = True
    fidelity: bool = True
    install_only: bool = False
    keep_data: bool = False
    suite_args: list[str] = field(default_factory=list)
    suite_timeout: float = 900.0
    #: Also compare the spec-generated case matrix (cases.py) in the fidelity step.
    cases: bool = True
    #: A reverse proxy (`proxies.py`: nginx or caddy) with TLS and HTTP/2 in front of Flowise for the
    #: suite; the fidelity comparison still talks to Flowise directly.
    proxy: str | None = None
    #: Which of the suite runs to make (`suite_runs` labels); None: all of them.
    suite_keys: tuple[str, ...] | None = None
    #: Flowise's database: "sqlite" (a file in the data folder) or "postgres" (a throw-away cluster, services.py).
    database: str = "sqlite"
    #: "main" (one process) or "queue" (MODE=queue: Redis and a separate worker process, services.py).
    mode: str = "main"


@dataclass
class Measurements:
    """Durations of each step in seconds, plus facts worth keeping (versions, ids, exit codes)."""

    seconds: dict[str, float] = field(default_factory=dict)
    facts: dict[str, object] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str, log: Log) -> Iterator[None]:
        log(f"[{name}] ...")
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - started, 1)
            log(f"[{name}] {self.seconds[name]:.1f} s")

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"seconds": self.seconds, "facts": self.facts}, indent=2, default=str) + "\n")


def _say(message: str) -> None:
    print(f"reference: {message}", flush=True)


def default_report_dir() -> Path:
    """`reports/reference/<UTC timestamp>/`, like the other tools' report folders."""
    return Path("reports") / "reference" / time.strftime("%Y%m%d-%H%M%S", time.gmtime())


def _start_llm(group: ProcessGroup, logs: Path, measure: Measurements) -> str:
    """The mock's OpenAI-compatible endpoint, as the real Flowise's LLM; returns the `/v1` base path."""
    process = group.add(start_mock("mock-llm", log_dir=logs, extra=["--no-auth", "--fast"]))
    seconds = wait_until_ready(process, "/v1/models", timeout=MOCK_READY_TIMEOUT)
    measure.seconds["mock LLM ready"] = round(seconds, 1)
    return process.url + "/v1"


@dataclass(frozen=True)
class SuiteRun:
    """One run of the suite against the real server: with which key, where its reports go."""

    label: str
    api_key: str
    #: The folder under the report directory (`conformance` for the full-permission run).
    folder: str
    extra: tuple[str, ...] = ()
    #: Pass the reference flows as `--chatflow-id` (not in a read-only run: it sends no prediction).
    chatflows: bool = True

    @property
    def log_name(self) -> str:
        return "suite.log" if self.folder == "conformance" else f"suite-{self.label}.log"

    @property
    def triage_name(self) -> str:
        return "triage.md" if self.folder == "conformance" else f"triage-{self.label}.md"


SUITE_LABELS = ("full", "scoped", "view-only-read-only")


def suite_runs(keys: Bootstrapped, scoped_key: str | None) -> list[SuiteRun]:
    """The full-permission run, then the runs an operator makes with the keys they actually hold: a
    team's scoped key, and a view-only key in `--read-only` (the first, read-only look)."""
    runs = [SuiteRun("full", keys.full_key.api_key, "conformance")]
    if scoped_key:
        runs.append(SuiteRun("scoped", scoped_key, "conformance-scoped"))
    runs.append(SuiteRun("view-only-read-only", keys.view_key.api_key, "conformance-view-read-only",
                         extra=("--read-only",), chatflows=False))
    return runs


BASIC_AUTH_USER = "conformance-basic"


def release_env(release: Release, data_dir: Path, basic_auth: tuple[str, str] | None) -> dict[str, str]:
    """What one release needs in its environment besides flowise_env's (docs/real-flowise.md#other-versions-and-deployments).

    2.x keeps its keys in `<APIKEY_PATH>/api.json` (here the run's data folder) and, with
    `FLOWISE_USERNAME` / `FLOWISE_PASSWORD`, puts basic auth on the internal (UI) route.
    """
    if release.bootstrap != "api-json":
        return {}
    env = {"APIKEY_PATH": str(data_dir), "APIKEY_STORAGE_TYPE": "json"}
    if basic_auth:
        env.update({"FLOWISE_USERNAME": basic_auth[0], "FLOWISE_PASSWORD": basic_auth[1]})
    return env


def _setup_real(
    url: str, llm: str, measure: Measurements, release: Release = DEFAULT_RELEASE,
    basic_auth: tuple[str, str] | None = None,
) -> tuple[Bootstrapped, ReferenceFlows, str | None]:
    keys = bootstrap(url) if release.bootstrap == "accounts" else bootstrap_api_json(url, basic_auth=basic_auth)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys.full_key.api_key}"}, timeout=60) as client:
        credential = create_credential(client)
        flows = create_reference_flows(
            client, llm_basepath=llm, credential_id=credential, bound_key_id=keys.full_key.id
        )
        # A scoped key needs per-key permissions, which 2.x keys do not have.
        scoped = create_api_key(client, "conformance-scoped", SCOPED_PERMISSIONS) if release.key_permissions else None
    measure.facts["flows"] = flows.to_dict()
    measure.facts["credential"] = credential
    measure.facts["api keys"] = {"full": keys.full_key.id, "view": keys.view_key.id,
                                 "scoped": scoped.id if scoped else None}
    return keys, flows, scoped.api_key if scoped else None


def _run_suite(url: str, run: SuiteRun, flows: ReferenceFlows, out: Path, options: RunOptions,
               ca_bundle: Path | None = None) -> int:
    """`flowise-conformance` against the real server with one key, in its own process, output teed
    to the run's log.

    Returns its exit code, or -1 when it ran past `options.suite_timeout` and was stopped.
    """
    # The key goes by environment, not argv, where any local user could read it with ps; the
    # caller's other FLOWISE_* variables stay out (suite options go through --suite-args).
    argv = [sys.executable, "-m", "conformance.cli", url]
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLOWISE_")}
    env["FLOWISE_API_KEY"] = run.api_key
    chatflows = flows.answering() if run.chatflows else []
    if not options.release.agentflows:  # the direct-reply agentflow cannot answer on 2.x
        chatflows = [chatflow for chatflow in chatflows if chatflow != flows.direct_reply]
    for chatflow in chatflows:
        argv += ["--chatflow-id", chatflow]
    if ca_bundle is not None:
        argv += ["--ca-bundle", str(ca_bundle)]
    argv += ["--report-dir", str(out / run.folder), *run.extra, *options.suite_args]
    shown = "".join(f" --chatflow-id {chatflow}" for chatflow in chatflows)
    _say(f"running: FLOWISE_API_KEY=<{run.label} key> flowise-conformance {url}{shown} "
         f"--report-dir {out / run.folder} {' '.join([*run.extra, *options.suite_args])}".rstrip())
    with (out / run.log_name).open("w") as log:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        tee = threading.Thread(target=_tee, args=(process, log), daemon=True)
        tee.start()
        try:
            return process.wait(timeout=options.suite_timeout)
        except subprocess.TimeoutExpired:
            _say(f"the suite ran longer than {options.suite_timeout:.0f} s: stopped")
            return -1
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            tee.join(timeout=5)


def _tee(process: subprocess.Popen[str], log: TextIO) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        log.write(line)
        print("  " + line, end="", flush=True)


#: Script variables that name flows every release runs (the ChatOpenAI chatflow) or none at all.
_PLAIN_FLOWS = ("$chatflow_llm", "$missing")


def script_for(release: Release) -> list[Step]:
    """The fidelity script for `release`: on a line without agentflows (2.x) a prediction of an
    agentflow never answers (each would wait out its timeout), so those steps are left out."""
    if release.agentflows:
        return list(SCRIPT)
    return [step for step in SCRIPT
            if not (step.operation == "createPrediction" and "/prediction/$" in step.path
                    and not step.path.endswith(_PLAIN_FLOWS))]


def _fidelity(
    group: ProcessGroup,
    flowise: ManagedProcess,
    keys: Bootstrapped,
    llm: str,
    out: Path,
    measure: Measurements,
    release: Release = DEFAULT_RELEASE,
    cases: bool = True,
) -> dict[str, Path]:
    """The script on the real server and on two mocks (the release's quirks on, and off), compared row by row."""
    logs = out / "logs"
    quirky = group.add(start_mock("mock-quirks", log_dir=logs,
                                  extra=["--api-key", MOCK_ADMIN_KEY, "--fast", "--quirks", release.quirks]))
    plain = group.add(start_mock("mock-plain", log_dir=logs, extra=["--api-key", MOCK_ADMIN_KEY, "--fast"]))
    for process in (quirky, plain):
        wait_until_ready(process, "/api/v1/ping", timeout=MOCK_READY_TIMEOUT)
    targets = [
        prepare_target("real", flowise.url, full_key=keys.full_key.api_key, llm_basepath=llm,
                       view_key=keys.view_key.api_key, full_key_id=keys.full_key.id),
        prepare_target(f"mock --quirks {release.quirks}", quirky.url, full_key=MOCK_ADMIN_KEY, llm_basepath=llm),
        prepare_target("mock", plain.url, full_key=MOCK_ADMIN_KEY, llm_basepath=llm),
    ]
    steps = script_for(release)
    measure.facts["fidelity steps"] = len(steps)
    results = []
    for target in targets:
        started = time.monotonic()
        results.append(run_script(target, steps))
        measure.seconds[f"script on {target.label}"] = round(time.monotonic() - started, 1)
    fidelity = compare_targets(
        steps,
        Column("real", results[0], quirks=False),
        [Column(targets[1].label, results[1], quirks=True), Column(targets[2].label, results[2], quirks=False)],
    )
    measure.facts["fidelity"] = {column.label: fidelity.counts(column.label) for column in fidelity.columns[1:]}
    measure.facts["deviations on the real server"] = {
        deviation: ("confirmed" if status["confirmed"] else "not shown") for deviation, status in fidelity.deviation_status().items()
    }
    paths = write_fidelity(fidelity, out)
    if cases:  # on a line without agentflows its chatflows are the Conversation Chain (cases.py)
        paths.update(run_case_matrix(targets, line=release.line, directory=out / "cases",
                                     seconds=measure.seconds, facts=measure.facts))
    return paths


def configuration(options: RunOptions) -> dict[str, str]:
    """The deployment shape a run judged, as run.json and target.json record it."""
    return {"flowise": options.release.version, "database": options.database, "mode": options.mode}


def run_reference(options: RunOptions, log: Log = _say) -> int:
    """The whole reference run; returns the exit code (0: the suite passed and the comparison ran)."""
    measure = Measurements()
    out = (options.report_dir or default_report_dir()).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log(f"reports go to {out}")
    log(f"judging Flowise {options.release.version}: database {options.database}, {options.mode} mode")
    code = 0
    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="flowise-reference-"))
    try:
        with measure.step("install", log):
            install: Installation = ensure_installed(options.cache_dir, log=log, release=options.release)
        measure.facts["install"] = json.loads(install.marker.read_text())
        measure.facts["release"] = {"flowise": options.release.version, "quirks": options.release.quirks,
                                    "bootstrap": options.release.bootstrap}
        measure.facts["configuration"] = configuration(options)
        if options.install_only:
            return 0
        problem = configuration_error(options.database, options.mode)
        if problem is None and options.mode == "queue" and not install.has_worker():
            problem = f"Flowise {options.release.version} has no `worker` command, which --mode queue needs"
        if problem:
            raise ServerError(problem)
        basic_auth = (BASIC_AUTH_USER, strong_password()) if options.release.bootstrap == "api-json" else None
        with ProcessGroup(log) as group:
            with measure.step("mock LLM", log):
                llm = options.llm_url.rstrip("/") if options.llm_url else _start_llm(group, out / "logs", measure)
            log(f"LLM base path for the flows: {llm}")
            flowise_extra = release_env(options.release, data_dir, basic_auth)
            if options.database == "postgres":
                with measure.step("postgres start", log):
                    postgres, database = start_postgres(out / "logs", log=log)
                    group.add(postgres)
                log(f"postgres pid {postgres.pid} on {postgres.url} (database {database.name}, user {database.user})")
                flowise_extra.update(database_env(database))
            if options.mode == "queue":
                with measure.step("redis start", log):
                    redis = group.add(start_redis(out / "logs"))
                log(f"redis pid {redis.pid} on {redis.url}")
                flowise_extra.update(queue_env(redis_port(redis)))
            flowise_port = free_port()
            proxy = None
            if options.proxy and options.suite:
                # Before Flowise: it must trust the proxy's CA, for Execute Flow calls itself through the
                # address clients use (docs/deployment.md#flowise-calls-itself).
                with measure.step(f"{options.proxy} start", log):
                    proxy = start_proxy(options.proxy, f"http://{LOOPBACK}:{flowise_port}")
                    group.add(proxy.process)
                flowise_extra["NODE_EXTRA_CA_CERTS"] = str(proxy.ca)
                measure.facts["proxy"] = {"kind": options.proxy, "url": proxy.url}
                log(f"{options.proxy} (TLS, HTTP/2) on {proxy.url} in front of Flowise's port {flowise_port}")
            with measure.step("flowise start", log):
                flowise = group.add(start_flowise(install, data_dir, port=flowise_port, log_dir=out / "logs",
                                                  extra_env=flowise_extra))
                log(f"flowise pid {flowise.pid} on {flowise.url} (data in {data_dir})")
                measure.seconds["flowise ready"] = round(
                    wait_until_ready(flowise, "/api/v1/ping", timeout=FLOWISE_READY_TIMEOUT), 1
                )
            if options.mode == "queue":
                with measure.step("worker start", log):
                    worker = group.add(start_worker(install, data_dir, log_dir=out / "logs", extra_env=flowise_extra))
                log(f"flowise worker pid {worker.pid}")
            with measure.step("bootstrap and flows", log):
                keys, flows, scoped_key = _setup_real(flowise.url, llm, measure, options.release, basic_auth)
            (out / "target.json").write_text(json.dumps(
                {"url": flowise.url, "flowise": options.release.version, "flows": flows.to_dict(), "llm": llm,
                 "admin": keys.admin.email, **configuration(options)}, indent=2) + "\n")
            if options.fidelity:
                with measure.step("fidelity", log):
                    try:
                        paths = _fidelity(group, flowise, keys, llm, out, measure, options.release, options.cases)
                        log(f"fidelity report: {paths['html']} ({json.dumps(measure.facts.get('fidelity'))})")
                        if "matrix" in paths:
                            log(f"case matrix: {paths['matrix']} ({json.dumps(measure.facts.get('case matrix'))})")
                    except Exception as exc:  # a broken mock must not cost the suite's run
                        measure.facts["fidelity error"] = f"{type(exc).__name__}: {exc}"
                        log(f"fidelity comparison failed: {exc}")
                        code = code or 1
            if options.suite:
                suite_url, ca_bundle = (proxy.url, proxy.ca) if proxy is not None else (flowise.url, None)
                exit_codes: dict[str, int] = {}
                for suite in suite_runs(keys, scoped_key):
                    if options.suite_keys is not None and suite.label not in options.suite_keys:
                        continue
                    step = "conformance suite" if suite.label == "full" else f"conformance suite ({suite.label} key)"
                    with measure.step(step, log):
                        suite_code = _run_suite(suite_url, suite, flows, out, options, ca_bundle)
                    exit_codes[suite.label] = suite_code
                    if suite_code != 0:
                        code = code or (suite_code if suite_code > 0 else 1)
                    triaged = write_triage(out / suite.folder / "results.json", out / suite.triage_name)
                    verdicts: dict[str, int] = {}
                    for item in triaged:
                        verdicts[item.verdict] = verdicts.get(item.verdict, 0) + 1
                    measure.facts["triage" if suite.label == "full" else f"triage ({suite.label} key)"] = verdicts
                    log(f"triage: {out / suite.triage_name} ({json.dumps(verdicts) if verdicts else 'no failures'})")
                measure.facts["suite exit code"] = exit_codes.get("full")
                measure.facts["suite exit codes"] = exit_codes
            log("stopping everything this run started")
    except KeyboardInterrupt:
        log("interrupted: everything started was stopped")
        code = 130
    except InstallError as exc:
        log(f"install failed: {exc}")
        code = EXIT_INSTALL
    except ServerError as exc:
        log(f"a server did not start: {exc}")
        code = EXIT_SERVER
    except (BootstrapError, FlowsError, httpx.HTTPError) as exc:
        log(f"setting up the real Flowise failed: {exc}")
        code = EXIT_SETUP
    finally:
        measure.seconds["total"] = round(time.monotonic() - started, 1)
        measure.write(out / "run.json")
        if not options.keep_data:
            _remove(data_dir)
        log(f"timings: {json.dumps(measure.seconds)}")
    return code


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
