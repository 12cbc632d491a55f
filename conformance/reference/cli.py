"""`python -m conformance.reference`: flags → RunOptions → run_reference. The only reader of argv here.

Kept apart from `__main__` so `flowise-conformance reference` and `tox -e reference` can call the
same `main(argv)`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import time
from pathlib import Path

from conformance.reference.install import CACHE_ENV, FLOWISE_VERSION, default_cache_dir
from conformance.reference.releases import RELEASES, release_for

__all__ = ["build_parser", "main"]

def _cells() -> str:
    from conformance.reference.matrix import CELLS

    return "\n".join(f"  {cell.name:<20} {cell.shape()}: {cell.covers}" for cell in CELLS)


_CELLS = _cells()
EPILOG = f"""\
environment:
  {CACHE_ENV}   where Flowise {FLOWISE_VERSION} and Node 24 are installed (default {default_cache_dir()});
  other releases go to flowise-<version> beside it under ~/.cache/flowise-contract-kit/ unless --cache-dir

releases (--flowise-version): {", ".join(f"{r.version} (Node {r.node_major}, mock --quirks {r.quirks})" for r in RELEASES)}

what it does, in order (every step prints its progress and duration):
  1. installs flowise@{FLOWISE_VERSION} with Node 24 from the npm registry into the cache (first run only,
     about 5 minutes and 3 GB; a marker file makes later runs reuse it)
  2. starts flowise-mock as the LLM (OpenAI-compatible /v1) and the real Flowise on 127.0.0.1,
     with its data in a temporary folder
  3. registers an admin, logs in, creates a full and a view-only API key, a credential and the
     reference flows (direct reply, conversation chain, key-bound, rate-limited, agentflow LLM)
  4. compares the real server with flowise-mock (with and without --quirks flowise-3.1) on the same
     scripted exchanges: fidelity.html / fidelity.md; then on the case matrix generated from the spec
     (every operation x the standard cases): cases/matrix.md, cases/fidelity.html
  5. runs flowise-conformance against the real server: conformance/ and triage.md
  6. stops everything it started (also on failure and Ctrl-C)

--matrix: one run per cell, one after another (a cell covers one dimension beside the baseline):
{_CELLS}

