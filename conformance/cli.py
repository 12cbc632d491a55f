"""`flowise-conformance`: flags → TargetProfile → pytest.main → exit code. The only reader of argv.

With no BASE_URL it starts the embedded mock, runs against it and stops it: the one-command demo.
Before handing over to pytest it loads the spec and probes the target itself, so that an unusable
target ends the run at once with one line and a distinct exit code (see `--help`).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from conformance.embedded import EMBEDDED_BODY_LIMIT, EmbeddedMock
from conformance.errors import ConfigError, ConformanceError
from conformance.exitcodes import ExitCode, exit_code_for, help_table
from conformance.ledger import new_run_id
from conformance.profile import DEFAULT_EXAMPLES, DEFAULT_TIMEOUT, TargetProfile, build_profile
from conformance.session import default_report_dir
from contract.argv import attach_values

__all__ = ["build_parser", "main"]

PACKAGE_DIR = Path(__file__).resolve().parent

EPILOG = f"""\
environment (a flag wins over its variable):
  FLOWISE_URL, FLOWISE_API_KEY, FLOWISE_CHATFLOW_ID (comma-separated), FLOWISE_READ_ONLY,
  FLOWISE_EXAMPLES, FLOWISE_TIMEOUT, FLOWISE_ONLY, FLOWISE_REPORT_DIR, FLOWISE_JUNIT,
  FLOWISE_STRICT, FLOWISE_RATE_LIMIT, FLOWISE_MAX_BODY, FLOWISE_SPEC, FLOWISE_SEED,
  FLOWISE_CA_BUNDLE (then SSL_CERT_FILE, REQUESTS_CA_BUNDLE), FLOWISE_INSECURE, FLOWISE_VERSION

exit codes:
{help_table()}

examples:
  flowise-conformance                                  run everything against a fresh embedded mock
  flowise-conformance reference --help                 the same against a real Flowise installed locally
  flowise-conformance https://flowise.example.com --api-key $KEY --read-only
  flowise-conformance http://localhost:3000 --api-key $KEY --only chatflows,prediction --strict
  flowise-conformance https://example.com/flowise --api-key $KEY --ca-bundle company-ca.pem

It creates only resources named conformance-<run>-..., deletes exactly those at the end (also on
failure and Ctrl-C), and sends requests to BASE_URL only.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowise-conformance",
        description="Check a Flowise (or a Flowise-compatible server) against the Flowise API contract: "
        "schema conformance with schemathesis, then Flowise's semantics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("url", nargs="?", metavar="BASE_URL", help="the target, e.g. http://localhost:3000 (default: embedded mock)")
    add("--api-key", metavar="K", help="API key (sent as Authorization: Bearer K)")
    add("--chatflow-id", action="append", default=[], metavar="ID", help="a chatflow that answers (repeatable)")
    add("--read-only", action="store_true", default=None, help="send GET requests only; create nothing")
    add("--examples", type=int, metavar="N", help=f"schemathesis examples per operation (default {DEFAULT_EXAMPLES})")
    add("--timeout", type=float, metavar="S", help=f"request timeout, streams included (default {DEFAULT_TIMEOUT:g})")
    add("--only", metavar="TAG,...", help="only operations and checks with these spec tags")
    add("--report-dir", metavar="DIR", help="where reports go (default reports/conformance/<timestamp>/)")
    add("--junit", metavar="FILE", help="JUnit XML path (default <report-dir>/junit.xml)")
    add("--strict", action="store_true", default=None, help="known upstream deviations fail the run too")
    add("--rate-limit", type=float, metavar="R", help="at most R requests per second")
    add("--max-body", metavar="SIZE", help="the target's FLOWISE_FILE_SIZE_LIMIT, e.g. 50mb (enables the 413 test)")
    add("--seed", type=int, metavar="N", help="schemathesis' seed: the same seed generates the same requests again "
        "(each run's seed is in its report notes)")
    add("--spec", metavar="PATH", help="the OpenAPI document (default spec/flowise.openapi.yaml)")
    add("--ca-bundle", metavar="FILE", help="PEM file of the CA(s) to trust for an https:// target "
        "(default: FLOWISE_CA_BUNDLE, SSL_CERT_FILE, REQUESTS_CA_BUNDLE, else the default store)")
    add("--insecure", action="store_true", default=None, help="do not verify TLS certificates (loudly warned)")
    add("--flowise-version", metavar="X.Y.Z", help="apply this Flowise version's expectations instead of "
        "the version the target reports (GET /api/v1/version)")
    add("--compare-versions", metavar="OLD[:NEW]", help="print what changes on the wire from Flowise OLD to NEW "
        "(default the newest supported, 3.1.4): contract changes and known deviations, from the spec and the "
        "catalogue; no target is contacted (add --json for JSON)")
    add("--json", action="store_true", help="with --compare-versions: JSON instead of Markdown")
    add("--layer", choices=["all", "schema", "semantics"], default="all", help="run one layer only (default all)")
    add("-v", "--verbose", action="count", default=0, help="more pytest output")
    return parser


