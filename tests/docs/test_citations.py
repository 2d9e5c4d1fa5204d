"""The repository explains itself: code, tests and docs cite docs/livekit.md, an upstream
source or an RFC section, never a document that lives outside this repository.

Banned (each pattern below is assembled from pieces, so this file does not match itself):
the sibling folder of contract documents and its files by name, bare numbered section
references (a section number alone in parentheses, or followed by the word "table"), comments
that open with a section number, and tracker references ("issue" followed by a number). A path component naming that
sibling folder in code is banned too, so no code or test can read it at run time.

Every `docs/livekit.md#<anchor>` cited anywhere must exist as a heading of docs/livekit.md.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("sipconf", "simulator", "tests", "bench", "scenarios", "docs", "Makefile", "README.md")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".json", ".sh", ".sip", ".txt", ".in", ".cfg", ".xml"}
SKIPPED_DIRS = {"__pycache__", ".hypothesis", ".pytest_cache"}

SHARED = "sha" + "red"
SECTION = r"[1-9]\.\d{1,2}"
SECTIONS = rf"{SECTION}(?:\s*(?:,|/|-|and)\s*{SECTION})*"

# Checked on every line of every scanned file.
LINE_PATTERNS = {
    "sibling folder": re.compile(r"\.\./" + SHARED + r"\b|[/\\]\s*[\"']" + SHARED + r"[\"']|[\"']" + SHARED + r"[\"']\s*[/\\]"),
    "contract document": re.compile(r"\b(?:" + "SEMAN" + "TICS|" + "WI" + "RE" + r"(?:\.md)?\s*\d|" + "WI" + r"RE\.md|" + "STY" + r"LE\.md|" + "DES" + r"IGN\.md)"),
    "tracker reference": re.compile(r"\b[Ii]ssues?\s+\d"),
}
# Checked on comments and strings of Python files and on every line of other files: a bare
# section number in parentheses, "N.N table", or a comment or docstring that opens with one.
PROSE_PATTERNS = {
    "bare section number": re.compile(rf"(?:^|(?<=[\s\"'`]))\(\s*{SECTIONS}(?:\s+table)?\s*(?:\)|[:,])"),
    "section table": re.compile(rf"(?<![\w.]){SECTION} table\b"),
    "leading section number": re.compile(
        rf"^\s*(?:#+|\"\"\"|''')\s*(?:-+\s*)?{SECTION}(?![\d.])(?!\s*(?:s|ms|h|min)\b)"
    ),
}

ANCHOR_CITATION = re.compile(r"(?:docs/)?livekit\.md((?:#[a-z0-9-]+)(?:(?:,| and|,? and) #[a-z0-9-]+)*)")


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
            continue
        for candidate in sorted(path.rglob("*")):
            if candidate.is_file() and candidate.suffix in TEXT_SUFFIXES and not SKIPPED_DIRS & set(candidate.parts):
                files.append(candidate)
    return files


def prose_lines(path: Path, text: str) -> list[tuple[int, str]]:
    """(line number, text) of what is prose: comments and strings of Python, every other line."""
    if path.suffix != ".py":
        return list(enumerate(text.splitlines(), 1))
    lines: list[tuple[int, str]] = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in (tokenize.COMMENT, tokenize.STRING):
            lines.extend((token.start[0] + i, part) for i, part in enumerate(token.string.splitlines()))
    return lines


def violations(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    where = path.relative_to(ROOT)
    found = [
        f"{where}:{number}: {name}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        for name, pattern in LINE_PATTERNS.items()
        if pattern.search(line)
    ]
    found += [
        f"{where}:{number}: {name}: {line.strip()}"
        for number, line in prose_lines(path, text)
        for name, pattern in PROSE_PATTERNS.items()
        if pattern.search(line)
    ]
    return found


def documented_anchors() -> set[str]:
    doc = (ROOT / "docs" / "livekit.md").read_text(encoding="utf-8")
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#{1,6} (.+)$", doc, re.M)
    }


def test_sources_cite_nothing_outside_the_repository():
    found = [line for path in scanned_files() for line in violations(path)]
    assert not found, "cite docs/livekit.md#<anchor>, an upstream path:function or an RFC section:\n" + "\n".join(found)


def test_cited_anchors_exist():
    anchors = documented_anchors()
    missing = [
        f"{path.relative_to(ROOT)}: #{anchor}"
        for path in scanned_files()
        for citation in ANCHOR_CITATION.finditer(path.read_text(encoding="utf-8", errors="replace"))
        for anchor in re.findall(r"#([a-z0-9-]+)", citation.group(1))
        if anchor not in anchors
    ]
    assert not missing, "no such heading in docs/livekit.md:\n" + "\n".join(missing)


def test_the_patterns_catch_what_they_are_for():
    def flagged(line: str, suffix: str = ".md") -> bool:
        return bool(violations_of_line(line, suffix))

    assert flagged("see ../" + SHARED + "/livekit/notes.md")
    assert flagged('path = root.parent / "' + SHARED + '" / "x"', ".py")
    assert flagged("rules (" + "SEMAN" + "TICS 3.4)")
    assert flagged("as the client treats them (" + "WI" + "RE.md 1.1)")
    assert flagged("see " + "iss" + "ue 4 section 3")
    assert flagged("merge(trunk, rule) (3" + ".7).")
    assert flagged("an RPC error (3" + ".6 table)")
    assert flagged("(3" + ".6: bad SDP -> 400)")
    assert flagged("# 3" + ".3: the nonce", ".md")
    assert not flagged("RFC 3261 17.2.1 (figure 7) with RFC 6026 7.1's Accepted state")
    assert not flagged("(RFC 3261 7.1) and SIP/2.0, Python 3.11, (1.5 s), timeout(1.5)")
    assert not flagged("# 9.5 s after the first byte")
    assert not flagged("cite docs/livekit.md#auth-step and #dispatch-outcomes")


def violations_of_line(line: str, suffix: str) -> list[str]:
    path = ROOT / f"probe{suffix}"
    text = line if suffix != ".py" else f"# {line}\n"
    names = [name for name, pattern in LINE_PATTERNS.items() if pattern.search(text)]
    names += [name for _, part in prose_lines(path, text) for name, pattern in PROSE_PATTERNS.items() if pattern.search(part)]
    return names
