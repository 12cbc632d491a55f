"""The suite judges a Flowise with the key an operator actually holds.

Runs of the whole suite against `flowise-mock` with keys of several permission subsets (a team's
scoped key, the same able to read its own permissions, a random one, view-only keys in
`--read-only`) all pass: what a key may not do is skipped with the permission named, and nothing
of the run is left behind. A mutant that refuses (403 Forbidden) an operation the key holds still
fails, whether the suite read the key's permissions or learned them from the target's answers.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conformance_harness import run_suite

from conformance.embedded import EmbeddedMock
from contract.process import serve_in_thread
from mockserver import MockSettings, create_app
from mockserver.auth import ALL_PERMISSIONS

#: The key of the issue: may manage chatflows, agentflows, tools, assistants, variables and document
#: stores, but not credentials, API keys or evaluations.
TEAM = tuple(p for p in ALL_PERMISSIONS if p.split(":")[0] in
             {"chatflows", "agentflows", "tools", "assistants", "variables", "documentStores"})
#: The same key, able to list keys (so the suite reads its permissions) and to manage keys below it.
TEAM_WITH_KEYS = TEAM + tuple(p for p in ALL_PERMISSIONS if p.startswith("apikeys:"))
#: Able to create (and delete) keys but not to list them: the suite learns what it may grant.
TEAM_CREATING_KEYS = TEAM + ("apikeys:create", "apikeys:delete")
VIEWS = tuple(p for p in ALL_PERMISSIONS if p.endswith(":view"))
# A new seed each run; under pytest-xdist every worker derives the same one from the run's id, or the
# workers would collect differently named tests and xdist would refuse the run.
SEED = int(os.environ.get("CONFORMANCE_PERMISSION_SEED")
           or (int(os.environ["PYTEST_XDIST_TESTRUNUID"], 16) % 10**6 if os.environ.get("PYTEST_XDIST_TESTRUNUID")
               else random.SystemRandom().randrange(10**6)))


def random_subset(pool: tuple[str, ...], seed: int) -> tuple[str, ...]:
    rng = random.Random(seed)
    chosen = tuple(p for p in pool if rng.random() < 0.5)
    return chosen or (rng.choice(pool),)


def create_key(url: str, admin: str, name: str, permissions: tuple[str, ...]) -> str:
    response = httpx.post(f"{url}/api/v1/apikey", json={"keyName": name, "permissions": list(permissions)},
                          headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert response.status_code == 200, response.text
    return next(item["apiKey"] for item in response.json() if item["keyName"] == name)


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMock]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWISE_")}
    with EmbeddedMock(env=env, log_path=tmp_path_factory.mktemp("mock") / "mock.log") as embedded:
        yield embedded


def run_cli(mock: EmbeddedMock, key: str, report_dir: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWISE_")}
    command = [sys.executable, "-m", "conformance.cli", mock.base_url, "--api-key", key, "--examples", "2",
               "--max-body", "1mb", "--report-dir", str(report_dir), *extra]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=report_dir)
    results_path = report_dir / "results.json"
    return completed, json.loads(results_path.read_text()) if results_path.exists() else {}


def leftovers(mock: EmbeddedMock, run_id: str) -> list[Any]:
    """What the run `run_id` created and left behind (every resource it creates carries its id)."""
    with httpx.Client(base_url=mock.base_url + "/api/v1", headers={"Authorization": f"Bearer {mock.api_key}"}) as client:
        return [item for path in ("/chatflows", "/tools", "/variables", "/assistants", "/document-store/store",
                                  "/credentials", "/apikey")
                for item in client.get(path).json() if f"conformance-{run_id}" in json.dumps(item)]


#: Two whole runs in the default tier (half a minute); four more with the slow tier (--run-slow, CI).
CASES = [
    pytest.param(TEAM, (), id="team-key"),
    pytest.param(TEAM_WITH_KEYS, (), id="team-key-reading-its-permissions", marks=pytest.mark.slow),
    pytest.param(TEAM_CREATING_KEYS, (), id="team-key-creating-keys-it-cannot-list", marks=pytest.mark.slow),
    pytest.param(random_subset(ALL_PERMISSIONS, SEED), (), id=f"random-key-seed-{SEED}", marks=pytest.mark.slow),
    pytest.param(("chatflows:view",), ("--read-only",), id="view-only-key-read-only"),
    pytest.param(random_subset(VIEWS, SEED + 1), ("--read-only",), id=f"random-view-key-read-only-seed-{SEED}",
                 marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("permissions", "extra"), CASES)
def test_the_suite_passes_with_any_key(mock: EmbeddedMock, tmp_path: Path, permissions: tuple[str, ...],
                                       extra: tuple[str, ...], request: pytest.FixtureRequest) -> None:
    """Against a healthy server, a run with a scoped key passes; what the key cannot reach is skipped
    with the permission named (replay a random case with CONFORMANCE_PERMISSION_SEED=<seed>)."""
    key = create_key(mock.base_url, mock.api_key, f"scoped-{request.node.callspec.id}"[:60], permissions)
    completed, results = run_cli(mock, key, tmp_path, *extra)
    context = f"permissions {sorted(permissions)}\n{completed.stdout[-4000:]}\n{completed.stderr[-2000:]}"
    failed = [f"{o['operation']} · {o['check']}: {o['message'][:300]}" for o in results.get("outcomes", [])
              if o["status"] == "fail"]
    assert results and not failed, "\n".join(failed[:30]) + "\n" + context
    assert completed.returncode == 0, context
    notes = results["notes"]
    assert "key permissions" in notes and "out of this key's reach" in notes, notes
    lacking = {p.split(":")[0] for p in ALL_PERMISSIONS} - {p.split(":")[0] for p in permissions}
    reach_skips = [o for o in results["outcomes"] if o["status"] == "skip" and "out of this key's reach" in o["message"]]
    if "credentials" in lacking:
        named = [o for o in reach_skips if "credentials:" in o["message"]]
        assert named, [o["message"] for o in reach_skips] or context
        assert re.search(r"needs (one of )?credentials:", named[0]["message"]), named[0]
    if permissions in (TEAM_WITH_KEYS, TEAM_CREATING_KEYS):
        # schemathesis created API keys with this key, never asking for a permission it lacks.
        schema = {(o["operation"], o["check"]): o["status"] for o in results["outcomes"] if o["layer"] == "schema"}
        assert schema.get(("createApiKey", "positive_data_acceptance")) == "pass", schema
    assert leftovers(mock, results["run_id"]) == []


# -- a real permission defect still fails ------------------------------------------------------------

ADMIN = "sk-permission-mutant-admin"
MODULES = ["semantics/test_crud.py::test_lifecycle[tool]", "semantics/test_not_found.py::test_unknown_id_is_404"]


def forbidding(app: Any, method: str, path: str) -> Any:
    """The mock, except that `method path` (a regex) answers Flowise's 403 whatever the key holds."""
    pattern = re.compile(path)

    async def mutant(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == method and pattern.fullmatch(scope["path"]):
            body = b'{"message":"Forbidden"}'
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return mutant


@pytest.mark.parametrize("reads_its_permissions", [True, False], ids=["permissions-read", "permissions-learned"])
@pytest.mark.parametrize("mutated", [False, True], ids=["healthy", "mutant-refuses-getToolById"])
def test_a_refusal_of_a_held_permission_fails(tmp_path: Path, reads_its_permissions: bool, mutated: bool) -> None:
    app = create_app(MockSettings(db=":memory:", api_key=ADMIN, fast=True, strict=True, log_requests=False))
    if mutated:
        app = forbidding(app, "GET", r"/api/v1/tools/[^/]+")
    permissions = ("chatflows:view", "chatflows:create", "chatflows:delete", "tools:view", "tools:create",
                   "tools:update", "tools:delete") + (("apikeys:view",) if reads_its_permissions else ())
    with serve_in_thread(app) as url:
        key = create_key(url, ADMIN, "tools-team", permissions)
        run = run_suite(url, MODULES, tmp_path, api_key=key)
    notes = run.results.get("notes", {})
    assert ("read from the key's own entry" in notes.get("key permissions", "")) is reads_its_permissions, notes
    skipped = [o["message"] for o in run.outcomes("skip")]
    assert any("getCredentialById needs" in message for message in skipped), skipped  # out of reach: skipped
    if not mutated:
        assert run.returncode == 0 and not run.outcomes("fail"), run.output[-3000:]
        return
    assert run.returncode == 1, run.output[-3000:]
    failed = run.failed_checks()
    assert ("getToolById", "permission_is_honoured") in failed, failed
    assert ("getToolById", "unknown_id_is_404") in failed, failed
    honoured = next(o for o in run.outcomes("fail") if o["check"] == "permission_is_honoured")
    assert "tools:view" in honoured["message"] and honoured["exchange"]["status"] == 403, honoured
