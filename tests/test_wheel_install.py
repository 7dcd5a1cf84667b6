"""The package works as a normal, non-editable install: build the wheel, install it into a fresh
virtual environment and replay a sample from a folder outside the checkout.

The fresh environment reuses the dependencies already installed for the tests (a ``.pth`` line
pointing at this environment's site-packages, whose own ``.pth`` files, among them the editable
install's finder, are not processed), so mdacentre itself can only come from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "feeds" / "samples" / "kingston_sbs.txt"
NOT_COPIED = {".venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
NOT_COPIED_AT_TOP = {"var", "build", "dist"}


def _source_copy(dst: Path) -> Path:
    """The checkout without its environments and caches (the build writes build/ and egg-info there)."""

    def ignore(folder: str, names: list[str]) -> list[str]:
        skip = [n for n in names if n in NOT_COPIED or n.endswith(".egg-info")]
        if Path(folder) == REPO:
            skip += [n for n in names if n in NOT_COPIED_AT_TOP]
        if Path(folder).name == "node_modules":
            skip += [n for n in names if n != "leaflet"]
        if Path(folder).parent.name == "feeds" and Path(folder).name == "demo":
            skip += names  # the demo feed is not bundled; no need to copy 5 MB
        return skip

    shutil.copytree(REPO, dst, ignore=ignore)
    return dst


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (REPO / "web" / "node_modules" / "leaflet" / "dist" / "leaflet.js").is_file():
        pytest.fail("web/node_modules/leaflet is missing: run ./run setup (npm ci --prefix web) first")
    tmp = tmp_path_factory.mktemp("wheel")
    src = _source_copy(tmp / "src")
    r = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        cwd=tmp,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("mdacentre-*.whl")
    venv = tmp / "venv"
    r = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=tmp)
    (Path(purelib.stdout.strip()) / "_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    r = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        cwd=tmp,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return venv


def _clean_env(tmp: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("MDA_", "PYTHON", "VIRTUAL_ENV"))}
    return {**keep, "HOME": str(tmp)}


def test_wheel_ships_the_operator_folders_and_no_tools(installed: Path) -> None:
    wheel = next(installed.parent.joinpath("dist").glob("mdacentre-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "mdacentre/bundled/geofences/profiles.toml",
        "mdacentre/bundled/geofences/eez.geojson",
        "mdacentre/bundled/geofences/land/land.geojson",
        "mdacentre/bundled/alerting/routing.toml",
        "mdacentre/bundled/web/index.html",
        "mdacentre/bundled/web/node_modules/leaflet/dist/leaflet.js",
        "mdacentre/bundled/feeds/feed.schema.json",
        "mdacentre/model/data/mid.csv",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tools/", "tests/", "mdacentre/bundled/feeds/demo"))]
    assert wheel.stat().st_size < 5_000_000


def test_installed_wheel_replays_a_sample_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = _clean_env(tmp_path)
    py = installed / "bin" / "python"
    where = _run([str(py), "-c", "import mdacentre; print(mdacentre.__file__)"], cwd=work, env=env)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout  # not the checkout's package

    r = _run(
        [
            str(installed / "bin" / "mdacentre"),
            "replay",
            str(SAMPLE),
            "--out",
            "alerts.jsonl",
            "--summary",
            "s.json",
        ],
        cwd=work,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((work / "s.json").read_text())
    assert summary["lines"] == 2911 and summary["positions"] > 1000 and summary["tracks"] == 1
    alerts = [json.loads(line) for line in (work / "alerts.jsonl").read_text().splitlines()]
    assert alerts and {a["category"] for a in alerts} == {"circling"}
    assert all(a["track"]["id"] == "0b206f" for a in alerts)

    # a folder that is neither bundled nor in the working directory is named with its variable
    r = _run([str(installed / "bin" / "mdacentre"), "demo"], cwd=work, env={**env, "MDA_HTTP_PORT": "0"})
    assert r.returncode == 2 and "feeds_dir (MDA_FEEDS_DIR)" in r.stderr, r.stderr
