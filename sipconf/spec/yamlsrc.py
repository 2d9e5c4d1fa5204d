"""YAML text -> plain Python data plus a table of source positions.

We compose the node graph with ruamel.yaml (which keeps line/column on every node) and
build the plain data ourselves, so that duplicate keys are reported with both positions
instead of stopping at the first one, and every key and value has an `Origin` that
pydantic's `loc` can be mapped back to (STYLE 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sipconf.issues import Issue
from sipconf.model import Origin

Path = tuple[str | int, ...]
MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Positions:
    """Where each path of the data stands: the key's origin and the value's origin."""

    file: str
    keys: dict[Path, Origin] = field(default_factory=dict)
    values: dict[Path, Origin] = field(default_factory=dict)

    def key(self, path: Path) -> Origin:
        """The origin of the key at `path`, else of the nearest enclosing one (a list item has
        no key: its own value is the best place)."""
        if path and isinstance(path[-1], int):
            return self.value(path)
        return self._nearest(path, self.keys) or self.value(path)

    def value(self, path: Path) -> Origin:
        """The origin of the value at `path`, else of the nearest enclosing one."""
        return self._nearest(path, self.values) or Origin(self.file, 1, 1)

    @staticmethod
    def _nearest(path: Path, table: dict[Path, Origin]) -> Origin | None:
        for end in range(len(path), -1, -1):
            found = table.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def subtree(self, prefix: Path) -> "Positions":
        """The positions under `prefix`, re-rooted at ()."""
        out = Positions(self.file)
        n = len(prefix)
        for src, dst in ((self.keys, out.keys), (self.values, out.values)):
            for path, origin in src.items():
                if path[:n] == prefix:
                    dst[path[n:]] = origin
        return out

    def drop(self, prefix: Path) -> None:
        """Forget every position at or under `prefix`."""
        n = len(prefix)
        for table in (self.keys, self.values):
            for path in [p for p in table if p[:n] == prefix]:
                del table[path]

    def graft(self, prefix: Path, other: "Positions") -> None:
        """Put `other`'s positions under `prefix` (overwriting)."""
        for src, dst in ((other.keys, self.keys), (other.values, self.values)):
            for path, origin in src.items():
                dst[prefix + path] = origin


def origin_of(file: str, node: Node) -> Origin:
    return Origin(file, node.start_mark.line + 1, node.start_mark.column + 1)


def load_yaml(text: str, file: str) -> tuple[Any, Positions, list[Issue]]:
    """Parse `text`; return (data, positions, issues). A syntax error is one issue and data None."""
    positions = Positions(file)
    try:
        root = YAML(typ="rt").compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and "end of stream" in (exc.problem or ""):
            # An unclosed quote or bracket runs to the end of the file: where it opened is
            # where the fix goes.
            mark = exc.context_mark
        where = Origin(file, mark.line + 1, mark.column + 1) if mark else Origin(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        return None, positions, [Issue("error", "yaml-syntax", f"invalid YAML: {problem}", where)]
    except YAMLError as exc:  # unmarked errors (encoding and the like)
        return None, positions, [Issue("error", "yaml-syntax", f"invalid YAML: {exc}", Origin(file, 1, 1))]
    if root is None:
        return None, positions, []
    builder = _Builder(file, positions)
    data = builder.build(root, ())
    return data, positions, builder.issues


class _Builder:
    def __init__(self, file: str, positions: Positions) -> None:
        self.file = file
        self.positions = positions
        self.issues: list[Issue] = []
        self._scalars = YAML(typ="safe", pure=True).constructor

    def build(self, node: Node, path: Path) -> Any:
        self.positions.values[path] = origin_of(self.file, node)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        return None

    def _scalar(self, node: ScalarNode) -> Any:
        try:
            return self._scalars.construct_object(node, deep=True)
        except YAMLError:
            return node.value  # an odd tag: keep the text; pydantic will judge the type

    def _mapping(self, node: MappingNode, path: Path) -> dict:
        out: dict = {}
        first_at: dict[Any, Origin] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and str(key_node.tag) == MERGE_TAG:
                merged.extend(value_node.value if isinstance(value_node, SequenceNode) else [value_node])
                continue
            where = origin_of(self.file, key_node)
            if not isinstance(key_node, ScalarNode):
                self.issues.append(Issue("error", "invalid-key", "a mapping key must be a plain value", where))
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str):
                key = key_node.value  # `123:` or `true:` as a name: keep it as written
            if key in first_at:
                self.issues.append(
                    Issue("error", "duplicate-key", f"duplicate key '{key}' (first defined at {first_at[key]})", where)
                )
                continue
            first_at[key] = where
            self.positions.keys[path + (key,)] = where
            out[key] = self.build(value_node, path + (key,))
        # YAML merge keys (`<<: *base`): keys written here win over merged ones.
        for source in merged:
            if not isinstance(source, MappingNode):
                self.issues.append(
                    Issue("error", "invalid-merge", "'<<' must merge a mapping", origin_of(self.file, source))
                )
                continue
            scratch = _Builder(self.file, Positions(self.file))
            for key, value in scratch._mapping(source, ()).items():
                if key not in out:
                    out[key] = value
                    self.positions.graft(path + (key,), scratch.positions.subtree((key,)))
            self.issues.extend(scratch.issues)
        return out
