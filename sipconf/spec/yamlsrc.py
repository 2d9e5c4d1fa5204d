"""YAML text -> plain Python data plus a tree of source positions.

The node graph is composed by ruamel.yaml's C composer (libyaml through `ruamel.yaml.clib`),
which keeps line and column on every node and is ten times faster than the pure-Python
round-trip loader; the round-trip loader is only for files sipconf rewrites. The plain data is
built here, so that duplicate keys are reported with both positions instead of stopping at the
first one (composing does not look at keys), and every key and value has an `Origin` that
pydantic's `loc` can be mapped back to. A file the C composer refuses is composed again by the
pure-Python one, whose error text (and position) is what users see.
"""

from __future__ import annotations

from typing import Any, Iterator

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from sipconf.issues import Issue
from sipconf.model import Origin

Path = tuple[str | int, ...]
MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"


# A position packed into one int, `line << 32 | column` (1-based): a spec has one per key and
# per value, and an int is a fifth of the memory of an Origin. Origins are made when asked for.
Packed = int
NO_CHILDREN: dict = {}  # shared by every leaf; never written (`_make` gives a place its own dict)


def pack(origin: Origin) -> Packed:
    return origin.line << 32 | origin.col


class _Place:
    """The positions of one path: its key's (mapping entries) and its value's."""

    __slots__ = ("key", "value", "children")

    def __init__(self) -> None:
        self.key: Packed | None = None
        self.value: Packed | None = None
        self.children: dict[str | int, _Place] = NO_CHILDREN

    def child(self, part: str | int) -> "_Place":
        """The place at `part` under this one, made when missing."""
        if self.children is NO_CHILDREN:
            self.children = {}
        place = self.children.get(part)
        if place is None:
            place = self.children[part] = _Place()
        return place

    def merge(self, other: "_Place") -> None:
        """Take `other`'s positions, overwriting, recursively (copies: the two never share places)."""
        if other.key is not None:
            self.key = other.key
        if other.value is not None:
            self.value = other.value
        for part, child in other.children.items():
            self.child(part).merge(child)


class Positions:
    """Where each path of the data stands: the key's origin and the value's origin.

    A tree keyed by path parts, so an object's positions are found by walking down its path
    (not by scanning every position of the file): looking up, re-rooting and replacing a subtree
    cost the length of the path, listing one costs its size.
    """

    def __init__(self, file: str, root: _Place | None = None) -> None:
        self.file = file
        self._root = root if root is not None else _Place()

    def key(self, path: Path) -> Origin:
        """The origin of the key at `path`, else of the nearest enclosing one (a list item has
        no key: its own value is the best place)."""
        if path and isinstance(path[-1], int):
            return self.value(path)
        found = None
        place = self._root
        for part in path:
            place = place.children.get(part)
            if place is None:
                break
            if place.key is not None:
                found = place.key
        return self._origin(found) if found is not None else self.value(path)

    def value(self, path: Path) -> Origin:
        """The origin of the value at `path`, else of the nearest enclosing one."""
        place = self._root
        found = place.value
        for part in path:
            place = place.children.get(part)
            if place is None:
                break
            if place.value is not None:
                found = place.value
        return self._origin(found) if found is not None else Origin(self.file, 1, 1)

    def value_at(self, path: Path) -> Origin | None:
        """The origin of the value at exactly `path` (None when it has none)."""
        place = self._find(path)
        return self._origin(place.value) if place is not None and place.value is not None else None

    def set_key(self, path: Path, origin: Origin) -> None:
        self._make(path).key = pack(origin)

    def set_value(self, path: Path, origin: Origin) -> None:
        self._make(path).value = pack(origin)

    def subtree(self, prefix: Path) -> "Positions":
        """The positions under `prefix`, re-rooted at (). A view: it shares this tree's places
        (`graft` copies, so grafting a view elsewhere never links two places)."""
        return Positions(self.file, self._find(prefix) or _Place())

    def drop(self, prefix: Path) -> None:
        """Forget every position at or under `prefix`."""
        if not prefix:
            self._root = _Place()
            return
        parent = self._find(prefix[:-1])
        if parent is not None:
            parent.children.pop(prefix[-1], None)

    def graft(self, prefix: Path, other: "Positions") -> None:
        """Put `other`'s positions under `prefix` (overwriting)."""
        self._make(prefix).merge(other._root)

    def walk_dotted(self) -> Iterator[tuple[str, Origin | None, Origin | None]]:
        """(path, key origin, value origin) for every path below the root, depth first, each
        path written as its parts joined by dots (`media.codecs.0`)."""
        origin = self._origin
        stack: list[tuple[str, _Place]] = [(str(part), child) for part, child in reversed(self._root.children.items())]
        while stack:
            dotted, place = stack.pop()
            key, value = place.key, place.value
            yield dotted, origin(key) if key is not None else None, origin(value) if value is not None else None
            if place.children:
                stack.extend((f"{dotted}.{part}", child) for part, child in reversed(place.children.items()))

    def _find(self, path: Path) -> _Place | None:
        place = self._root
        for part in path:
            place = place.children.get(part)
            if place is None:
                return None
        return place

    def _make(self, path: Path) -> _Place:
        place = self._root
        for part in path:
            place = place.child(part)
        return place

    def _origin(self, packed: Packed) -> Origin:
        return Origin(self.file, packed >> 32, packed & 0xFFFFFFFF)


