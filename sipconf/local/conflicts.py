"""The conflict check of a create, without re-reading every stored object each time.

LiveKit checks a new trunk (or dispatch rule) by validating the whole stored list with the
new object last (docs/livekit.md#trunk-conflicts, #rule-conflicts). Done literally, every
create decodes and normalises every stored object, so creating N objects costs N^2: a
3,000-object apply spent minutes in it.

`CreateCheck` gives the same answer from fewer objects. Both checks only ever compare
objects that share a called number (the normalised number, or "" for none, is part of
every key), so when the stored objects are free of conflicts among themselves, a conflict
of the new object can only be with a stored object that shares one of its numbers, and the
first one found is the same. The check therefore runs the very same validator (`validate`)
on those objects (still sorted by id, the new one last). When the stored objects already
conflict among themselves, the literal check runs, since LiveKit then reports *their*
conflict whatever is created.

The objects are indexed by number once, and the index is kept from one create to the next
as long as the store's version says nothing else was written in between (an update, a
delete, another process); otherwise it is built again from the store.
"""

from __future__ import annotations

from typing import Callable, Hashable, Iterable, Sequence

from google.protobuf.message import Message

from sipconf.routing.errors import LiveKitError
from sipconf.routing.numbers import normalize_number

Validate = Callable[[Sequence[Message]], LiveKitError | None]


def trunk_numbers(trunk: Message) -> list[str]:
    """The called-number keys `validate_trunks` buckets a trunk under."""
    return list(dict.fromkeys(normalize_number(n) for n in trunk.numbers)) or [""]


def rule_numbers(rule: Message) -> list[str]:
    """The number part of every key `validate_rules` gives a rule."""
    return list(dict.fromkeys(normalize_number(n) for n in rule.numbers)) or [""]


class _Index:
    """Stored objects, free of conflicts among themselves, by number key."""

    def __init__(self, version: Hashable, numbers: Callable[[Message], list[str]], id_field: str) -> None:
        self.version = version
        self._numbers = numbers
        self._id_field = id_field
        self._by_number: dict[str, dict[str, Message]] = {}

    def add(self, obj: Message) -> None:
        obj_id = getattr(obj, self._id_field)
        for number in self._numbers(obj):
            self._by_number.setdefault(number, {})[obj_id] = obj

    def sharing(self, obj: Message) -> list[Message]:
        """The indexed objects that share a number key with `obj`, sorted by id."""
        found: dict[str, Message] = {}
        for number in self._numbers(obj):
            found.update(self._by_number.get(number, {}))
        return [found[obj_id] for obj_id in sorted(found)]


class CreateCheck:
    """One kind's create-time conflict check (see the module docstring)."""

    def __init__(self, validate: Validate, numbers: Callable[[Message], list[str]], id_field: str) -> None:
        self._validate = validate
        self._numbers = numbers
        self._id_field = id_field
        self._index: _Index | None = None  # valid for the store at its `version`
        self._checked: _Index | None = None  # what the write in progress checked against

    def check(self, version: Hashable | None, stored: Callable[[], Iterable[Message]], new: Message) -> LiveKitError | None:
        """LiveKit's verdict on `[*stored(), new]`; `version` is the store's version the
        write transaction started from (None: unknown, so nothing is reused)."""
        index = self._index if version is not None and self._index is not None and self._index.version == version else None
        self._index = self._checked = None  # kept again only by `created`, once the write is committed
        if index is None:
            objects = list(stored())
            problem = self._validate(objects)
            if problem is not None:
                return self._validate([*objects, new])  # the stored objects' own conflict, as LiveKit reports it
            index = _Index(version, self._numbers, self._id_field)
            for obj in objects:
                index.add(obj)
        problem = self._validate([*index.sharing(new), new])
        if problem is None:
            self._checked = index
        else:
            self._index = index  # a refused create writes nothing: the index still holds
        return problem

    def created(self, version: Hashable | None, obj: Message) -> None:
        """`obj` (with its id) was stored by the write that `check` passed, which left the
        store at `version`: the index takes it in and stays valid for the next create."""
        index, self._checked = self._checked, None
        if index is None or version is None:
            return
        index.add(obj)
        index.version = version
        self._index = index
