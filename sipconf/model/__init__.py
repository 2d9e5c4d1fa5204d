"""The normalised desired state: what every stage after loading sees.

A spec is loaded (sipconf.spec), validated and normalised once into a `DesiredState`.
Each object is the LiveKit protobuf message it becomes, with the spec name standing in for
LiveKit's id (`sip_trunk_id` / `sip_dispatch_rule_id` = the spec name; a rule's
`trunk_ids` list trunk names). Plan/apply map names to live ids; the routing engine, checks
and `explain` work on these messages directly, so their messages name spec objects.

Secrets are never inside `message`: the secret fields are left empty and listed in
`secrets` as references, resolved only by `resolve()` when a command needs them.

`kinds` names the three object kinds (their message class, id field and secret paths);
`paths` reads and writes a message field by its dotted path, as secrets are addressed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from google.protobuf.message import Message

from sipconf.errors import UserError
from sipconf.model.kinds import ObjectKind
from sipconf.model.paths import get_path, set_path

__all__ = ["DesiredObject", "DesiredState", "ObjectKind", "Origin", "SecretRef", "get_path", "set_path"]


@dataclass(frozen=True, order=True)
class Origin:
    """Where something stands in the YAML source (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class SecretRef:
    """A secret value: `{env: NAME}`, `{file: PATH}`, or a literal (PINs, or when allowed)."""

    env: str | None = None
    file: str | None = None
    literal: str | None = None
    origin: Origin | None = None

    def describe(self) -> str:
        if self.env:
            return f"env:{self.env}"
        if self.file:
            return f"file:{self.file}"
        return "literal"

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret's value. Raises UserError naming what is missing (never the value)."""
        where = f"{self.origin}: " if self.origin else ""
        if self.literal is not None:
            return self.literal
        if self.env:
            env = os.environ if environ is None else environ
            if self.env not in env:
                raise UserError(f"{where}secret environment variable {self.env} is not set")
            return env[self.env]
        if self.file:
            try:
                return Path(self.file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise UserError(f"{where}cannot read secret file {self.file}: {exc.strerror}") from None
        raise UserError(f"{where}empty secret reference")


@dataclass(frozen=True)
class DesiredObject:
    """One LiveKit object the spec wants, with its name, origin and unresolved secrets.

    `secrets` maps a dotted protobuf field path (`auth_password`,
    `rule.dispatch_rule_direct.pin`) to its reference. `field_origins` maps spec field
    names to their positions, for checks that point at one field.
    """

    kind: ObjectKind
    name: str
    origin: Origin
    message: Message
    secrets: Mapping[str, SecretRef] = field(default_factory=lambda: MappingProxyType({}))
    field_origins: Mapping[str, Origin] = field(default_factory=lambda: MappingProxyType({}))
    managed: bool = True

    def resolve(self, environ: Mapping[str, str] | None = None) -> Message:
        """A copy of `message` with every secret filled in."""
        out = type(self.message)()
        out.CopyFrom(self.message)
        for path, ref in self.secrets.items():
            set_path(out, path, ref.resolve(environ))
        return out

    def with_literal_secrets(self) -> Message:
        """A copy with only literal secrets filled (what routing can use without the environment)."""
        out = type(self.message)()
        out.CopyFrom(self.message)
        for path, ref in self.secrets.items():
            if ref.literal is not None:
                set_path(out, path, ref.literal)
        return out


@dataclass(frozen=True)
class DesiredState:
    """The whole normalised spec for one environment."""

    source: str
    version: int
    project: str
    environment: str | None
    url: str | None
    inbound: tuple[DesiredObject, ...] = ()
    outbound: tuple[DesiredObject, ...] = ()
    rules: tuple[DesiredObject, ...] = ()

    def objects(self) -> tuple[DesiredObject, ...]:
        return self.inbound + self.outbound + self.rules

    def find(self, kind: ObjectKind, name: str) -> DesiredObject | None:
        for obj in self.objects():
            if obj.kind == kind and obj.name == name:
                return obj
        return None

