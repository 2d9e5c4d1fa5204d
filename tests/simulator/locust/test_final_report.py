"""The master's last word on its totals: its CSV files written once more as it quits, from the
totals as they are then (the last-report handshake itself runs in test_distributed.py)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("final_csv.py")


def test_the_csv_files_hold_every_call_counted_when_the_master_quits(tmp_path):
    prefix = tmp_path / "run"
    Path(f"{prefix}_stats.csv").write_text("stale\n")  # what Locust's writer last refreshed
    done = subprocess.run([sys.executable, str(SCRIPT), str(prefix)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    with open(f"{prefix}_stats.csv", newline="") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    assert {name: (row["Request Count"], row["Failure Count"]) for name, row in rows.items()} == {
        "front desk": ("2", "0"), "number without a rule": ("1", "1"), "Aggregated": ("3", "1")}
    with open(f"{prefix}_failures.csv", newline="") as f:
        failures = [(row["Name"], row["Error"], row["Occurrences"]) for row in csv.DictReader(f)]
    assert failures == [("number without a rule", "got 404 Not Found, expected 200", "1")]
    with open(f"{prefix}_exceptions.csv", newline="") as f:
        assert list(csv.DictReader(f)) == []
