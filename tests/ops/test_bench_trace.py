"""`jxc bench trace` on a kept data dir: the history is generated once, then reused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def bench_trace(data_dir: Path, events: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "ops", "bench", "trace", "--events", str(events)),
            *("--traces", "5", "--reports", "1", "--workers", "1"),
            *("--data-dir", str(data_dir), "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
        check=False,
    )


def test_a_kept_history_is_timed_again_without_generating_it(tmp_path: Path) -> None:
    first = bench_trace(tmp_path, 2000)
    assert first.returncode == 0, first.stderr
    generated = json.loads(first.stdout)
    assert generated["load_s"] > 0
    assert generated["reports_verified"] == "1/1"

    again = bench_trace(tmp_path, 2000)
    assert again.returncode == 0, again.stderr
    reused = json.loads(again.stdout)
    assert reused["load_s"] == 0.0
    assert (reused["events"], reused["lots"]) == (generated["events"], generated["lots"])
    assert reused["reports_verified"] == "1/1"

    other = bench_trace(tmp_path, 3000)
    assert other.returncode == 2
    assert "holds a history of 2000 events, not 3000" in other.stderr
    assert other.stdout == ""