def _options(args: argparse.Namespace) -> dict[str, object]:
    return {
        "url": args.url,
        "api_key": args.api_key,
        "chatflow_ids": args.chatflow_id,
        "read_only": args.read_only,
        "examples": args.examples,
        "timeout": args.timeout,
        "only": args.only,
        "report_dir": args.report_dir,
        "junit": args.junit,
        "strict": args.strict,
        "rate_limit": args.rate_limit,
        "max_body": args.max_body,
        "spec": args.spec,
        "seed": args.seed,
        "ca_bundle": args.ca_bundle,
        "insecure": args.insecure,
        "flowise_version": args.flowise_version,
    }


def pytest_args(profile: TargetProfile, *, layer: str, verbose: int) -> list[str]:
    """The pytest command line for one run (the plugin is loaded by its entry point name)."""
    paths = {
        "all": [PACKAGE_DIR / "schema", PACKAGE_DIR / "semantics"],
        "schema": [PACKAGE_DIR / "schema"],
        "semantics": [PACKAGE_DIR / "semantics"],
    }[layer]
    args = [
        *(str(path) for path in paths),
        "-c",
        os.devnull,
        "--rootdir",
        str(PACKAGE_DIR),
        # Hermetic: only this suite's plugin, whatever else is installed beside it.
        "--disable-plugin-autoload",
        "-p",
        "flowise_conformance",
        "-p",
        "no:cacheprovider",
        "-o",
        "console_output_style=count",
        "-rfEs" if verbose else "-rfE",
        # Every value as `--option=value`: a value may begin with "-" (an API key often does), which
        # `--option value` would read as another option.
        f"--flowise-url={profile.base_url}",
        f"--flowise-run-id={profile.run_id}",
        f"--flowise-examples={profile.examples}",
        f"--flowise-timeout={profile.timeout}",
        f"--flowise-spec={profile.spec_path}",
        f"--flowise-report-dir={profile.report_dir}",
    ]
    if verbose:
        args.append("-" + "v" * verbose)
    if profile.api_key:
        args.append(f"--flowise-api-key={profile.api_key}")
    args += [f"--flowise-chatflow-id={chatflow}" for chatflow in profile.chatflow_ids]
    if profile.read_only:
        args.append("--flowise-read-only")
    if profile.strict:
        args.append("--flowise-strict")
    if profile.only:
        args.append(f"--flowise-only={','.join(profile.only)}")
    if profile.junit:
        args.append(f"--flowise-junit={profile.junit}")
    if profile.rate_limit:
        args.append(f"--flowise-rate-limit={profile.rate_limit}")
    if profile.seed is not None:
        args.append(f"--flowise-seed={profile.seed}")
    if profile.max_body:
        args.append(f"--flowise-max-body={profile.max_body}")
    if profile.tls.insecure:
        args.append("--flowise-insecure")
    elif profile.tls.ca_bundle is not None:
        args.append(f"--flowise-ca-bundle={profile.tls.ca_bundle}")
    if profile.flowise_version:
        args.append(f"--flowise-target-version={profile.flowise_version}")
    return args


