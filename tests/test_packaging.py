"""The installed surface: console scripts answer --help, and each package's public names are exactly its __all__."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from contract.process import free_port


@pytest.mark.parametrize("script", ["flowise-mock", "flowise-conformance", "flowise-load"])
def test_console_script_has_help(script: str) -> None:
    beside = Path(sys.executable).parent / script
    path = str(beside) if beside.exists() else shutil.which(script)
    assert path, f"{script} is not installed (pip install -e .)"
    result = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout.lower() and len(result.stdout) > 300


def test_mockserver_exports_only_the_app_factory_and_settings() -> None:
    module = importlib.import_module("mockserver")
    assert sorted(module.__all__) == ["MockSettings", "create_app"]
    assert module.create_app.__module__ == "mockserver.app" and module.MockSettings.__module__ == "mockserver.settings"
    public = {name for name in vars(module) if not name.startswith("_") and not isinstance(
        getattr(module, name), type(importlib)) and name != "annotations"}
    assert public == set(module.__all__)


def test_the_launcher_does_not_import_the_mock_app() -> None:
    """flowise-load imports the launcher in processes locust patches; the app (FastAPI, SQLite) stays out."""
    code = "import sys, contract.process; print(sorted(m for m in sys.modules if m in ('mockserver.app', 'fastapi')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_mock_refuses_an_unusable_spec(tmp_path) -> None:
    bad = tmp_path / "spec.yaml"
    bad.write_text("openapi: 3.1.0\npaths: {}\n")
    from mockserver import MockSettings, create_app
    from mockserver.spec import SpecError, load_spec

    with pytest.raises(SpecError, match="no paths"):
        create_app(MockSettings(db=":memory:", log_requests=False), spec=load_spec(bad))
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")


SUITE_AND_LOAD_MODULES = ("schemathesis", "hypothesis", "pytest", "locust", "gevent", "numpy", "matplotlib")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_the_mock_imports_nothing_of_the_suite_or_the_load_tool() -> None:
    """The base install has only the mock's dependencies: importing and building the mock must not need more."""
    code = ("import sys, mockserver, mockserver.cli; "
            "mockserver.create_app(mockserver.MockSettings(db=':memory:', log_requests=False)); "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {SUITE_AND_LOAD_MODULES!r}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("main", "argv", "extra"), [
    ("conformance.cli", ["http://127.0.0.1:1"], "suite"),
    ("conformance.cli", ["reference"], "suite"),
    ("load.cli", ["http://127.0.0.1:1", "--chatflow-id", "x"], "load"),
])
def test_a_tool_without_its_extra_names_the_pip_command(main: str, argv: list[str], extra: str,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """As on a base install: the tool's own dependencies cannot be found, so it says which extra adds them."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name in SUITE_AND_LOAD_MODULES
                        else real_find_spec(name, *args))
    assert importlib.import_module(main).main(argv) == 2
    assert f"pip install 'flowise-contract-kit[{extra}]'" in capsys.readouterr().err


def _copy_sources(target: Path) -> Path:
    """What a wheel is built from, copied, so that the build writes nothing into the checkout."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(PROJECT_ROOT / name, target / name)
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    packages = [pattern.rstrip("*") for pattern in config["tool"]["setuptools"]["packages"]["find"]["include"]]
    for name in [*packages, "spec"]:  # spec/: what the packages' flowise.openapi.yaml links to
        shutil.copytree(PROJECT_ROOT / name, target / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


@pytest.mark.slow
def test_the_wheel_alone_serves_the_mock_and_the_tools_name_their_extra(tmp_path: Path) -> None:
    """Build the wheel, install it with no extra into a fresh venv: the mock starts and serves the spec it
    ships; the suite and the load tool refuse to run with the pip command that adds what they lack."""
    source = _copy_sources(tmp_path / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("flowise_contract_kit-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / "bin"
    installed = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    absent = subprocess.run(
        [str(bin_dir / "python"), "-c",
         f"import importlib.util; print([m for m in {SUITE_AND_LOAD_MODULES!r} if importlib.util.find_spec(m)])"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert absent.stdout.strip() == "[]", absent.stdout + absent.stderr  # the base install is the mock's alone

    catalogue = subprocess.run(  # the deviation catalogue ships with the core, readable without the suite
        [str(bin_dir / "python"), "-c", "from contract.deviations import load_deviations; print(len(load_deviations()))"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert catalogue.returncode == 0 and int(catalogue.stdout) > 10, catalogue.stdout + catalogue.stderr

    for script in ("flowise-mock", "flowise-conformance", "flowise-load"):
        helped = subprocess.run([str(bin_dir / script), "--help"], capture_output=True, text=True, timeout=60,
                                cwd=tmp_path)
        assert helped.returncode == 0 and "usage:" in helped.stdout.lower(), helped.stderr
    suite = subprocess.run([str(bin_dir / "flowise-conformance")], capture_output=True, text=True, timeout=60,
                           cwd=tmp_path)
    assert suite.returncode == 2 and "pip install 'flowise-contract-kit[suite]'" in suite.stderr, suite.stderr
    load = subprocess.run([str(bin_dir / "flowise-load"), "--profile", "smoke"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert load.returncode == 2 and "pip install 'flowise-contract-kit[load]'" in load.stderr, load.stderr

    port = free_port()
    log = (tmp_path / "mock.log").open("wb")
    mock = subprocess.Popen([str(bin_dir / "flowise-mock"), "--port", str(port), "--db", ":memory:", "--api-key", "k",
                             "--fast"], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 60
        while True:
            assert mock.poll() is None, (tmp_path / "mock.log").read_text()
            try:
                ping = httpx.get(f"{base}/ping", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (tmp_path / "mock.log").read_text()
                time.sleep(0.2)
        assert ping.status_code == 200 and ping.text == "pong"
        served = httpx.get(f"{base}/openapi.json", timeout=10)
        assert served.status_code == 200 and served.json()["openapi"].startswith("3.1")
    finally:
        mock.terminate()
        mock.wait(timeout=15)
        log.close()
