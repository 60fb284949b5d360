#!/usr/bin/env python3
"""Split ``sdp/`` into the project shell (``sdp/``) and the bottom library (``core/``).

Pure renames: ``git mv`` of the domain-free modules to ``core/`` (and of
``sdp/tenancy.py`` to ``auth_org/``), then every reference over the tree is
rewritten: ``from sdp.fsm import`` -> ``from core.fsm import``, ``from sdp import
sqljson`` -> ``from core import sqljson``, dotted strings such as
``"sdp.middleware.RequestIDMiddleware"`` or ``patch("sdp.api.x")``, and paths
such as ``sdp/fsm.py`` in documents.

Re-runnable: a module already moved is skipped, and a rewritten reference no
longer matches, so running it again after merging other branches rewrites only
what those branches brought in (their new ``from sdp.fsm import ...`` lines).

    python3 tools/split_sdp.py            # from the repository's root
    python3 tools/split_sdp.py --check    # list what it would do; exit 1 if anything

With ``RUFF=/path/to/ruff`` (or ruff on PATH) the rewritten files' imports are
sorted again afterwards (``ruff check --select I001 --fix``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The domain-free mechanisms: they import no app, so they go to the bottom.
CORE_MODULES = [
    "admin",  # the status-history inline
    "admin_display",
    "api",
    "apidoc",
    "bulk",
    "cache",
    "fields",
    "fsm",
    "idempotency",
    "ids",
    "jsontext",
    "listing",
    "logfilters",
    "lookups",
    "middleware",
    "paging",
    "params",
    "safe_http",
    "sqljson",
    "urlschemes",
    "validators",
]
CORE_PACKAGES = ["postgres"]  # the database backend
# Modules that belong to an app: (module in sdp, app).
TO_APPS = [("tenancy", "auth_org")]

MOVED = dict.fromkeys(CORE_MODULES + CORE_PACKAGES, "core")
MOVED.update(dict(TO_APPS))

SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".sdp", "tools"}
SKIP_SUFFIXES = (".egg-info",)
TEXT_SUFFIXES = {
    ".py",
    ".md",
    ".toml",
    ".cfg",
    ".ini",
    ".yml",
    ".yaml",
    ".txt",
    ".conf",
}
TEXT_NAMES = {"Makefile", "run", "Dockerfile"}


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True)


def move_files() -> list[str]:
    done = []
    core = ROOT / "core"
    core.mkdir(exist_ok=True)
    if not (core / "__init__.py").exists():
        (core / "__init__.py").write_text(
            '"""The bottom library: domain-free mechanisms. It imports no app."""\n'
        )
        git("add", "core/__init__.py")
        done.append("core/__init__.py")
    for name, target in MOVED.items():
        for src_rel, dst_rel in (
            (f"sdp/{name}.py", f"{target}/{name}.py"),
            (f"sdp/{name}", f"{target}/{name}"),
        ):
            src, dst = ROOT / src_rel, ROOT / dst_rel
            if src.exists() and not dst.exists() and (src.is_file() or src.is_dir()):
                if src.is_dir() and src_rel.endswith(".py"):
                    continue
                for cache in src.rglob("__pycache__") if src.is_dir() else []:
                    subprocess.run(["rm", "-rf", str(cache)], check=True)
                git("mv", src_rel, dst_rel)
                done.append(f"{src_rel} -> {dst_rel}")
    return done


_NAMES = "|".join(sorted(MOVED, key=len, reverse=True))
# sdp.fsm / sdp/fsm.py / sdp/postgres/ (dotted: imports, dotted strings; slashed: paths)
_DOTTED = re.compile(rf"(?<![\w.])sdp\.({_NAMES})(?![\w])")
_PATH = re.compile(rf"(?<![\w/.])sdp/({_NAMES})(?=\.py\b|/)")
# from sdp import a, b as c  (one line, or parenthesised over lines)
_FROM = re.compile(
    r"^(?P<indent>[ \t]*)from sdp import (?P<names>\([^)]*\)|[^\n]*?)"
    r"(?P<comment>[ \t]*#[^\n]*)?$",
    re.M,
)


def _rewrite_from(match: re.Match[str]) -> str:
    indent, names, comment = match["indent"], match["names"], match["comment"] or ""
    items = [n.strip() for n in names.strip().strip("()").replace("\n", " ").split(",")]
    items = [n for n in items if n]
    groups: dict[str, list[str]] = {}
    for item in items:
        module = item.split(" as ")[0].strip()
        groups.setdefault(MOVED.get(module, "sdp"), []).append(item)
    if set(groups) == {"sdp"}:
        return match.group(0)
    lines = [
        f"{indent}from {package} import {', '.join(group)}"
        for package, group in sorted(groups.items())
    ]
    lines[0] += comment
    return "\n".join(lines)


def rewrite(text: str) -> str:
    text = _DOTTED.sub(lambda m: f"{MOVED[m[1]]}.{m[1]}", text)
    text = _PATH.sub(lambda m: f"{MOVED[m[1]]}/{m[1]}", text)
    return _FROM.sub(_rewrite_from, text)


def files() -> list[Path]:
    out = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(p in SKIP_DIRS or p.endswith(SKIP_SUFFIXES) for p in rel.parts[:-1]):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES):
            out.append(path)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing")
    args = parser.parse_args()
    if args.check:
        pending = [n for n in MOVED if (ROOT / "sdp" / f"{n}.py").exists()]
        pending += [n for n in MOVED if (ROOT / "sdp" / n).is_dir()]
    else:
        for line in move_files():
            print("moved", line)
        pending = []
    changed = []
    for path in files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        new = rewrite(text)
        if new != text:
            changed.append(str(path.relative_to(ROOT)))
            if not args.check:
                path.write_text(new)
    for name in changed:
        print("rewrote" if not args.check else "would rewrite", name)
    py = [name for name in changed if name.endswith(".py")]
    ruff = os.environ.get("RUFF") or shutil.which("ruff")
    if py and ruff and not args.check:
        # The rewritten imports sorted again (import order only, nothing else).
        subprocess.run(
            [ruff, "check", "--select", "I001", "--fix", "-q", *py], cwd=ROOT
        )
    if args.check:
        for name in pending:
            print("would move", name)
        return 1 if changed or pending else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
