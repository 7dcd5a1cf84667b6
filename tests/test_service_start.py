"""The service fails loudly at start when its detectors cannot be imported or assembled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "feeds" / "demo" / "caribbean_ais.nmea"


def _replay_with(prelude: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``mdacentre replay`` on a few demo lines, in a fresh interpreter after ``prelude`` ran."""
    sample = tmp_path / "few.nmea"
    sample.write_text("".join(SAMPLE.read_text(encoding="ascii").splitlines(keepends=True)[:200]))
    code = (
        "import sys\n"
        f"{prelude}\n"
        "from mdacentre.cli.main import main\n"
        f"sys.exit(main(['replay', {str(sample)!r}, '--out', {str(tmp_path / 'out.jsonl')!r}]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )


def test_replay_runs_with_the_detectors(tmp_path: Path) -> None:
    r = _replay_with("", tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]


def test_missing_detector_modules_stop_the_start(tmp_path: Path) -> None:
    # A detector package that cannot be imported (here: blocked) must not give a service without detectors.
    r = _replay_with("sys.modules['mdacentre.detect.registry'] = None", tmp_path)
    assert r.returncode != 0
    assert "mdacentre.detect.registry" in r.stderr


def test_detector_that_cannot_be_assembled_stops_the_start(tmp_path: Path) -> None:
    prelude = (
        "import mdacentre.detect.registry as reg\n"
        "class Broken:\n"
        "    def __init__(self, *args):\n"
        "        raise RuntimeError('planted fault')\n"
        "reg.AisGapDetector = Broken"
    )
    r = _replay_with(prelude, tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "detectors could not be assembled" in r.stderr
    assert "planted fault" in r.stderr and "profiles.toml" in r.stderr
