"""MockSettings: every knob of the mock, in one validated object.

Precedence: command-line flags > environment > defaults. Flowise's own variable names are kept where
Flowise has them (``PORT``, ``FLOWISE_API_KEY``, ``FLOWISE_FILE_SIZE_LIMIT``, ``CORS_ORIGINS``,
``CORS_ALLOW_CREDENTIALS``); mock-only knobs carry the ``MOCK_`` prefix (``MOCK_TTFT_MS``...).
Nothing below ``cli.py`` reads ``os.environ``: settings are built at the edge and passed down.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["MockSettings", "parse_size"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}

#: One quirks set per supported Flowise release line: `flowise-<line>` reproduces the deviations that the
#: spec's `x-flowise-upstream` notes record for that line (a note without `versions` holds for every line).
KNOWN_QUIRKS = ("flowise-3.1", "flowise-3.0", "flowise-2.2")
#: The version ``GET /version`` reports under each quirks set unless ``--version`` says otherwise, so a
#: client (the conformance suite) that picks its expectations by version sees the line reproduced.
QUIRKS_VERSION = {"flowise-3.1": "3.1.4", "flowise-3.0": "3.0.13", "flowise-2.2": "2.2.8"}


def parse_size(text: str | int) -> int:
    """Parse a size in the ``bytes`` module's syntax Flowise uses (``50mb``, ``1kb``, ``1024``)."""
    if isinstance(text, int):
        return text
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r} (use e.g. 50mb, 512kb, 1024)")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "b").lower()])


class MockSettings(BaseSettings):
    """Configuration of one mock instance (see the module docstring for precedence)."""

    model_config = SettingsConfigDict(env_prefix="MOCK_", populate_by_name=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(3000, validation_alias=AliasChoices("port", "PORT"))
    db: str = Field("./flowise-mock.db", description="SQLite file, or :memory:")
    data_dir: str | None = Field(None, description="where attachments are stored; default beside the db")
    api_key: str | None = Field(None, validation_alias=AliasChoices("api_key", "FLOWISE_API_KEY"))
    no_auth: bool = False
    strict: bool = False
    quirks: str | None = None
    seed_file: str | None = None
    file_size_limit: int = Field(50 * 1024**2, validation_alias=AliasChoices("file_size_limit", "FLOWISE_FILE_SIZE_LIMIT"))
    cors_origins: str = Field("*", validation_alias=AliasChoices("cors_origins", "CORS_ORIGINS"))
    cors_allow_credentials: bool = Field(
        False, validation_alias=AliasChoices("cors_allow_credentials", "CORS_ALLOW_CREDENTIALS")
    )
    version: str = "3.1.4"
    log_requests: bool = True

    # The fake LLM's timing (mockserver/timing.py reads these).
    fast: bool = False
    ttft_ms: float = 120.0
    itl_ms: float = 25.0
    itl_dist: Literal["fixed", "uniform", "lognormal"] = "fixed"
    tokens_per_chunk: int = Field(1, ge=1)
    answer_tokens: int | None = Field(None, ge=1, description="pad or cut answers to this many tokens")
    max_concurrent: int | None = Field(None, ge=1, description="cap on concurrent generations; the rest queue")
    heartbeat_s: float = Field(30.0, gt=0)
    llm_seed: int | None = None
    script_file: str | None = None

    # What one prediction may make an agentflow do (mockserver/llm/budget.py); past it the run fails.
    agentflow_max_nodes: int = Field(2000, ge=1, description="nodes an agentflow prediction may run")
    agentflow_max_iteration_items: int = Field(1000, ge=0, description="items over all its Iteration nodes")
    agentflow_max_loop_turns: int = Field(1000, ge=0, description="jumps back over all its Loop nodes")
    agentflow_max_answer_size: int = Field(5 * 1024**2, ge=1,
                                           description="bytes of executed data it may produce (a stream: send)")

    # A Custom Function's JavaScript (mockserver/llm/javascript.py): per run, in a worker process.
    js_timeout_s: float = Field(10.0, gt=0, description="seconds a Custom Function may run, promises included")
    js_memory: int = Field(128 * 1024**2, ge=16 * 1024**2, description="memory a Custom Function may use")
    js_workers: int = Field(2, ge=1, le=64, description="Custom Functions run at once; the rest wait")

    # Slow or hostile clients (mockserver/serving.py and mockserver/limits.py).
    header_timeout_s: float = Field(10.0, gt=0, description="seconds to send a request's headers")
    body_timeout_s: float = Field(60.0, gt=0, description="seconds to send a request's whole body")
    number_of_proxies: int = Field(
        0, ge=0, validation_alias=AliasChoices("number_of_proxies", "NUMBER_OF_PROXIES"),
        description="proxies in front whose X-Forwarded-For is trusted (Flowise's NUMBER_OF_PROXIES)")

    # Serving (mockserver/workers.py): several processes on one socket and one database file.
    workers: int = Field(1, ge=1, le=64, description="server processes sharing the port and the database file")

    @field_validator("file_size_limit", "agentflow_max_answer_size", "js_memory", mode="before")
    @classmethod
    def _size(cls, value: object) -> int:
        if isinstance(value, (int, str)):
            return parse_size(value)
        raise ValueError("must be a size such as 50mb, 512kb or 1024")

    @field_validator("quirks")
    @classmethod
    def _quirks(cls, value: str | None) -> str | None:
        if value is not None and value not in KNOWN_QUIRKS:
            raise ValueError(f"unknown quirks set {value!r}; known: {', '.join(KNOWN_QUIRKS)}")
        return value

    @model_validator(mode="after")
    def _workers_share_a_file(self) -> MockSettings:
        if self.workers > 1 and self.db == ":memory:":
            raise ValueError("--workers above 1 needs a database file: each process would have its own :memory: "
                             "database (drop --db :memory: or use --workers 1)")
        return self

    @model_validator(mode="after")
    def _version_of_quirks(self) -> MockSettings:
        if self.quirks in QUIRKS_VERSION and "version" not in self.model_fields_set:
            self.version = QUIRKS_VERSION[self.quirks]
        return self

    @property
    def quirks_on(self) -> bool:
        return self.quirks is not None

    @property
    def quirks_line(self) -> str | None:
        """The release line the quirks reproduce (`3.1` for `flowise-3.1`), None without quirks."""
        return self.quirks.removeprefix("flowise-") if self.quirks else None

    @property
    def auth_on(self) -> bool:
        return not self.no_auth
