"""The target profile: where the suite points, with what, and what the target can do.

Precedence, highest first: command-line flags (or their pytest `--flowise-*` twins), environment
variables (`FLOWISE_URL`, `FLOWISE_API_KEY`, `FLOWISE_CHATFLOW_ID`, `FLOWISE_READ_ONLY`,
`FLOWISE_EXAMPLES`, `FLOWISE_TIMEOUT`, `FLOWISE_ONLY`, `FLOWISE_REPORT_DIR`, `FLOWISE_JUNIT`,
`FLOWISE_STRICT`, `FLOWISE_RATE_LIMIT`, `FLOWISE_MAX_BODY`, `FLOWISE_SPEC`, `FLOWISE_SEED`,
`FLOWISE_CA_BUNDLE` / `SSL_CERT_FILE` / `REQUESTS_CA_BUNDLE`, `FLOWISE_INSECURE`, `FLOWISE_VERSION`), then the defaults
below. Only the edges (`cli.py`, `plugin.py`) read the environment; they pass it in here.

Capabilities are not assumed: `probe.py` and `fixtures.py` find them out, and every test that needs
one it lacks is skipped with the reason recorded here, never passed silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from conformance.errors import ConfigError
from conformance.tls import TlsSettings, resolve_tls
from contract.spec import DEFAULT_SPEC_PATH

__all__ = [
    "DEFAULT_EXAMPLES",
    "DEFAULT_TIMEOUT",
    "Capabilities",
    "TargetProfile",
    "build_profile",
    "default_spec_path",
    "parse_size",
]

DEFAULT_EXAMPLES = 10
DEFAULT_TIMEOUT = 20.0
API_PREFIX = "/api/v1"
CAPABILITIES = ("auth", "writes", "answering", "streaming", "memory", "retrieval", "metrics", "mock")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_size(text: str) -> int:
    """Byte count from Flowise's `bytes` syntax (`50mb`, `1mb`, `512kb`, `1048576`)."""
    match = _SIZE.match(text)
    if not match:
        raise ConfigError(f"not a size: {text!r} (expected e.g. 1mb, 512kb, 1048576)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "b").lower()])


def default_spec_path() -> Path:
    """The spec of a source checkout, else the copy installed with the contract core."""
    return DEFAULT_SPEC_PATH


def normalise_base_url(url: str) -> str:
    """`https://host/` and `https://host/api/v1` both mean the server root `https://host`."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"BASE_URL must be an http(s) URL, got {url!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"BASE_URL must not carry a query or fragment: {url!r}")
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)]
    return url


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the target showed it can do; `reasons` says why a missing capability is missing."""

    version: str | None = None
    #: The management API must refuse requests without a key (it did, or the operator gave a key).
    auth_required: bool | None = None
    #: The run may create (and then delete) its own resources.
    writes: bool = False
    #: A chatflow that answers a prediction: one the run provisioned, or one the operator gave.
    answering_chatflow: str | None = None
    answering_flow_type: str | None = None
    #: Whether `answering_chatflow` was created by this run (then it may be reconfigured).
    answering_chatflow_is_ours: bool = False
    streaming: bool = False
    #: A chatflow whose answers depend on the conversation so far (a memory node).
    memory_chatflow: str | None = None
    #: A chatflow that retrieves from documents the run upserted (its answers carry sourceDocuments).
    retrieval_chatflow: str | None = None
    metrics: bool = False
    #: The target is the embedded/bundled `flowise-mock` (it offers the `/__mock` control surface).
    is_mock: bool = False
    reasons: Mapping[str, str] = field(default_factory=dict)

    def why_not(self, capability: str) -> str | None:
        """None when the capability is present, else the reason it is missing."""
        present = {
            "auth": bool(self.auth_required),
            "writes": self.writes,
            "answering": self.answering_chatflow is not None,
            "streaming": self.streaming,
            "memory": self.memory_chatflow is not None,
            "retrieval": self.retrieval_chatflow is not None,
            "metrics": self.metrics,
            "mock": self.is_mock,
        }
        if capability not in present:
            raise KeyError(f"unknown capability {capability!r}")
        if present[capability]:
            return None
        return self.reasons.get(capability, f"the target lacks the {capability!r} capability")

    def with_reason(self, capability: str, reason: str, **changes: object) -> Capabilities:
        return replace(self, reasons={**self.reasons, capability: reason}, **changes)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "auth_required": self.auth_required,
            "writes": self.writes,
            "answering_chatflow": self.answering_chatflow,
            "answering_flow_type": self.answering_flow_type,
            "streaming": self.streaming,
            "memory_chatflow": self.memory_chatflow,
            "retrieval_chatflow": self.retrieval_chatflow,
            "metrics": self.metrics,
            "is_mock": self.is_mock,
            "missing": {name: self.why_not(name) for name in CAPABILITIES if self.why_not(name)},
        }


