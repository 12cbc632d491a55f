"""Which Flowise version the suite judges, and so which expectations apply (a version profile).

The run asks the target (`GET /api/v1/version`, public on every Flowise); `--flowise-version`
overrides the answer. A profile says which known deviations (`deviations.toml`) that version has:
those whose `versions` name its line, or that name none. The kit has profiles for Flowise 3.1, 3.0
and 2.2 (each proven against a real release by the reference harness). A target of another version
(older, newer, or one that does not say) is judged by the 3.1 expectations, and the report says so:
its findings may then be a version difference, not a defect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contract.deviations import Deviations

__all__ = ["DEFAULT_PROFILE", "PROFILES", "VersionChoice", "VersionProfile", "choose_profile", "parse_version"]

#: The operations that write API keys.
KEY_WRITES = ("createApiKey", "updateApiKey", "deleteApiKey")

_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?\s*$")


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """`3.1.4` → (3, 1, 4); `v3.1` → (3, 1, 0); anything else → None."""
    match = _VERSION.match(text or "")
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


@dataclass(frozen=True, slots=True)
class VersionProfile:
    """The expectations for one Flowise release line."""

    name: str
    #: (major, minor) of the release line this profile describes.
    line: tuple[int, int]
    #: The ids of `deviations.toml` this line has; None: every id in the catalogue.
    deviations: frozenset[str] | None = None
    description: str = ""
    #: A malformed multipart body stops the whole server (multer before 2.0.2: an exception thrown outside
    #: any handler: CVE-2025-7338, and CVE-2025-47944 before 2.0.0); the suite then sends no generated
    #: multipart body.
    multipart_crashes: bool = False
    #: Writing an API key can wipe every key of the server: 2.x keeps them in `api.json`, rewritten in place,
    #: and a request that reads the file while it is being rewritten finds it empty and replaces it with one
    #: new `DefaultKey` (docs/real-flowise.md#api-key-file-race). The suite then writes no API key.
    key_writes_wipe_keys: bool = False

    def left_out(self) -> dict[str, str]:
        """Operations the suite must not send to this line, each with the reason."""
        reasons: dict[str, str] = {}
        if self.key_writes_wipe_keys:
            for operation_id in KEY_WRITES:
                reasons[operation_id] = (f"left out on {self.name}: writing an API key can wipe every key of the "
                                         "server (docs/real-flowise.md#api-key-file-race)")
        return reasons

    def covers(self, version: tuple[int, int, int]) -> bool:
        return version[:2] == self.line

    @property
    def line_name(self) -> str:
        """`3.1`: how deviations.toml's `versions` and the spec's notes name the line."""
        return f"{self.line[0]}.{self.line[1]}"

    def select(self, catalogue: Deviations) -> Deviations:
        """The catalogue narrowed to this line's deviations (its ids, and entries whose `versions` name it)."""
        return Deviations([
            deviation for deviation in catalogue
            if (self.deviations is None or deviation.id in self.deviations) and deviation.applies_to(self.line_name)
        ])


PROFILES: tuple[VersionProfile, ...] = (
    VersionProfile(
        name="flowise-3.1",
        line=(3, 1),
        description="Flowise 3.1.x: the spec as written, every deviation of deviations.toml "
        "(compared byte for byte with Flowise 3.1.4 by the reference harness)",
    ),
    VersionProfile(
        name="flowise-3.0",
        line=(3, 0),
        description="Flowise 3.0.x: the deviations of deviations.toml marked for 3.0 (or for every line); "
        "proven against Flowise 3.0.13 by the reference harness",
    ),
    VersionProfile(
        name="flowise-2.2",
        line=(2, 2),
        description="Flowise 2.2.x: keys without permissions kept in api.json, optional basic auth; the "
        "deviations marked for 2.2 (or for every line); proven against Flowise 2.2.8 by the reference harness",
        multipart_crashes=True,  # 2.2.8 ships multer 1.4.5-lts.2; 3.0.13 and 3.1.4 ship multer 2.5.0
        key_writes_wipe_keys=True,
    ),
)
DEFAULT_PROFILE = PROFILES[0]


@dataclass(frozen=True, slots=True)
class VersionChoice:
    """The version the run judged and why: detected, given with --flowise-version, or unknown."""

    profile: VersionProfile
    #: What the target said (`GET /api/v1/version`), or None when it said nothing usable.
    detected: str | None
    #: `--flowise-version`, when given.
    requested: str | None
    #: Whether the profile is the one for the version judged (False: 3.1's expectations as a fallback).
    exact: bool

    @property
    def version(self) -> str | None:
        return self.requested or self.detected

    @property
    def source(self) -> str:
        if self.requested:
            return "--flowise-version"
        return "GET /api/v1/version" if self.detected else "unknown"

    @property
    def note(self) -> str:
        """One line for the console and the report."""
        said = f"Flowise {self.version} ({self.source})" if self.version else "Flowise of unknown version"
        if self.requested and self.detected and parse_version(self.requested) != parse_version(self.detected):
            said += f"; the target reports {self.detected}"
        if self.exact:
            return f"{said}: profile {self.profile.name}"
        return (f"{said}: the kit has no profile for this version; expectations of {self.profile.name} applied, "
                "so a finding may be a difference between versions rather than a defect")

    def to_dict(self) -> dict[str, object]:
        return {"detected": self.detected, "requested": self.requested, "version": self.version,
                "source": self.source, "profile": self.profile.name, "exact": self.exact, "note": self.note}


def choose_profile(detected: str | None, requested: str | None = None) -> VersionChoice:
    """The profile for `requested` (when given) or else `detected`; 3.1's when none fits."""
    version = parse_version(requested or detected)
    for profile in PROFILES:
        if version is not None and profile.covers(version):
            return VersionChoice(profile=profile, detected=detected, requested=requested, exact=True)
    return VersionChoice(profile=DEFAULT_PROFILE, detected=detected, requested=requested, exact=False)
