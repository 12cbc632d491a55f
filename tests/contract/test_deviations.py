"""The deviation catalogue reader of the contract core: the format it accepts, what it matches on, where
the shipped catalogue comes from, and that the tools read the catalogue only through it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import contract
from contract.deviations import CatalogueError, Deviations, error_message, load_deviations

ROOT = Path(contract.__file__).resolve().parent.parent


@dataclass(frozen=True)
class Seen:
    """Evidence that is not the suite's ``Exchange``: the reader needs only these attributes."""

    method: str = "GET"
    status: int | None = 500
    content_type: str = "application/json"
    response_body: str | None = None
    request_body: str | None = None
    error: str | None = None


CATALOGUE = '''
[[deviation]]
id = "missing-id-500"
reference = "upstream#1"
summary = "an unknown id is a 500"
versions = ["3.1", "3.0"]
[[deviation.match]]
checks = ["unknown_id_*"]
status = [500]
message = "not found$"
'''


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[deviation]]\nid = "a"\nreference = "r"\n', "at least one"),
        ('[[deviation]]\nid = "a"\nreference = "r"\n[[deviation.match]]\nstatus = [500]\nwat = 1\n', "unknown keys"),
        ('[[deviation]]\nid = "a"\nreference = "r"\n[[deviation.match]]\nmessage = "("\n', "invalid regular expression"),
        ('[[deviation]]\nid = "a"\nreference = "r"\n[[deviation.match]]\nchecks = ["x"]\n', "evidence"),
        ('[[deviation]]\nreference = "r"\n[[deviation.match]]\nstatus = [1]\n', "required"),
        ("not toml [", "deviations"),
    ],
)
def test_bad_catalogues_are_refused(text: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        Deviations.from_toml(text)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    entry = '[[deviation]]\nid = "a"\nreference = "r"\n[[deviation.match]]\nstatus = [500]\n'
    path = tmp_path / "d.toml"
    path.write_text(entry * 2)
    with pytest.raises(CatalogueError, match="duplicate"):
        load_deviations(path)


def test_any_evidence_with_the_fields_is_classified() -> None:
    catalogue = Deviations.from_toml(CATALOGUE)
    body = json.dumps({"statusCode": 500, "success": False, "message": "Error: x - Tool 1 not found"})
    found = catalogue.classify(check="unknown_id_is_404", operation="getToolById", exchange=Seen(response_body=body))
    assert found is not None and found.id == "missing-id-500" and found.applies_to("3.0") and not found.applies_to("2.2")
    assert catalogue.classify(check="unknown_id_is_404", operation="getToolById",
                              exchange=Seen(status=404, response_body=body)) is None
    assert catalogue.classify(check="other", operation="getToolById", exchange=Seen(response_body=body)) is None


def test_an_error_message_is_the_message_or_error_of_a_json_body() -> None:
    assert error_message('{"message": "m", "error": "e"}') == "m"
    assert error_message('{"error": "e"}') == "e"
    assert error_message("<html>404</html>") == "<html>404</html>"
    assert error_message(None) == ""


def test_the_shipped_catalogue_is_the_one_in_the_source_tree() -> None:
    """``contract/deviations.toml`` links to ``conformance/deviations.toml`` as the spec's link does to
    ``spec/``: the package carries the file, the source tree keeps it where its readers look for it."""
    shipped = load_deviations()
    assert len(shipped) > 10
    assert shipped.ids == load_deviations(ROOT / "conformance" / "deviations.toml").ids


def test_the_reader_imports_none_of_the_tools() -> None:
    code = ("import sys, contract.deviations; contract.deviations.load_deviations(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('conformance', 'mockserver', 'load')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_only_the_core_reads_the_catalogue() -> None:
    """No module of the tools defines a catalogue reader or opens ``deviations.toml`` itself: they import
    ``contract.deviations`` (a file in the same format, like the harness's proposals, goes through it too)."""
    offenders = []
    for package in ("conformance", "mockserver", "load"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = path.relative_to(ROOT)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name in ("Deviations", "load_deviations"):
                    offenders.append(f"{where}: defines {node.name}")
                elif isinstance(node, ast.Call) and any(isinstance(arg, ast.Constant) and arg.value == "deviations.toml"
                                                        for arg in node.args):
                    offenders.append(f"{where}:{node.lineno}: opens deviations.toml")
                elif isinstance(node, ast.ImportFrom) and node.module == "conformance.deviations":
                    offenders.append(f"{where}:{node.lineno}: imports conformance.deviations")
    assert offenders == []
    assert not (ROOT / "conformance" / "deviations.py").exists()


def test_a_run_refuses_a_broken_catalogue_as_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance import session
    from conformance.errors import ConfigError

    def broken() -> Deviations:
        raise CatalogueError("deviations.toml: deviation[0]: unknown keys ['x']")

    monkeypatch.setattr(session, "load_deviations", broken)
    with pytest.raises(ConfigError, match="unknown keys"):
        session._catalogue()
