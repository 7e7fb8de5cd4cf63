"""Every measured number quoted in the README's results table and in benchmarks/README.md is in a results file.

A claim says only what a benchmark shows: each decimal number (``0.17``, ``93.2``, ``4.9e-5``, ranges such as
``0.003-0.044`` counted as two numbers) in the measured column of those tables must be the rounding of a number
written by a benchmark under ``benchmarks/results/``. Integers are left out, and sizes written ``1e6`` or ``10^6``:
they are mostly sizes and counts (``k = 3``, ``100 runs``), parameters of the run, not its results.
benchmarks/README.md's rows rest on the results files they name or their command writes; the README's table
rests on benchmarks/README.md.
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

# a decimal or scientific number; a '-' right after a digit or a letter is a range's dash, not a sign
NUMBER = re.compile(r"(?<![\w.^])[+-]?(?:\d+\.\d+(?:e[+-]?\d+)?|\d+e[+-]?\d+)")


def _numbers(text: str) -> list[str]:
    """The decimal numbers of a text, signs dropped (a range's dash is not a sign), thousands separators read."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"10\^-?\d+", " ", text)  # sizes written as powers of ten
    return [m.group(0).lstrip("+-") for m in NUMBER.finditer(text)]


def _decimals(token: str) -> tuple[float, float]:
    """The value of a quoted number and half a unit of its last digit (the rounding it may hide)."""
    if "e" in token:
        mantissa, exponent = token.split("e")
        places = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return float(token), 0.5 * 10.0 ** (int(exponent) - places)
    places = len(token.split(".")[1])
    return float(token), 0.5 * 10.0 ** (-places)


def _rows(path: Path, heading: str) -> list[list[str]]:
    """The cells of the first markdown table after the line starting with ``heading`` (header row dropped)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows, seen = [], False
    for line in lines[start:]:
        if line.startswith("|"):
            seen = True
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not set(cells[0]) <= set("-: "):
                rows.append(cells)
        elif seen:
            break
    return rows[1:]


def _values(paths) -> list[float]:
    return sorted({float(t) for path in paths for t in _numbers(path.read_text())})


def _sources(cells: list[str], command: str) -> list[Path]:
    """The results files a benchmarks/README row rests on: those it names (a results path in any cell) and those
    its command writes (``bench_NAME.py --only a b`` writes ``NAME_a*``; ``--quick`` runs write ``*_quick``)."""
    named = {m for cell in cells for m in re.findall(r"results/([\w.-]+?)\.(?:md|csv|json|png)", cell)}
    script = re.search(r"bench_(\w+)\.py", command)
    prefixes = []
    if script:
        stem = {"survey_identify": "identify_survey"}.get(script.group(1), script.group(1))
        only = re.search(r"--only ([\w ]+)", command)
        prefixes = [f"{stem}_{o}" for o in only.group(1).split()] if only else [stem]
    quick = "--quick" in command
    files = []
    for path in RESULTS.iterdir():
        if path.suffix not in (".md", ".csv", ".json"):
            continue
        if path.stem in named or any(path.stem.startswith(p) and (quick or not path.stem.endswith("_quick"))
                                     for p in prefixes):
            files.append(path)
    return files


def _bench_claims() -> list[tuple[str, str, list[float]]]:
    """(label, result cell, the numbers of the results files behind it) for every benchmarks/README row."""
    claims, command = [], ""
    for cells in _rows(ROOT / "benchmarks" / "README.md", "| what |"):
        if cells[-1] != "same":
            command = cells[-1]
        claims.append((cells[0], cells[1], _values(_sources(cells, command))))
    return claims


BENCH = _bench_claims()
#: The README's results table rests on benchmarks/README.md, which says where each number comes from.
README = [(cells[0], cells[1], _values([ROOT / "benchmarks" / "README.md"]))
          for cells in _rows(ROOT / "README.md", "## Results")]
CLAIMS = BENCH + README


def _backed(token: str, percent: bool, backing: list[float]) -> bool:
    """Whether a benchmark wrote a number that rounds to ``token`` (or to ``token`` percent, as a fraction)."""
    value, half = _decimals(token)
    for target, tol in [(value, half)] + ([(value / 100, half / 100)] if percent else []):
        i = bisect.bisect_left(backing, target - tol * (1 + 1e-9))
        if i < len(backing) and backing[i] <= target + tol * (1 + 1e-9):
            return True
    return False


def _unbacked(cell: str, backing: list[float]) -> list[str]:
    cell = re.sub(r"(?<=\d),(?=\d{3}\b)", "", cell)
    missing = []
    for match in NUMBER.finditer(cell):
        token = match.group(0).lstrip("+-")
        if re.fullmatch(r"\d+e\+?\d+", token):  # a size written 1e6, like 10^6
            continue
        if float(token) != 0.0 and not _backed(token, "%" in cell[match.end():match.end() + 3], backing):
            missing.append(token)
    return missing


def test_the_tables_were_found():
    assert len(BENCH) >= 30 and len(README) >= 15, "the results tables were not parsed"
    assert all(backing for _, _, backing in BENCH), "a benchmarks/README row names no results file"


@pytest.mark.parametrize("label, cell, backing", CLAIMS, ids=[c[0][:60] for c in CLAIMS])
def test_every_quoted_number_is_in_a_results_file(label, cell, backing):
    missing = _unbacked(cell, backing)
    assert not missing, f"numbers with no results file behind them: {missing}"


def test_the_rule_can_fail():
    """A number that no benchmark wrote is caught; a rounding of one that a benchmark wrote is not; a percent may
    be written as a fraction."""
    backing = [0.12345, 0.954, 17.0]
    assert _unbacked("0.123 s and 0.12 s, 95.4 % and 17.00", backing) == []
    assert _unbacked("0.124 s, 95.5 %, 1.2e-3", backing) == ["0.124", "95.5", "1.2e-3"]
    assert _unbacked("0.0-0.1235", backing) == []  # a range: two numbers, and 0 is no claim
    assert _unbacked("n = 1e6 and 10^6 rows", backing) == []  # sizes


#: Results kept from an earlier commit on purpose, each with the reason its row gives.
FROM_AN_EARLIER_COMMIT = {
    "benchmarks/results/continuous_diagnosis.md":
        "a diagnosis of the Wald intervals before the distance-metric intervals replaced them",
}
COMMIT = re.compile(r"mixid commit [0-9a-f]{7,40}\b(?! \+ uncommitted)")


def _provenance_problems(results: Path) -> list[str]:
    """Results files whose header does not name the clean commit they ran on (quick smoke runs write into a
    temporary folder and are not kept, except those a row quotes)."""
    def header(path: Path) -> str:
        return "\n".join(path.read_text().splitlines()[:4])

    kept = {Path(p).name for p in FROM_AN_EARLIER_COMMIT}
    return [path.name for path in sorted(results.glob("*.md"))
            if path.name not in kept and not COMMIT.search(header(path))]


def test_every_results_file_names_the_commit_it_ran_on():
    assert _provenance_problems(RESULTS) == []
    for path in FROM_AN_EARLIER_COMMIT:  # each is quoted, and its row says why it is older
        assert path.removeprefix("benchmarks/") in (ROOT / "benchmarks" / "README.md").read_text()


def test_the_provenance_rule_can_fail(tmp_path):
    headers = {"clean": "mixid commit 0123abcd; python 3.11", "none": "python 3.11, load average 1.0",
               "dirty": "mixid commit 0123abcd + uncommitted changes; python 3.11"}
    for name, line in headers.items():
        (tmp_path / f"{name}.md").write_text(f"# {name}\n\n{line}\n")
    assert [Path(name).stem for name in _provenance_problems(tmp_path)] == ["dirty", "none"]


def _cited_paragraphs() -> list[tuple[str, str, list[float]]]:
    """(where, paragraph, numbers of the results files it names) for every paragraph of README.md and docs/ outside
    the results tables that names a results file: what such a paragraph says rests on the files it cites."""
    out = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, para in enumerate(re.split(r"\n\s*\n", path.read_text())):
            if para.lstrip().startswith("|"):
                continue  # tables: the README's results table is checked above
            named = set(re.findall(r"results/([\w.-]+?)\.(?:md|csv|json)", para))
            if named:
                files = [RESULTS / f"{stem}.{ext}" for stem in named for ext in ("md", "csv", "json")
                         if (RESULTS / f"{stem}.{ext}").is_file()]
                out.append((f"{path.relative_to(ROOT)} paragraph {i}", para, _values(files)))
    return out


CITED = _cited_paragraphs()


def test_prose_that_cites_results_was_found():
    assert any(where.startswith("docs/") for where, _, _ in CITED) and any(w.startswith("README") for w, _, _ in CITED)
    assert all(backing for _, _, backing in CITED), "a paragraph names a results file that does not exist"


@pytest.mark.parametrize("where, paragraph, backing", CITED, ids=[c[0] for c in CITED])
def test_every_number_of_a_citing_paragraph_is_in_its_results(where, paragraph, backing):
    missing = _unbacked(paragraph, backing)
    assert not missing, f"numbers the cited results files do not hold: {missing}"