def _preflight(profile: TargetProfile) -> None:
    """Load the spec and probe the target: the one-line, distinct-exit-code failures."""
    from conformance.client import TargetClient
    from conformance.probe import probe_target
    from conformance.spec import load_spec

    spec = load_spec(profile.spec_path)
    unknown = sorted(set(profile.only) - set(spec.tags))
    if unknown:
        raise ConfigError(f"--only: unknown tags {', '.join(unknown)} (the spec has {', '.join(spec.tags)})")
    with TargetClient(profile) as client:
        probe_target(client)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _map_pytest_exit(code: int) -> ExitCode:
    import pytest

    return {
        pytest.ExitCode.OK: ExitCode.OK,
        pytest.ExitCode.TESTS_FAILED: ExitCode.FAILED,
        pytest.ExitCode.INTERRUPTED: ExitCode.INTERRUPTED,
        pytest.ExitCode.INTERNAL_ERROR: ExitCode.INTERNAL,
        pytest.ExitCode.USAGE_ERROR: ExitCode.USAGE,
        pytest.ExitCode.NO_TESTS_COLLECTED: ExitCode.USAGE,
    }.get(code, ExitCode(code) if code in ExitCode._value2member_map_ else ExitCode.INTERNAL)  # type: ignore[call-overload]


def _say(message: str) -> None:
    print(f"flowise-conformance: {message}", file=sys.stderr, flush=True)


SUITE_MODULES = ("pytest", "schemathesis", "hypothesis")
SUITE_EXTRA_HINT = ("the conformance suite needs {missing}, which this install lacks: "
                    "pip install 'flowise-contract-kit[suite]'")


def missing_suite_modules() -> list[str]:
    """The suite's own dependencies are the `suite` extra; a base install has only the mock's."""
    return [name for name in SUITE_MODULES if importlib.util.find_spec(name) is None]


#: Options whose value may begin with "-" (contract/argv.py).
SECRET_OPTIONS = ("--api-key",)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["reference"]:
        # `flowise-conformance reference ...`: install and run a real Flowise, then the suite on it.
        from conformance.reference.cli import main as reference_main

        if not {"-h", "--help"} & set(argv) and (missing := missing_suite_modules()):
            _say(SUITE_EXTRA_HINT.format(missing=", ".join(missing)))
            return int(ExitCode.USAGE)
        return reference_main(argv[1:])
    args = build_parser().parse_args(attach_values(argv, SECRET_OPTIONS))
    if args.compare_versions:
        from conformance.upgrade import main as compare_main

        try:
            print(compare_main(args.compare_versions, spec_path=Path(args.spec) if args.spec else None,
                               as_json=args.json))
        except ConfigError as exc:
            _say(str(exc))
            return int(ExitCode.USAGE)
        return int(ExitCode.OK)
    if missing := missing_suite_modules():
        _say(SUITE_EXTRA_HINT.format(missing=", ".join(missing)))
        return int(ExitCode.USAGE)
    options = _options(args)
    env = dict(os.environ)
    run_id = new_run_id()
    report_dir = Path(args.report_dir or env.get("FLOWISE_REPORT_DIR") or default_report_dir())
    options["report_dir"] = str(report_dir)
    mock: EmbeddedMock | None = None
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        if not (args.url or env.get("FLOWISE_URL")):
            mock = EmbeddedMock(env=env, log_path=report_dir / "flowise-mock.log")
            options["url"] = mock.start()
            _say(f"no BASE_URL: running against the embedded flowise-mock at {mock.base_url} (stopped at the end)")
            options["api_key"] = mock.api_key
            options["max_body"] = options["max_body"] or EMBEDDED_BODY_LIMIT[0]
        profile = build_profile(options, env, run_id=run_id)
        if profile.tls.insecure:
            from conformance.tls import INSECURE_WARNING

            _say(INSECURE_WARNING)
        _preflight(profile)
        import pytest

        code = pytest.main(pytest_args(profile, layer=args.layer, verbose=args.verbose))
        return int(_map_pytest_exit(int(code)))
    except ConformanceError as exc:
        _say(str(exc))
        return int(exit_code_for(exc))
    except KeyboardInterrupt:
        _say("interrupted")
        return int(ExitCode.INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if mock is not None:
            mock.stop()


if __name__ == "__main__":
    raise SystemExit(main())
