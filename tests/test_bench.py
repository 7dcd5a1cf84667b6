"""The benchmark runs in CI in its short form so it cannot rot; figures are printed, never judged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEYS = {
    "cores", "decode_lines_per_s_pyais", "decode_lines_per_s_core", "decode_ratio_vs_pyais",
    "fence_positions_per_s_strtree", "fence_positions_per_s_core", "fence_ratio_vs_strtree",
    "fence_identical_membership", "replay_lines_per_s", "replay_ratio_vs_pyais", "rss_mb_10k_tracks",
    "tagged_decode_ratio_vs_pyais", "replay_lines_per_s_archive", "archive_bytes_per_position",
}  # fmt: skip


def test_quick_benchmark_reports_every_figure() -> None:
    r = subprocess.run([sys.executable, "-m", "mdacentre", "bench", "--quick", "--json"], cwd=REPO,
                       capture_output=True, text=True, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    figures = json.loads(r.stdout)
    print(json.dumps(figures, indent=1))  # shown with -rP; the doc keeps the full-size run
    assert KEYS <= set(figures), KEYS - set(figures)
    assert all(figures[k] > 0 for k in KEYS)
    assert figures["fence_identical_membership"] == 1.0  # correctness, not speed
