"""mixid installs as one top-level package and lives beside the unrelated ``identify`` package of the index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "mixid", "identify", "estimate")


def _top_level(site: Path, dist: str) -> set[str]:
    """Top-level import names a distribution installed into ``site`` (from its RECORD)."""
    info = next(site.glob(f"{dist}-*.dist-info"))
    tops = set()
    for line in (info / "RECORD").read_text().splitlines():
        first = line.split(",")[0].split("/")[0]
        if not first.endswith((".dist-info", ".data")) and first not in ("bin", "..", "__pycache__"):
            tops.add(first.removesuffix(".py"))
    return tops


def test_one_namespace_beside_the_identify_package(tmp_path):
    src = tmp_path / "src"
    for name in SOURCES:  # a copy, so that the build leaves nothing in the working tree
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy(ROOT / name, src / name)
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                        str(src), "identify"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert _top_level(site, "mixid") == {"mixid"}
    assert _top_level(site, "identify") == {"identify"}
    check = (
        "import identify, mixid\n"
        "from identify import identify as files\n"
        "assert 'python' in files.tags_from_filename('x.py')\n"
        f"assert mixid.__file__.startswith({str(site)!r}), mixid.__file__\n"
        "from mixid import Design, place, datasets\n"
        "from mixid.identify import Model\n"
        "from mixid.estimate import fit\n"
        "assert place(Design.builtin('paper-level2')).level == 2\n"
        "assert datasets.load('carcinoma').shape == (118, 7)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
