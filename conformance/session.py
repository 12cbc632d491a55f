"""One conformance run: the profile, the spec, the client, the ledger, and the outcomes so far.

The pytest plugin creates it when `--flowise-url` is given and hands it to fixtures and hooks; the
objects here know nothing of pytest. Its two duties at the end are the safety ones: delete what
the run created (ledger first, then a sweep for anything else carrying this run's unique name
prefix, in case a created resource's id was never seen), and write the reports. Before the
reports, it turns what the run learned about its key into outcomes: every refusal the key's
permissions do not explain is a failure (`finish_permissions`), and the notes say which
permissions the run assumed and which operations they kept out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conformance.client import TargetClient
from conformance.deployment import Deployment, survey
from conformance.errors import ConfigError
from conformance.families import FAMILIES
from conformance.fixtures import provision
from conformance.ledger import CleanupResult, Entry, Ledger
from conformance.outcomes import Outcome, RunReport, Status
from conformance.permissions import KeyPermissions, OutOfReach
from conformance.probe import discover_permissions, probe_target
from conformance.profile import Capabilities, TargetProfile
from conformance.reports import write_all
from conformance.spec import SpecIndex, load_spec
from conformance.version import VersionChoice, choose_profile
from contract.deviations import CatalogueError, Deviations, load_deviations

__all__ = ["ConformanceSession", "default_report_dir"]


def default_report_dir(now: float | None = None) -> Path:
    return Path("reports") / "conformance" / time.strftime("%Y%m%d-%H%M%S", time.localtime(now))


def _catalogue() -> Deviations:
    """The deviation catalogue; one that does not read is a configuration error of the run."""
    try:
        return load_deviations()
    except CatalogueError as exc:
        raise ConfigError(str(exc)) from None


def _iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(moment))


@dataclass
class ConformanceSession:
    profile: TargetProfile
    spec: SpecIndex
    deviations: Deviations
    client: TargetClient
    ledger: Ledger
    report_dir: Path
    capabilities: Capabilities = field(default_factory=Capabilities)
    outcomes: list[Outcome] = field(default_factory=list)
    notes: dict[str, object] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    #: Cached result of the schemathesis layer (it runs once per session, on first use).
    schema_run: Any = None
    #: What the run's key may do (found out in `prepare`, refined by every answer).
    permissions: KeyPermissions | None = None
    #: The path to Flowise (TLS, HTTP version, proxy in front) and the version judged (found in `prepare`).
    deployment: Deployment = field(default_factory=Deployment)
    version: VersionChoice | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, profile: TargetProfile) -> ConformanceSession:
        """Load what the run needs; raises SpecError/ConfigError before any request is sent."""
        report_dir = profile.report_dir or default_report_dir()
        spec = load_spec(profile.spec_path)
        return cls(
            profile=profile,
            spec=spec,
            deviations=_catalogue(),
            client=TargetClient(profile),
            ledger=Ledger(profile.run_id, path=report_dir / "ledger.json"),
            report_dir=report_dir,
        )

    def prepare(self) -> Capabilities:
        """Probe the target (raises when it cannot be judged), then provision the run's fixtures."""
        capabilities = probe_target(self.client)
        self.deployment = survey(self.client.get("/ping", auth=None), base_url=self.profile.base_url,
                                 tls=self.profile.tls.describe(), max_body=self.profile.max_body)
        self.version = choose_profile(capabilities.version, self.profile.flowise_version)
        self.deviations = self.version.profile.select(self.deviations)
        self.notes["flowise version"] = self.version.note
        self.notes["deployment"] = self.deployment.describe()
        self.permissions = discover_permissions(self.client, self.spec, deletes=capabilities.writes)
        self.client.permissions = self.permissions
        self.capabilities = provision(self.client, self.ledger, capabilities)
        self.profile = self.profile.with_capabilities(self.capabilities)
        self.client.profile = self.profile
        self.client.version = self.version.profile
        return self.capabilities

    def attribute(self, **failure: Any) -> Any:
        """What the proxy in front did, when a failure is its doing (`deployment.attribute`), else None."""
        return self.deployment.attribute(**failure)

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    # -- the end of a run ----------------------------------------------------------------------------

    def _delete(self, entry: Entry) -> int | None:
        """DELETE one resource; an answer that says it was already gone counts as gone (404).

        A real Flowise answers a second DELETE with 200 ``affected: 0`` (Flowise#3221) or with a wrapped
        500 ``... not found`` (``missing-id-500``); both mean nothing of the run is left there.
        """
        response = self.client.delete(entry.delete_path, params=entry.params or None)
        if response.status_code == 200 and _affected(response) == 0:
            return 404
        if response.status_code == 500 and "not found" in response.text.lower():
            return 404
        return response.status_code

    def sweep(self) -> list[CleanupResult]:
        """Delete resources named with this run's prefix that the ledger never heard of."""
        results: list[CleanupResult] = []
        for family in FAMILIES.values():
            try:
                response = self.client.get(family.collection)
                items = response.json() if response.status_code == 200 else []
            except (httpx.HTTPError, ValueError, OutOfReach):
                continue
            if isinstance(items, dict):
                items = items.get("data", [])
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict) or "id" not in item:
                    continue
                if not self.ledger.is_ours_name(family.name_of(item)):
                    continue
                entry = Entry(kind=family.kind, id=str(item["id"]), delete_path=family.item_path(str(item["id"])))
                try:
                    results.append(CleanupResult(entry=entry, status=self._delete(entry)))
                except (httpx.HTTPError, OutOfReach) as exc:
                    results.append(CleanupResult(entry=entry, status=None, error=str(exc)))
        return results

    def sweep_executions(self) -> list[CleanupResult]:
        """Delete the executions of the agentflows this run created: Flowise keeps an agentflow's
        executions when the agentflow is deleted (docs/agentflows.md#executions)."""
        results: list[CleanupResult] = []
        for agentflow in self.ledger.made("chatflow"):
            for _ in range(20):  # a page at a time, until none is left (or the target stops deleting)
                try:
                    response = self.client.get("/executions", params={"agentflowId": agentflow, "limit": "100"})
                    page = response.json() if response.status_code == 200 else {}
                except (httpx.HTTPError, ValueError, OutOfReach):
                    break
                items = page.get("data") if isinstance(page, dict) else None
                ids = [str(item["id"]) for item in items or [] if isinstance(item, dict) and "id" in item]
                if not ids:
                    break
                entry = Entry(kind="execution", id=",".join(ids), delete_path="/executions")
                try:
                    answer = self.client.request("DELETE", "/executions", json={"executionIds": ids})
                except (httpx.HTTPError, OutOfReach) as exc:
                    results.append(CleanupResult(entry=entry, status=None, error=str(exc)))
                    break
                results.append(CleanupResult(entry=entry, status=answer.status_code))
                if answer.status_code != 200 or _affected(answer) == 0:
                    break
        return results

    def cleanup(self) -> list[CleanupResult]:
        if self.profile.read_only:
            return []
        results = self.ledger.cleanup(self._delete)
        if self.capabilities.writes:
            results += self.sweep()
            results += self.sweep_executions()
        failed = [result for result in results if not result.ok]
        self.notes["cleanup"] = f"{len(results) - len(failed)} deleted, {len(failed)} not deleted"
        if failed:
            self.notes["cleanup_failures"] = "; ".join(
                f"{result.entry.kind} {result.entry.id}: {result.status or result.error}" for result in failed
            )
        return results

    def finish_permissions(self) -> int:
        """Record every contradiction not reported yet as a failure, and the key's notes; returns how
        many failures were added."""
        permissions = self.permissions
        if permissions is None:
            return 0
        added = 0
        for found in permissions.unreported():
            self.record(Outcome(layer="permissions", operation=found.operation, check=found.check,
                                status=Status.FAIL, message=found.message, exchange=found.exchange,
                                source="permissions"))
            added += 1
        self.notes.update(permissions.notes())
        return added

    def report(self) -> RunReport:
        return RunReport(
            target=self.profile.base_url,
            run_id=self.profile.run_id,
            started=_iso(self.started),
            finished=_iso(time.time()),
            strict=self.profile.strict,
            read_only=self.profile.read_only,
            capabilities=self.capabilities.to_dict(),
            outcomes=list(self.outcomes),
            target_facts={
                "version": None if self.version is None else self.version.to_dict(),
                "deployment": self.deployment.to_dict(),
            },
            notes={
                "spec": f"{self.spec.source} (version {self.spec.version})",
                "requests sent by the semantics layer": self.client.sent,
                **self.notes,
            },
        )

    def write_reports(self) -> Mapping[str, Path]:
        return write_all(self.report(), self.report_dir, junit=self.profile.junit)


def _affected(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    # `DELETE /executions/{id}` answers `{success, deletedCount}` instead of TypeORM's `{raw, affected}`.
    return body.get("affected", body.get("deletedCount"))
