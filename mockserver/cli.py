"""``flowise-mock``: flags → MockSettings → uvicorn. The only reader of argv.

Flags override environment variables (``PORT``, ``FLOWISE_API_KEY``, ``FLOWISE_FILE_SIZE_LIMIT``,
``CORS_ORIGINS``, ``MOCK_*``), which override the defaults.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import TYPE_CHECKING

from pydantic import ValidationError

from contract.argv import attach_values
from mockserver.settings import KNOWN_QUIRKS

if TYPE_CHECKING:
    from mockserver.settings import MockSettings

__all__ = ["main"]

EXAMPLES = """\
examples:
  flowise-mock                                 a Flowise on http://127.0.0.1:3000, data in ./flowise-mock.db
  flowise-mock --no-auth --fast                open to anyone, answers at once (frontend work)
  flowise-mock --db :memory: --api-key sk-dev  ephemeral, with a fixed admin key
  flowise-mock --ttft-ms 300 --itl-ms 40 --itl-dist lognormal   realistic streaming
  flowise-mock --quirks flowise-3.1            reproduce the real server's known deviations

mock-only endpoints: POST /__mock/reset, POST /__mock/seed, GET /__mock/state,
OpenAI-compatible POST /v1/chat/completions and GET /v1/models; the spec at /api/v1/openapi.json.
per-request headers: X-Mock-Delay, X-Mock-Error, X-Mock-Abort-After, X-Mock-TTFT-Ms, X-Mock-ITL-Ms.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="flowise-mock",
        description="A local Flowise (3.x REST API) with real state, Flowise's errors, auth and SSE streaming, "
                    "and a deterministic fake LLM: no LLM key, no Node.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a = p.add_argument
    a("--host", help="interface to bind (default 127.0.0.1)")
    a("--port", type=int, help="port (default 3000, or $PORT)")
    a("--db", help="SQLite file (default ./flowise-mock.db), or :memory: for an ephemeral run")
    a("--data-dir", help="where uploaded attachments are stored (default: beside the db)")
    a("--api-key", help="admin API key to accept (default: a random one, created and printed at first start)")
    a("--no-auth", action="store_true", default=None, help="no API key needed anywhere")
    a("--strict", action="store_true", default=None,
      help="validate every response against the spec; a mismatch becomes a 500 naming the operation")
    a("--quirks", choices=list(KNOWN_QUIRKS), help="reproduce the known deviations of that Flowise release line "
      "from the contract (flowise-3.1 is the newest)")
    a("--seed", dest="seed_file", help="fixtures file (YAML/JSON) loaded into an empty database at start")
    a("--file-size-limit", help="limit on every request's whole body (uploads included), e.g. 50mb; enforced "
                                "while reading: 413 (default $FLOWISE_FILE_SIZE_LIMIT or 50mb)")
    a("--cors-origins", help="comma-separated allowed origins (default *)")
    a("--quiet", action="store_true", help="no per-request log lines")
    a("--workers", type=int, help="server processes sharing the port and the database file (default 1; needs a "
      "file database; rate limits and stream aborts stay per process: see mockserver/workers.py)")
    t = p.add_argument_group("fake LLM timing")
    t.add_argument("--fast", action="store_true", default=None, help="no delays at all")
    t.add_argument("--ttft-ms", type=float, help="time to first token (default 120)")
    t.add_argument("--itl-ms", type=float, help="mean inter-token latency (default 25)")
    t.add_argument("--itl-dist", choices=["fixed", "uniform", "lognormal"], help="inter-token latency distribution")
    t.add_argument("--tokens-per-chunk", type=int, help="tokens per streamed chunk (default 1)")
    t.add_argument("--answer-tokens", type=int, help="pad or cut every answer to this many tokens")
    t.add_argument("--max-concurrent", type=int, help="cap on concurrent generations; the rest queue")
    t.add_argument("--heartbeat", dest="heartbeat_s", type=float, help="seconds between :heartbeat comments (30)")
    t.add_argument("--llm-seed", type=int, help="vary the deterministic answers")
    t.add_argument("--script", dest="script_file", help="scripted answers file (question pattern -> answer)")
    b = p.add_argument_group("agentflow work budget, per prediction (past it the run fails: a 500, or the stream's "
                             "ERROR events; env MOCK_AGENTFLOW_MAX_*)")
    b.add_argument("--agentflow-max-nodes", type=int,
                   help="nodes run, inside Iterations and flows called by Execute Flow too (default 2000)")
    b.add_argument("--agentflow-max-iteration-items", type=int, help="items over all Iteration nodes (default 1000)")
    b.add_argument("--agentflow-max-loop-turns", type=int, help="jumps back over all Loop nodes (default 1000)")
    b.add_argument("--agentflow-max-answer-size",
                   help="executed data produced, e.g. 5mb; a stream counts what it resends after each node "
                        "(default 5mb)")
    g = p.add_argument_group("limits for hostile or slow clients (also MOCK_JS_*, MOCK_*_TIMEOUT_S)")
    g.add_argument("--js-timeout", dest="js_timeout_s", type=float,
                   help="seconds a Custom Function may run, promise continuations included; past it its V8 "
                        "worker process is killed and replaced (default 10)")
    g.add_argument("--js-memory", help="memory a Custom Function may use, typed arrays included (default 128mb)")
    g.add_argument("--js-workers", type=int, help="Custom Functions run at once, one process each (default 2)")
    g.add_argument("--header-timeout", dest="header_timeout_s", type=float,
                   help="seconds a client has to send a request's headers (default 10)")
    g.add_argument("--body-timeout", dest="body_timeout_s", type=float,
                   help="seconds a client has to send a request's whole body; past it: 408 (default 60)")
    g.add_argument("--number-of-proxies", type=int,
                   help="trusted proxies in front: X-Forwarded-For names the client (rate limits) only when "
                        "this is above 0, as Flowise's NUMBER_OF_PROXIES (default 0)")
    return p