exit codes:
    0  the suite passed against the real Flowise and the fidelity comparison ran
    1  the suite reported failures, or the fidelity comparison could not run
    3  the install failed (its log is under <cache>/logs/)
    4  Flowise or a flowise-mock did not start (its log is under <report-dir>/logs/)
    5  the bootstrap (account, keys) or the reference flows failed
  130  interrupted (Ctrl-C); everything started was stopped
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.reference",
        description=f"Run the conformance suite and the mock-fidelity comparison against a real Flowise {FLOWISE_VERSION}.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--flowise-version", default=FLOWISE_VERSION, metavar="X.Y.Z",
        help=f"the release to install and judge: {', '.join(r.version for r in RELEASES)} or its line "
        f"(3.0, 2.2); default {FLOWISE_VERSION}")
    add("--cache-dir", type=Path, help=f"install folder (default ${CACHE_ENV} or {default_cache_dir()})")
    add("--report-dir", type=Path, help="where reports go (default reports/reference/<timestamp>/)")
    add("--llm-url", help="an OpenAI-compatible base path to use instead of starting flowise-mock (e.g. http://127.0.0.1:8787/v1)")
    add("--install-only", action="store_true", help="install (or check the cached install) and stop")
    add("--no-suite", action="store_true", help="skip the conformance suite")
    add("--no-fidelity", action="store_true", help="skip the mock-vs-real comparison")
    add("--no-cases", action="store_true",
        help="skip the spec-generated case matrix in the comparison (every operation x the standard cases; cases/)")
    add("--keep-data", action="store_true", help="keep the real Flowise's temporary data folder")
    add("--suite-args", default="", help="extra flowise-conformance flags, e.g. '--examples 5 --timeout 30'")
    add("--suite-timeout", type=float, default=900.0, help="stop the suite after this many seconds (default 900)")
    add("--proxy", choices=("nginx", "caddy"),
        help="run the suite through this reverse proxy (Debian package) with TLS and HTTP/2 in front of Flowise")
    add("--matrix", action="store_true",
        help="run the matrix of deployment shapes (versions, proxies, Postgres, queue mode; see below) one cell "
        "after another, and write matrix.md / matrix.html / matrix.json")
    add("--cells", metavar="NAMES", help="with --matrix: only these cells, comma-separated")
    add("--database", choices=("sqlite", "postgres"), default="sqlite",
        help="Flowise's database (default sqlite, a file in the temporary data folder); postgres: the harness "
        "initdb's and starts its own throw-away PostgreSQL on a free loopback port (needs the server binaries: "
        "initdb and postgres on PATH or under /usr/lib/postgresql/<N>/bin; as root they run as the 'postgres' "
        "or 'nobody' user)")
    add("--mode", choices=("main", "queue"), default="main",
        help="main (default): one Flowise process; queue: MODE=queue with its own Redis (needs redis-server: "
        "apt-get install -y redis-server) and a separate 'flowise worker' process that runs the predictions; "
        "works with either --database (server and worker share the SQLite file or the Postgres database)")
    add("--keys", default="", metavar="LABELS",
        help="which suite runs to make, comma-separated: full, scoped, view-only-read-only (default: all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        release = release_for(args.flowise_version)
    except ValueError as exc:
        parser.error(str(exc))
    if args.matrix:
        return _matrix(parser, args)
    from conformance.reference.run import SUITE_LABELS, RunOptions, run_reference

    keys = tuple(label.strip() for label in args.keys.split(",") if label.strip()) or None
    unknown = sorted(set(keys or ()) - set(SUITE_LABELS))
    if unknown:
        parser.error(f"--keys: unknown {', '.join(unknown)} (choose from {', '.join(SUITE_LABELS)})")

    configured = Path(os.environ[CACHE_ENV]) if os.environ.get(CACHE_ENV) and release.version == FLOWISE_VERSION else None
    options = RunOptions(
        release=release,
        cache_dir=args.cache_dir or configured,
        report_dir=args.report_dir,
        llm_url=args.llm_url,
        suite=not args.no_suite,
        fidelity=not args.no_fidelity,
        cases=not args.no_cases,
        install_only=args.install_only,
        keep_data=args.keep_data,
        suite_args=shlex.split(args.suite_args),
        suite_timeout=args.suite_timeout,
        proxy=args.proxy,
        suite_keys=keys,
        database=args.database,
        mode=args.mode,
    )
    return run_reference(options)


def _matrix(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from conformance.reference.matrix import cells_named, run_matrix

    def say(message: str) -> None:
        print(f"reference: {message}", flush=True)

    single = [flag for flag, value in (("--proxy", args.proxy), ("--keys", args.keys), ("--no-suite", args.no_suite),
                                       ("--install-only", args.install_only), ("--llm-url", args.llm_url))
              if value]
    if args.flowise_version != FLOWISE_VERSION:
        single.append("--flowise-version")
    if single:
        parser.error(f"--matrix sets these per cell: leave out {', '.join(single)}")
    try:
        cells = cells_named(args.cells)
    except ValueError as exc:
        parser.error(str(exc))
    out = (args.report_dir or Path("reports") / "reference" / time.strftime("matrix-%Y%m%d-%H%M%S", time.gmtime())).resolve()
    say(f"matrix of {len(cells)} cells; reports go to {out}")
    results = run_matrix(cells, out, log=say, suite_args=shlex.split(args.suite_args), suite_timeout=args.suite_timeout)
    for result in results:
        say(f"{result.cell.name}: {'pass' if result.passed else 'FAIL'} ({result.seconds:.0f} s) {result.problem}".rstrip())
    say(f"matrix report: {out / 'matrix.html'}")
    return 0 if results and all(result.passed for result in results) and len(results) == len(cells) else 1
