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
