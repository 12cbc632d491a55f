"""`python -m load.report DIR`: rebuild summary.json (without verdicts), plots and index.html of a run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from load.report import build_summary, load_run_data, write_index, write_plots, write_summary


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m load.report REPORT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    data = load_run_data(out)
    summary = build_summary(data)
    previous = out / "summary.json"
    if previous.exists():
        old = json.loads(previous.read_text())
        summary["run"] = {**old.get("run", {}), **summary["run"]}
        if "slo" in old:
            summary["slo"] = old["slo"]
    write_summary(previous, summary)
    print(write_index(summary, write_plots(data, out), out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
