"""`flowise-load`: locust load profiles for Flowise with LLM-serving metrics, SLO gates and reports.

The command line is the front door (`load.cli.main`); the pieces a caller may reuse without locust
are the profiles, the SLO evaluation and the report builders (`load.report`). Importing this package
does not import locust: only `load/locustfile.py`, `load/users/` and `load/sse_client.py` do, and they
run inside locust's own processes.
"""

from __future__ import annotations

from load.profiles import PROFILES, Profile
from load.slo import SloSet, Threshold, evaluate

__all__ = ["PROFILES", "Profile", "SloSet", "Threshold", "evaluate"]
