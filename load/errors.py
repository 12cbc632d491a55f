"""What stops `flowise-load` itself (as opposed to a broken SLO, which is a result, not an error).

    LoadError                 base; carries a one-line message for the terminal
    ├── ConfigError           bad flags or SLO file                   -> exit 2
    ├── TargetUnusable        preflight failed: unreachable target, or -> exit 3
    │                         a chatflow that cannot answer
    └── RunFailed             locust did not run or left no results   -> exit 4

Exit 1 is reserved for "the run completed and broke an SLO or its error budget". The mapping to exit
codes lives in one place, `load.cli`.
"""

from __future__ import annotations

__all__ = ["ConfigError", "LoadError", "RunFailed", "TargetUnusable"]


class LoadError(Exception):
    """A condition that ends the tool before (or instead of) a verdict."""


class ConfigError(LoadError):
    """The flags or the SLO file cannot describe a run."""


class TargetUnusable(LoadError):
    """The target did not pass the preflight; no load was sent."""


class RunFailed(LoadError):
    """locust exited without leaving the results a report is built from."""
