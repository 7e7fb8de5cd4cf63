"""Documentation inside the project: every *.md file that code, notebooks or docs name exists (with its anchor),
nothing points outside the repository, and every package-data pattern ships a file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {"build", "dist", "node_modules", "__pycache__", "validate_out"}
# File names that code writes at run time (not documents of the repository).
GENERATED = {"validate.md"}
MD_PATH = re.compile(r"(?<![\w./{}*-])((?:\.\.?/)?(?:[\w-]+/)*[\w-]+\.md)(#[\w-]+)?")


def _files() -> list[Path]:
    out = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(part.startswith(".") or part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts):
            continue
        if path.is_file() and path.suffix in {".py", ".ipynb", ".md", ".toml", ".yaml", ".yml"}:
            out.append(path)
    return sorted(out)


def _text(path: Path) -> str:
    if path.suffix == ".ipynb":  # the cells' sources (outputs are generated)
        return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    return path.read_text()


def _slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(md: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in md.read_text().splitlines() if line.startswith("#")}


FILES = [p for p in _files() if p != Path(__file__).resolve()]


def test_the_scan_sees_code_notebooks_and_docs():
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {"README.md", "docs/theory.md", "identify/placement.py", "estimate/spo.py", "mixid/cli.py",
            "theory_notebooks/03_spo_derivation.ipynb", "benchmarks/README.md"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_named_markdown_files_exist(path):
    text = _text(path)
    assert "../shared" not in text and "shared/spec" not in text, "points outside the repository"
    for match in MD_PATH.finditer(text):
        ref, anchor = match.group(1), match.group(2)
        if Path(ref).name in GENERATED:
            continue
        candidates = [path.parent / ref, ROOT / ref]
        target = next((c for c in candidates if c.is_file()), None)
        assert target is not None, f"{path.relative_to(ROOT)} names {ref}, which is not in the repository"
        if anchor:
            assert anchor[1:] in _anchors(target), f"{path.relative_to(ROOT)}: no heading for {ref}{anchor}"


def test_docs_cover_what_users_need():
    docs = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert {"README.md", "design_files.md", "theory.md", "estimators.md", "json.md", "cli.md"} <= docs
    theory = (ROOT / "docs" / "theory.md").read_text()
    for topic in ("Adjustment", "Kruskal", "pooled", "per arm", "Theorem 1", "Theorem 2", "Theorem 3", "Jacobian",
                  "constructive", "witness", "probabilistic", "Local and global"):
        assert topic in theory, topic
    design_doc = (ROOT / "docs" / "design_files.md").read_text()
    from mixid.identify.design import _TOP_KEYS

    for key in _TOP_KEYS | {"latent.name", "latent.classes", "latent.observed", "categories", "features"}:
        assert f"`{key}`" in design_doc or f"`variables.V.{key}`" in design_doc, key


def test_json_doc_names_every_key_the_code_writes():
    from mixid import fit, place, simulate

    doc = (ROOT / "docs" / "json.md").read_text()
    placement = place("paper-level3").to_dict()
    for key in placement:
        assert f"`{key}`" in doc, key
    data, truth = simulate("paper-level3", 3000, seed=0)
    result = fit("paper-level3", data, bootstrap=5, seed=0, truth=truth.to_dict()).to_dict()
    for key in result:
        assert f"`{key}`" in doc, key


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10: pip vendors the same parser
        from pip._vendor import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_data_pattern_ships_a_file():
    tool = _pyproject()["tool"]["setuptools"]
    dirs = tool.get("package-dir", {})
    for package, patterns in tool.get("package-data", {}).items():
        top = package.split(".")[0]
        folder = ROOT / dirs.get(package, dirs.get(top, top))
        if package not in dirs and package != top:
            folder = ROOT / dirs.get(top, top) / Path(*package.split(".")[1:])
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"package data {package}: {pattern!r} matches no file in {folder}"