def settings_from_args(args: argparse.Namespace) -> MockSettings:
    from mockserver.settings import MockSettings

    given = {k: v for k, v in vars(args).items() if v is not None and k != "quiet"}
    if args.quiet:
        given["log_requests"] = False
    return MockSettings(**given)


def configure_logging() -> None:
    """The mock's log lines (one per request unless --quiet) on stderr; each --workers process calls it too."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(attach_values(sys.argv[1:] if argv is None else argv, ("--api-key",)))
    try:
        settings = settings_from_args(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"flowise-mock: invalid setting {'.'.join(str(x) for x in first['loc'])}: {first['msg']}",
              file=sys.stderr)
        return 2
    from mockserver.app import create_app
    from mockserver.llm.javascript import shutdown as shutdown_sandbox
    from mockserver.operations import UnboundOperationError
    from mockserver.serving import build_server
    from mockserver.spec import SpecError

    configure_logging()
    try:
        app = create_app(settings)
    except (SpecError, UnboundOperationError, ValueError) as exc:
        print(f"flowise-mock: cannot start: {exc}", file=sys.stderr)
        return 2
    state = app.state.mock
    where = f"http://{settings.host}:{settings.port}"
    processes = f", {settings.workers} workers" if settings.workers > 1 else ""
    print(f"flowise-mock {settings.version} on {where}/api/v1 (db: {settings.db}{processes})", flush=True)
    if not settings.auth_on:
        print("auth: off (--no-auth): every route is open", flush=True)
    elif state.admin_key and not settings.api_key:
        print(f"auth: admin API key (shown once, stored hashed): {state.admin_key}", flush=True)
    elif settings.api_key:
        print("auth: the --api-key / FLOWISE_API_KEY admin key is accepted", flush=True)
    else:
        print("auth: on; keys are those created earlier in this database (pass --api-key to fix one)", flush=True)
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {settings.host}: anyone who can reach this port can use the mock "
              "(see README, 'Security'); the admin key also controls /__mock/*", flush=True)
    if settings.workers > 1:  # the database is ready (schema, workspace, admin key): the workers share it
        from mockserver.workers import serve

        state.db.close()
        try:
            serve(settings)
        except KeyboardInterrupt:
            pass
        finally:
            shutdown_sandbox()
        return 0
    server = build_server(app, settings)
    # uvicorn re-raises the signal it caught once it has shut down; a no-op handler makes SIGTERM a clean exit 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        shutdown_sandbox()
        state.db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
