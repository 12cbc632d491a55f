"""Version-specific expectations: a deviation's `versions` decide on which release lines the suite
excuses it, and `--compare-versions` tells an operator what an upgrade changes on the wire."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.errors import ConfigError
from conformance.exchange import Exchange
from conformance.profile import default_spec_path
from conformance.spec import load_spec
from conformance.upgrade import LINES, WireChange, compare_versions, line_of, load_wire_changes, parse_span
from conformance.version import PROFILES, choose_profile
from contract.deviations import CatalogueError, Deviations, load_deviations

CATALOGUE = '''
[[deviation]]
id = "everywhere-500"
reference = "r1"
summary = "on every line"
[[deviation.match]]
status = [500]
message = "^Error: everywhere"

[[deviation]]
id = "old-only-401"
reference = "r2"
summary = "only 2.2 and 3.0"
versions = ["2.2", "3.0"]
version_notes = { "2.2" = "also without a key" }
[[deviation.match]]
status = [401]

[[deviation]]
id = "new-only-200"
reference = "r3"
summary = "only 3.1"
versions = ["3.1"]
[[deviation.match]]
status = [200]
body = "affected"
'''


def exchange(status: int, body: str) -> Exchange:
    return Exchange(method="PUT", url="http://x/api/v1/chatmessage/abort/a/b", status=status,
                    response_body=body, response_headers={"content-type": "application/json"})


@pytest.fixture
def catalogue() -> Deviations:
    return Deviations.from_toml(CATALOGUE)


def test_supported_lines_have_profiles() -> None:
    assert LINES == ("2.2", "3.0", "3.1")
    assert [profile.name for profile in PROFILES] == ["flowise-3.1", "flowise-3.0", "flowise-2.2"]
    for version, name in (("3.1.4", "flowise-3.1"), ("3.0.13", "flowise-3.0"), ("2.2.8", "flowise-2.2")):
        choice = choose_profile(version)
        assert choice.exact and choice.profile.name == name
    assert not choose_profile("2.1.0").exact and choose_profile("2.1.0").profile.name == "flowise-3.1"


def test_a_profile_keeps_only_its_lines_deviations(catalogue: Deviations) -> None:
    by_line = {profile.line_name: profile.select(catalogue).ids for profile in PROFILES}
    assert by_line == {"3.1": ["everywhere-500", "new-only-200"],
                       "3.0": ["everywhere-500", "old-only-401"],
                       "2.2": ["everywhere-500", "old-only-401"]}
    on_22 = choose_profile("2.2.8").profile.select(catalogue)
    on_31 = choose_profile("3.1.4").profile.select(catalogue)
    # The same 401 is excused on 2.2 and is a failure on 3.1.
    assert on_22.classify(check="c", operation="abortChatMessage", exchange=exchange(401, "{}")).id == "old-only-401"
    assert on_31.classify(check="c", operation="abortChatMessage", exchange=exchange(401, "{}")) is None


@pytest.mark.parametrize(("text", "message"), [
    ('versions = "3.1"', "versions: a list of strings"),
    ('versions = ["3"]', 'release lines look like "3.1"'),
    ('version_notes = { "three" = "x" }', "version_notes: a table of release line"),
])
def test_bad_version_tags_are_refused(text: str, message: str) -> None:
    toml = f'[[deviation]]\nid = "x"\nreference = "r"\n{text}\n[[deviation.match]]\nstatus = [500]\n'
    with pytest.raises(CatalogueError, match=message):
        Deviations.from_toml(toml)


def test_the_shipped_catalogue_and_changes_name_supported_lines_and_real_operations() -> None:
    spec = load_spec(default_spec_path())
    for deviation in load_deviations():
        assert set(deviation.versions) <= set(LINES), deviation.id
        assert {line for line, _ in deviation.version_notes} <= set(LINES), deviation.id
    changes = load_wire_changes()
    assert changes
    for change in changes:
        assert change.since in LINES[1:]
        for operation_id in change.operations:
            assert spec.get(operation_id) is not None, (change.id, operation_id)
    for operation in spec:  # a note's versions name supported lines, and its id is in the catalogue
        for note in operation.raw.get("x-flowise-upstream") or ():
            assert set(note.get("versions") or ()) <= set(LINES), (operation.operation_id, note)


def test_an_upgrade_lists_changes_crossed_and_the_deviations_fate(catalogue: Deviations) -> None:
    changes = [
        WireChange(id="keys", since="3.0", summary="s", before="any key", after="permissions", reference="r"),
        WireChange(id="abort", since="3.1", summary="s", before="needs a key", after="public", reference="r",
                   operations=("abortChatMessage",)),
    ]
    report = compare_versions("2.2.8", None, catalogue=catalogue, changes=changes)
    assert (report.new, report.direction) == ("3.1.4", "upgrade")
    assert [change.id for change in report.changes] == ["keys", "abort"]
    fates = {item.deviation.id: item.verdict for item in report.deviations}
    assert fates == {"everywhere-500": "stays", "old-only-401": "goes away", "new-only-200": "appears"}
    text = report.to_markdown()
    assert "# Flowise 2.2.8 → 3.1.4" in text and "- on 2.2.8: any key" in text and "- on 3.1.4: permissions" in text
    assert "on 2.2.8: also without a key" in text

    within = compare_versions("3.0.13", "3.1.4", catalogue=catalogue, changes=changes)
    assert [change.id for change in within.changes] == ["abort"]
    down = compare_versions("3.1.4", "3.0.13", catalogue=catalogue, changes=changes)
    assert down.direction == "downgrade" and "- on 3.1.4: public" in down.to_markdown()
    same = compare_versions("3.1.0", "3.1.4", catalogue=catalogue, changes=changes)
    assert same.changes == [] and {item.verdict for item in same.deviations} == {"stays"}


def test_versions_and_spans_are_parsed() -> None:
    assert line_of("3.0.13") == "3.0" and line_of("v2.2") == "2.2"
    with pytest.raises(ConfigError, match="not on a supported release line"):
        line_of("1.8.4")
    assert parse_span("2.2.8") == ("2.2.8", None)
    assert parse_span("2.2.8:3.0.13") == parse_span("2.2.8..3.0.13") == ("2.2.8", "3.0.13")


def test_compare_versions_on_the_command_line(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "conformance.cli", "--compare-versions"]
    done = subprocess.run([*run, "2.2.8", "--json"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["from"], report["to"], report["direction"]) == ("2.2.8", "3.1.4", "upgrade")
    assert {"key-permissions", "accounts-replace-basic-auth"} <= {change["id"] for change in report["changes"]}
    bad = subprocess.run([*run, "1.0.0"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert bad.returncode == 2 and "not on a supported release line" in bad.stderr


def test_the_shipped_data_tells_a_22_operator_what_moves() -> None:
    """From the real catalogue and spec: what the reference runs of 2.2.8 and 3.0.13 found."""
    report = compare_versions("2.2.8", "3.1.4", spec=load_spec(default_spec_path()))
    fates = {item.deviation.id: item.verdict for item in report.deviations}
    assert fates["no-key-permissions"] == fates["metrics-public"] == fates["agentflows-missing"] == "goes away"
    assert fates["leads-get-workspace-404"] == "appears" and fates["missing-id-500"] == "stays"
    text = report.to_markdown()
    assert "new on 3.1.4: deleteChatflow" in text  # 2.2 answers its unknown id 200, 3.x 500
    assert "### key-permissions (since 3.0)" in text
    within = compare_versions("3.0.13", spec=load_spec(default_spec_path()))
    assert {item.deviation.id for item in within.deviations if item.verdict == "goes away"} >= {
        "end-frame-without-colon", "leads-list-public", "human-input-no-action"}


@pytest.mark.slow
@pytest.mark.parametrize(("quirks", "expected"), [
    ("flowise-3.0", {"end-frame-without-colon", "leads-list-public", "human-input-no-action"}),
    # 2.2: no key is written (docs/real-flowise.md#api-key-file-race), so `no-key-permissions` cannot show
    ("flowise-2.2", {"metrics-public", "api-keys-json-store", "leads-list-public"}),
])
def test_the_suite_judges_an_older_line_by_its_own_catalogue(quirks: str, expected: set[str], tmp_path: Path) -> None:
    """The mock reproducing a line reports that line's version; the suite picks its profile and
    recognises exactly that line's deviations: the run passes, and fails with --strict."""
    import os

    from conformance.embedded import EmbeddedMock

    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWISE_")}
    with EmbeddedMock(env=env, extra_args=("--quirks", quirks), log_path=tmp_path / "mock.log") as mock:
        command = [sys.executable, "-m", "conformance.cli", mock.base_url, "--api-key", mock.api_key,
                   "--layer", "semantics", "--timeout", "3", "--report-dir", str(tmp_path)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=400, env=env,
                              cwd=Path(__file__).resolve().parents[2])
    results = json.loads((tmp_path / "results.json").read_text())
    found = {outcome["deviation"]["id"] for outcome in results["outcomes"] if outcome["deviation"]}
    assert done.returncode == 0, done.stdout[-3000:]
    assert expected <= found, found
    assert results["notes"]["flowise version"].endswith(f"profile {quirks}")
    assert "leads-get-workspace-404" not in found  # 3.1's, not this line's
    key_writes = [o for o in results["outcomes"] if o["status"] == "skip" and "api-key-file-race" in o["message"]]
    assert bool(key_writes) == (quirks == "flowise-2.2"), key_writes
