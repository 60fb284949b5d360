"""The layering holds: imports point down (import-linter's contracts, make lint),
and nothing reaches a higher layer by other means: no model looked up by name
(``apps.get_model``) outside migrations, no module imported by name
(``importlib``), no attribute of another module set at start-up."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [
    "core",
    "webhooks",
    "messaging",
    "tss",
    "auth_org",
    "receivers",
    "disbursements",
    "sdp",
]


def _sources():
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), str(path))


def _modules_bound(tree: ast.AST) -> set[str]:
    """The names bound to a module of the project (``import tss.accounts``,
    ``from receivers import selectors as receiver_selectors``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(
                a.asname or a.name.split(".")[0]
                for a in node.names
                if a.name.split(".")[0] in PRODUCT
            )
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = ROOT.joinpath(*node.module.split("."))
            names.update(
                a.asname or a.name
                for a in node.names
                if node.module.split(".")[0] in PRODUCT
                and ((base / f"{a.name}.py").exists() or (base / a.name).is_dir())
            )
    return names


def test_no_layer_is_reached_around_the_imports():
    found = []
    for path, tree in _sources():
        modules = _modules_bound(tree)
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            if call and node.func.attr in {"get_model", "import_module"}:
                found.append(f"{where} {node.func.attr}()")
            if isinstance(node, ast.Import | ast.ImportFrom) and "importlib" in (
                [a.name for a in node.names] + [getattr(node, "module", None)]
            ):
                found.append(f"{where} imports importlib")
            if isinstance(node, ast.Assign | ast.AugAssign):
                assign = isinstance(node, ast.Assign)
                targets = node.targets if assign else [node.target]
                found.extend(
                    f"{where} sets {t.value.id}.{t.attr}"
                    for t in targets
                    if isinstance(t, ast.Attribute)
                    and isinstance(t.value, ast.Name)
                    and t.value.id in modules
                )
    assert found == []


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