def tag_of(node: Node) -> str | None:
    """The node's resolved tag; `node.tag` builds it anew on every read."""
    tag = node.ctag
    if tag is None:
        return None
    return tag.suffix if tag.handle is None else str(tag)


def origin_of(file: str, node: Node) -> Origin:
    return Origin(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _packed(node: Node) -> Packed:
    mark = node.start_mark
    return (mark.line + 1) << 32 | (mark.column + 1)


class _Yaml12Resolver(VersionedResolver):
    """YAML 1.2 scalars (`yes` is a string, `0123` is not octal), as the round-trip loader reads
    them. The C parser never reports a `%YAML` directive, so the version is fixed here instead
    of being looked up (through three failing attribute lookups) for every scalar."""

    processing_version = (1, 2)


def _composer(pure: bool) -> YAML:
    yaml = YAML(typ="safe", pure=pure)
    yaml.Resolver = _Yaml12Resolver
    return yaml


def load_yaml(text: str, file: str) -> tuple[Any, Positions, list[Issue]]:
    """Parse `text`; return (data, positions, issues). A syntax error is one issue and data None."""
    positions = Positions(file)
    try:
        root = _composer(pure=False).compose(text)
    except YAMLError:
        # libyaml's error text is terser than the pure composer's, which names what it expected:
        # compose again to report that (errors only; a valid file is composed once).
        try:
            root = _composer(pure=True).compose(text)
        except YAMLError as exc:
            return None, positions, [_syntax_issue(exc, file)]
    if root is None:
        return None, positions, []
    builder = _Builder(file)
    data = builder.build(root, positions._root)
    return data, positions, builder.issues


def _syntax_issue(exc: YAMLError, file: str) -> Issue:
    if not isinstance(exc, MarkedYAMLError):  # unmarked errors (encoding and the like)
        return Issue("error", "yaml-syntax", f"invalid YAML: {exc}", Origin(file, 1, 1))
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark and "end of stream" in (exc.problem or ""):
        # An unclosed quote or bracket runs to the end of the file: where it opened is
        # where the fix goes.
        mark = exc.context_mark
    where = Origin(file, mark.line + 1, mark.column + 1) if mark else Origin(file, 1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        problem = f"{exc.problem} ({exc.context})"
    return Issue("error", "yaml-syntax", f"invalid YAML: {problem}", where)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[Issue] = []
        self._scalars = YAML(typ="safe", pure=True).constructor

    def build(self, node: Node, place: _Place) -> Any:
        place.value = _packed(node)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, MappingNode):
            return self._mapping(node, place)
        if isinstance(node, SequenceNode):
            out = []
            if node.value:
                children = place.children = {}
                for index, item in enumerate(node.value):
                    child = children[index] = _Place()
                    out.append(self.build(item, child))
            return out
        return None

    def _at(self, node: Node) -> Origin:
        return origin_of(self.file, node)

    def _scalar(self, node: ScalarNode) -> Any:
        if tag_of(node) == STR_TAG:
            return node.value  # most scalars of a spec: nothing to construct
        try:
            return self._scalars.construct_object(node, deep=True)
        except YAMLError:
            return node.value  # an odd tag: keep the text; pydantic will judge the type

    def _mapping(self, node: MappingNode, place: _Place) -> dict:
        out: dict = {}
        first_at: dict[Any, Node] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and tag_of(key_node) == MERGE_TAG:
                merged.extend(value_node.value if isinstance(value_node, SequenceNode) else [value_node])
                continue
            if not isinstance(key_node, ScalarNode):
                self.issues.append(Issue("error", "invalid-key", "a mapping key must be a plain value", self._at(key_node)))
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str):
                key = key_node.value  # `123:` or `true:` as a name: keep it as written
            if key in first_at:
                first = self._at(first_at[key])
                self.issues.append(
                    Issue("error", "duplicate-key", f"duplicate key '{key}' (first defined at {first})", self._at(key_node))
                )
                continue
            first_at[key] = key_node
            child = place.child(key)
            child.key = _packed(key_node)
            out[key] = self.build(value_node, child)
        # YAML merge keys (`<<: *base`): keys written here win over merged ones.
        for source in merged:
            if not isinstance(source, MappingNode):
                self.issues.append(
                    Issue("error", "invalid-merge", "'<<' must merge a mapping", self._at(source))
                )
                continue
            scratch = _Place()
            for key, value in self._mapping(source, scratch).items():
                if key not in out:
                    out[key] = value
                    place.child(key).merge(scratch.children[key])
        return out
