"""Named load profiles: which users run, how many by default, how they pace, and what they must meet.

A profile is data, checked when this module is imported: a profile naming a user class that does
not exist, or with no users at all, stops the program with its name rather than at spawn time. Flags
(`--users`, `--spawn-rate`, `--duration`, `--think-time`) override a profile's defaults; an SLO file
overrides its thresholds (see `load.slo`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from load.slo import SloSet, Threshold

__all__ = ["PROFILES", "USER_CLASSES", "Profile"]

USER_CLASSES = ("StreamingUser", "PredictionUser", "ManagementUser", "RagUser")
"""The user classes `load/locustfile.py` defines (kept as names so this module needs no locust)."""

STREAMING_SLOS = (Threshold("ttft", "p99", max=200.0), Threshold("itl", "p99", max=50.0))
RAG_SLOS = (Threshold("rag_latency", "p99", max=3000.0),)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    weights: Mapping[str, int]
    """User class name -> locust weight (the share of users of that kind)."""
    users: int
    spawn_rate: float
    duration_s: int
    think_time: tuple[float, float]
    """Seconds a user waits between its requests (uniform between the two)."""
    slos: SloSet

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(USER_CLASSES)
        if unknown or not self.weights or min(self.weights.values()) < 1:
            raise ValueError(f"profile {self.name!r}: bad user weights {dict(self.weights)} "
                             f"(classes: {', '.join(USER_CLASSES)}; weights >= 1)")

    @property
    def streams(self) -> bool:
        return "StreamingUser" in self.weights

    @property
    def retrieves(self) -> bool:
        return "RagUser" in self.weights


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            name="chat",
            description="chat UI traffic: streaming predictions with a share of non-streaming API calls",
            weights={"StreamingUser": 4, "PredictionUser": 1},
            users=50, spawn_rate=10, duration_s=60, think_time=(1.0, 3.0),
            slos=SloSet(STREAMING_SLOS, max_error_rate=0.01),
        ),
        Profile(
            name="stream",
            description="streaming predictions only, back to back: capacity and harness calibration",
            weights={"StreamingUser": 1},
            users=100, spawn_rate=50, duration_s=60, think_time=(0.0, 0.0),
            slos=SloSet(STREAMING_SLOS, max_error_rate=0.01),
        ),
        Profile(
            name="rag",
            description="retrieval: document upserts and predictions that retrieve them",
            weights={"RagUser": 1},
            users=20, spawn_rate=5, duration_s=60, think_time=(1.0, 3.0),
            slos=SloSet(RAG_SLOS, max_error_rate=0.01),
        ),
        Profile(
            name="mixed",
            description="everything at once: streaming, non-streaming, management and RAG users",
            weights={"StreamingUser": 6, "PredictionUser": 2, "ManagementUser": 1, "RagUser": 1},
            users=50, spawn_rate=10, duration_s=120, think_time=(1.0, 3.0),
            slos=SloSet(STREAMING_SLOS + RAG_SLOS, max_error_rate=0.01),
        ),
        Profile(
            name="smoke",
            description="a short low-load pass over every user kind; no error is tolerated",
            weights={"StreamingUser": 2, "PredictionUser": 1, "ManagementUser": 1, "RagUser": 1},
            users=5, spawn_rate=5, duration_s=20, think_time=(0.2, 0.5),
            slos=SloSet(STREAMING_SLOS + RAG_SLOS, max_error_rate=0.0),
        ),
        Profile(
            name="soak",
            description="the mixed traffic at moderate load for a long time, to catch leaks and drift",
            weights={"StreamingUser": 6, "PredictionUser": 2, "ManagementUser": 1, "RagUser": 1},
            users=20, spawn_rate=2, duration_s=1800, think_time=(2.0, 5.0),
            slos=SloSet(STREAMING_SLOS + RAG_SLOS, max_error_rate=0.005),
        ),
    )
}
