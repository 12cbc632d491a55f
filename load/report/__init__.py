"""Report builders: locust's CSV and our `metrics.json` in, `summary.json`, plots and `index.html` out.

They never import locust, so each is unit-tested from small fixture files and can be re-run on the
output of an earlier run (`python -m load.report DIR`).
"""

from __future__ import annotations

from load.report.html import write_index
from load.report.plots import write_plots
from load.report.summary import build_summary, load_run_data, write_summary

__all__ = ["build_summary", "load_run_data", "write_index", "write_plots", "write_summary"]