@dataclass(frozen=True, slots=True)
class TargetProfile:
    """Everything a run needs to know about its target, built once at the edge and passed down."""

    base_url: str
    api_key: str | None = None
    chatflow_ids: tuple[str, ...] = ()
    read_only: bool = False
    examples: int = DEFAULT_EXAMPLES
    timeout: float = DEFAULT_TIMEOUT
    only: tuple[str, ...] = ()
    report_dir: Path | None = None
    junit: Path | None = None
    strict: bool = False
    #: Requests per second, shared by both layers; None means unpaced.
    rate_limit: float | None = None
    #: The target's body-size limit in bytes, when the operator knows it (enables the 413 test).
    max_body: int | None = None
    #: schemathesis' seed; None draws a new one (every run's seed is in its report notes).
    seed: int | None = None
    spec_path: Path = field(default_factory=default_spec_path)
    run_id: str = ""
    #: How a `https://` target is trusted (`tls.py`); both layers apply the same settings.
    tls: TlsSettings = field(default_factory=TlsSettings)
    #: `--flowise-version`: the Flowise version whose expectations apply, instead of the detected one.
    flowise_version: str | None = None
    capabilities: Capabilities = field(default_factory=Capabilities)

    @property
    def api_root(self) -> str:
        return self.base_url + API_PREFIX

    def with_capabilities(self, capabilities: Capabilities) -> TargetProfile:
        return replace(self, capabilities=capabilities)


def _flag(value: object, *, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name}: expected a boolean, got {value!r}")


def _given(value: object) -> bool:
    return value is not None and value is not False and value != "" and value != () and value != []


def _pick(options: Mapping[str, object], env: Mapping[str, str], key: str, env_name: str) -> object:
    value = options.get(key)
    if _given(value):
        return value
    if env_name in env:
        return env[env_name]
    return value


def _number(value: object, *, name: str, kind: type[int] | type[float], minimum: float) -> int | float:
    try:
        number = kind(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {number}")
    return number


def _split(value: object) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    items = value if isinstance(value, list | tuple) else [value]
    result: list[str] = []
    for item in items:
        result += [part.strip() for part in str(item).split(",") if part.strip()]
    return tuple(dict.fromkeys(result))


def build_profile(options: Mapping[str, object], env: Mapping[str, str], *, run_id: str) -> TargetProfile:
    """Merge flags and environment into a validated profile (flags win; see the module docstring)."""
    url = _pick(options, env, "url", "FLOWISE_URL")
    if not url:
        raise ConfigError("no BASE_URL given (argument, --flowise-url or FLOWISE_URL)")
    examples = _pick(options, env, "examples", "FLOWISE_EXAMPLES")
    timeout = _pick(options, env, "timeout", "FLOWISE_TIMEOUT")
    rate_limit = _pick(options, env, "rate_limit", "FLOWISE_RATE_LIMIT")
    max_body = _pick(options, env, "max_body", "FLOWISE_MAX_BODY")
    report_dir = _pick(options, env, "report_dir", "FLOWISE_REPORT_DIR")
    junit = _pick(options, env, "junit", "FLOWISE_JUNIT")
    spec = _pick(options, env, "spec", "FLOWISE_SPEC")
    seed = _pick(options, env, "seed", "FLOWISE_SEED")
    api_key = _pick(options, env, "api_key", "FLOWISE_API_KEY")
    return TargetProfile(
        base_url=normalise_base_url(str(url)),
        api_key=str(api_key) if api_key else None,
        chatflow_ids=_split(_pick(options, env, "chatflow_ids", "FLOWISE_CHATFLOW_ID")),
        read_only=_flag(_pick(options, env, "read_only", "FLOWISE_READ_ONLY") or False, name="read-only"),
        examples=int(_number(examples, name="examples", kind=int, minimum=1)) if _given(examples) else DEFAULT_EXAMPLES,
        timeout=float(_number(timeout, name="timeout", kind=float, minimum=0.1)) if _given(timeout) else DEFAULT_TIMEOUT,
        only=_split(_pick(options, env, "only", "FLOWISE_ONLY")),
        report_dir=Path(str(report_dir)) if report_dir else None,
        junit=Path(str(junit)) if junit else None,
        strict=_flag(_pick(options, env, "strict", "FLOWISE_STRICT") or False, name="strict"),
        rate_limit=float(_number(rate_limit, name="rate-limit", kind=float, minimum=0.01)) if _given(rate_limit) else None,
        max_body=(max_body if isinstance(max_body, int) else parse_size(str(max_body))) if max_body else None,
        seed=int(_number(seed, name="seed", kind=int, minimum=0)) if _given(seed) else None,
        spec_path=Path(str(spec)) if spec else default_spec_path(),
        run_id=run_id,
        tls=resolve_tls(options.get("ca_bundle"), options.get("insecure"), env),
        flowise_version=str(version).strip() if (version := _pick(options, env, "flowise_version", "FLOWISE_VERSION"))
        else None,
    )
