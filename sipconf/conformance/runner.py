"""`python -m sipconf.conformance [FILE...] [--repo REPO] [--kind KIND]`.

Without FILE it runs the repository's copy of LiveKit's vectors,
`tests/data/livekit-vectors.json`. Prints one line per failing vector and ends with exactly
`N passed, M failed`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable

import sipconf.conformance.kinds as kinds_pkg

Check = Callable[[dict[str, Any]], list[str]]

# The package sits at the repository root (an editable install or a checkout), so the vectors
# are found next to it; a wheel carries no tests/ and then a file must be named.
DEFAULT_VECTORS = Path(__file__).resolve().parents[2] / "tests" / "data" / "livekit-vectors.json"


def load_kinds() -> dict[str, Check]:
    registry: dict[str, Check] = {}
    for info in pkgutil.iter_modules(kinds_pkg.__path__):
        module = importlib.import_module(f"{kinds_pkg.__name__}.{info.name}")
        for kind, check in getattr(module, "KINDS", {}).items():
            if kind in registry:
                raise RuntimeError(f"kind {kind!r} registered twice ({info.name})")
            registry[kind] = check
    return registry


def run_vector(vector: Any, registry: dict[str, Check]) -> list[str]:
    if not isinstance(vector, dict):
        return [f"not a vector object: {vector!r}"]
    kind = vector.get("kind")
    check = registry.get(kind) if isinstance(kind, str) else None
    if check is None:
        return [f"unknown kind {kind!r}"]
    try:
        return check(vector)
    except Exception as exc:  # noqa: BLE001 - an exception is a failure of that vector
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return [f"exception {type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"]


def _repo_of(vector: Any) -> Any:
    source = vector.get("source") if isinstance(vector, dict) else None
    return source.get("repo") if isinstance(source, dict) else source


def select(vectors: Iterable[Any], repo: str | None, kind: str | None) -> list[Any]:
    """Filter by `source.repo` and kind; malformed entries are kept unless a filter excludes
    them, so they are counted (as failures) rather than silently dropped."""
    return [
        v
        for v in vectors
        if (repo is None or _repo_of(v) == repo)
        and (kind is None or (isinstance(v, dict) and v.get("kind") == kind))
    ]


def load_vectors(path: str) -> list[Any]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if isinstance(data, dict):
        data = data.get("vectors", [])
    if not isinstance(data, list):
        raise ValueError("expected a list of vectors (or an object with a `vectors` list)")
    return data


def run(paths: list[str], repo: str | None = None, kind: str | None = None, out=sys.stdout) -> tuple[int, int]:
    passed = failed = 0
    try:
        registry = load_kinds()
    except Exception as exc:  # noqa: BLE001
        print(f"error: cannot load kinds: {exc}", file=out)
        registry = {}
    for path in paths:
        try:
            vectors = select(load_vectors(path), repo, kind)
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot read vectors: {exc}", file=out)
            failed += 1
            continue
        for vector in vectors:
            problems = run_vector(vector, registry)
            if problems:
                failed += 1
                ident = (vector.get("id"), vector.get("kind")) if isinstance(vector, dict) else ("?", "?")
                print(f"FAIL {ident[0]} [{ident[1]}]: " + "; ".join(problems), file=out)
            else:
                passed += 1
    return passed, failed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sipconf.conformance")
    parser.add_argument("files", nargs="*", help=f"vector files (default: {DEFAULT_VECTORS})")
    parser.add_argument("--repo", help="only vectors whose source.repo is this")
    parser.add_argument("--kind", help="only vectors of this kind")
    args = parser.parse_args(argv)
    files = args.files
    if not files:
        if not DEFAULT_VECTORS.is_file():
            print(f"error: {DEFAULT_VECTORS} not found; name a vector file", file=sys.stderr)
            return 2
        files = [str(DEFAULT_VECTORS)]
    passed, failed = run(files, args.repo, args.kind)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
