"""locust user classes, one per kind of Flowise client; profiles pick and weight them."""

from __future__ import annotations

from load.users.management import ManagementUser
from load.users.prediction import PredictionUser
from load.users.rag import RagUser
from load.users.streaming import StreamingUser

__all__ = ["ManagementUser", "PredictionUser", "RagUser", "StreamingUser"]
