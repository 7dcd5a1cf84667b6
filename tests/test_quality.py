"""The package type-checks (mypy) and lints clean (ruff): failures here are real defects to fix."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_mypy_clean() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:]


def test_mypy_strict_clean() -> None:
    """The package type-checks in strict mode, whatever the configuration file says."""
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert cfg["strict"] is True and "overrides" not in cfg
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "mdacentre"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-4000:]


def test_ruff_clean() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "mdacentre"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-4000:]


def test_ruff_format_applied() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "mdacentre", "tools", "tests"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-4000:]


def test_import_layers_kept() -> None:
    """The contracts in pyproject.toml: stages in data-flow order, detectors apart, tools/ never imported."""
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:]
    assert "0 broken" in r.stdout


def test_import_layers_catch_a_violation(tmp_path: Path) -> None:
    """The layer contract is live: a core module importing the service is reported as broken."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(REPO / "mdacentre", copy / "mdacentre", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "tools", copy / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    with (copy / "mdacentre" / "core" / "refs.py").open("a") as fh:
        fh.write("\nfrom mdacentre.service import pipeline  # noqa: E402,F401\n")
    lint = Path(sys.executable).with_name("lint-imports")
    env = {"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([str(lint)], cwd=copy, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode != 0
    assert "mdacentre.core.refs -> mdacentre.service.pipeline" in r.stdout


def test_web_modules_pass_eslint() -> None:
    """The map page's ES modules pass eslint (flat config web/eslint.config.mjs; `./run setup` installs it)."""
    import shutil

    import pytest

    eslint = REPO / "web" / "node_modules" / ".bin" / "eslint"
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node absent")
    assert eslint.exists(), "eslint not installed: run `./run setup` (npm ci --prefix web)"
    r = subprocess.run([str(eslint), "."], cwd=REPO / "web", capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_web_page_is_es_modules_without_vocabulary_copies() -> None:
    """index.html loads one module entry; no module keeps a copy of the server's levels or kinds."""
    html = (REPO / "web" / "index.html").read_text(encoding="utf-8")
    assert '<script type="module" src="/static/js/main.js">' in html
    assert not (REPO / "web" / "app.js").exists()
    for path in (REPO / "web" / "js").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert "['info', 'low'" not in text and "'base_station', 'aid_to_navigation']" not in text, path.name
        assert "pleasure craft" not in text, path.name  # ship types come from /api/vocabulary
