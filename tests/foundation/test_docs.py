"""The configuration document names every variable the settings read."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_environment_variable_is_documented():
    settings_text = (ROOT / "sdp" / "settings.py").read_text()
    names = set(
        re.findall(r'(?:env\.\w+|_secret)\(\s*"([A-Z][A-Z0-9_]+)"', settings_text)
    )
    assert len(names) > 50  # the pattern still finds them
    documented = (ROOT / "docs" / "configuration.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in documented)
    assert missing == []


def test_the_docs_the_readme_points_to_exist():
    for name in (
        "configuration",
        "deploying",
        "scaling",
        "runbook",
        "dashboard",
        "api",
    ):
        assert (ROOT / "docs" / f"{name}.md").is_file(), name


# Benchmark figures in product code's comments and docstrings: milliseconds,
# rates, shares of a request, "n times faster". They go stale in code; they live
# in docs/performance.md (and the README's Performance section).
FIGURE = re.compile(
    r"~\s?\d|\b\d+(\.\d+)?\s?(ms|µs|us|payments/s|req/s)\b|\b\d+(\.\d+)?% of"
    r"|\btimes (faster|cheaper|slower|as much)\b|\ba tenth of\b"
)
# Being rewritten on other branches (the COPY helper, the TSS engine package):
# their figures move with that work.
ELSEWHERE = {"core/bulk.py", "tss/engine.py"}


def test_no_benchmark_figures_in_code_comments():
    packages = (
        "auth_org",
        "core",
        "disbursements",
        "messaging",
        "receivers",
        "reports",
    )
    packages += ("sdp",)
    found = [line for package in (*packages, "tss") for line in _figures(package)]
    assert found == []
    assert (ROOT / "docs" / "performance.md").is_file()


def _figures(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        name = str(path.relative_to(ROOT))
        if "migrations" in path.parts or name in ELSEWHERE:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if FIGURE.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    return found
