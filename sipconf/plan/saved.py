"""Saved plans (`sipconf plan --out FILE`, `sipconf apply FILE`).

The file is the whole JSON plan (docs/plan-json.md; every route-impact row) plus `desired`:
the normalised spec objects with their secrets as *references*, never values, so `apply` can
re-derive every write; the file may sit in a CI artifact store, so it must hold nothing a
reader could dial in with. `live_checksum` pins the live state the plan was computed against.

A secret is `{env: NAME}` or `{file: PATH}`, stored as that reference, or a literal (a PIN in
the spec, or a password with --allow-literal-secrets), stored only as `in_spec: true`:
`apply FILE` reads it again from the spec the plan was made from (`source`, or `source_path`,
its absolute form). `secrets_checksum` (sipconf.plan.secrets), one keyed HMAC over all the
secrets together, is how `apply` tells that any of them changed since the plan; nothing in the
file is a digest of one PIN.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from google.protobuf import json_format

from sipconf.errors import UserError
from sipconf.livekit.target import Target, same_url
from sipconf.model import DesiredObject, DesiredState, Origin, SecretRef
from sipconf.model.kinds import INBOUND, MESSAGE_CLASS, OUTBOUND, RULE
from sipconf.plan.changes import Change, RouteChange, Unmanaged, fingerprint
from sipconf.plan.only import Dependent
from sipconf.plan.plan import Plan
from sipconf.plan.render.json_plan import FORMAT_VERSION, plan_document

# Fingerprinted with the API secret into every saved plan, so `apply FILE` can tell "made with
# another key" apart from "a secret changed".
KEY_CHECK = "sipconf saved plan"
AGAIN = "make the plan again with `sipconf plan --out`"


def save(plan: Plan, path: str | Path, *, key: str) -> None:
    """Write `plan` to `path`, all of it; `key` (the target's API secret) keys its fingerprints."""
    if plan.desired is None:
        raise ValueError("a plan without its desired state cannot be saved")
    doc = plan_document(plan)
    doc["desired"] = desired_to_json(plan.desired, key=key)
    doc["desired"]["secrets_checksum"] = plan.secrets_checksum
    Path(path).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def is_plan_file(path: str | Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(1)
    except OSError:
        return False
    return head == b"{"


def load(path: str | Path, target: Target) -> Plan:
    """Read a saved plan for `target`; its literal secrets are read again from its spec.

    Refuses a plan of another format, one made against another URL, or with another API secret
    (its fingerprints and secrets checksum are keyed by that secret, so none could be checked).
    """
    doc = _document(path)
    try:
        url = doc["target"]["url"]
        if not same_url(url, target.url):
            raise UserError(f"{path} was planned against {url}, not {target.url}")
        if doc["desired"]["key_fingerprint"] != fingerprint(target.api_secret, KEY_CHECK):
            raise UserError(
                f"{path} was made with another API secret than this apply's (its fingerprints are keyed by"
                " it); make the plan with the key that applies it"
            )
        return replace(
            _plan(doc),
            desired=desired_from_json(doc["desired"], plan_file=str(path)),
            secrets_checksum=doc["desired"]["secrets_checksum"],
        )
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"{path}: damaged sipconf plan ({err.__class__.__name__}: {err})") from None


def read(path: str | Path) -> Plan:
    """A saved plan as it was made, to show it (`sipconf show`): no target to check, no secret
    to read, nothing it could apply."""
    doc = _document(path)
    try:
        return _plan(doc)
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"{path}: damaged sipconf plan ({err.__class__.__name__}: {err})") from None


def _document(path: str | Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: not a readable sipconf plan: {err}") from None
    version = doc.get("format_version") if isinstance(doc, dict) else None
    if version != FORMAT_VERSION:
        raise UserError(
            f"{path} is a plan of format {version!r}, which this sipconf does not apply (it writes format"
            f" {FORMAT_VERSION}); run `sipconf plan --out {path}` again"
        )
    return doc


def _plan(doc: dict[str, Any]) -> Plan:
    return Plan(
        url=doc["target"]["url"],
        project=doc["project"],
        environment=doc["environment"],
        changes=tuple(Change.from_json(c) for c in doc["changes"]),
        unmanaged=tuple(Unmanaged.from_json(u) for u in doc["unmanaged"]),
        route_changes=tuple(RouteChange.from_json(r) for r in doc["route_impact"]),
        live_checksum=doc["live_checksum"],
        managed_count=int(doc["managed_count"]),
        spec=doc["spec"],
        **_only(doc.get("only")),
    )


def _only(doc: dict[str, Any] | None) -> dict[str, Any]:
    """A plan made with `--only` applies to those objects only (a plan of no --only: `null`)."""
    if doc is None:
        return {}
    return {
        "only": tuple(str(name) for name in doc["names"]),
        "dependents": tuple(Dependent.from_json(d) for d in doc["dependents"]),
        "left_out": int(doc["left_out"]),
    }


def desired_to_json(state: DesiredState, *, key: str) -> dict[str, Any]:
    return {
        "source": state.source,
        "source_path": str(Path(state.source).resolve()),
        "key_fingerprint": fingerprint(key, KEY_CHECK),
        "version": state.version,
        "project": state.project,
        "environment": state.environment,
        "url": state.url,
        "objects": [
            {
                "kind": o.kind,
                "name": o.name,
                "managed": o.managed,
                "origin": [o.origin.file, o.origin.line, o.origin.col],
                "message": json_format.MessageToDict(o.message, preserving_proto_field_name=True),
                "secrets": {p: _secret_to_json(r) for p, r in sorted(o.secrets.items())},
            }
            for o in state.objects()
        ],
    }


def _secret_to_json(ref: SecretRef) -> dict[str, Any]:
    return {"env": ref.env, "file": ref.file, "in_spec": ref.literal is not None}


def desired_from_json(doc: dict[str, Any], *, plan_file: str) -> DesiredState:
    spec = _SpecLiterals(doc, plan_file=plan_file)
    objects = []
    for row in doc["objects"]:
        origin = Origin(*row["origin"])
        msg = json_format.ParseDict(row["message"], MESSAGE_CLASS[row["kind"]]())
        secrets = {}
        for p, r in row["secrets"].items():
            if r["in_spec"]:
                secrets[p] = spec.literal(row["kind"], row["name"], p)
            else:
                secrets[p] = SecretRef(env=r["env"], file=r["file"], origin=origin)
        objects.append(DesiredObject(row["kind"], row["name"], origin, msg, MappingProxyType(secrets), managed=row["managed"]))
    return DesiredState(
        source=doc["source"],
        version=doc["version"],
        project=doc["project"],
        environment=doc["environment"],
        url=doc["url"],
        inbound=tuple(o for o in objects if o.kind == INBOUND),
        outbound=tuple(o for o in objects if o.kind == OUTBOUND),
        rules=tuple(o for o in objects if o.kind == RULE),
    )


_SECRET_NAMES = {"auth_password": "password"}


def _secret_name(path: str) -> str:
    return _SECRET_NAMES.get(path, "PIN")


class _SpecLiterals:
    """The literal secrets of the spec a saved plan was made from, read once and only if needed."""

    def __init__(self, doc: dict[str, Any], *, plan_file: str) -> None:
        self.source: str = doc["source"]
        self.source_path: str = doc.get("source_path") or doc["source"]
        self.environment: str | None = doc["environment"]
        self.plan_file = plan_file
        self._state: DesiredState | None = None

    def literal(self, kind: str, name: str, path: str) -> SecretRef:
        """The literal as the spec writes it now; whether it is still the one planned with is
        for the secrets checksum to say (sipconf.plan.workflow)."""
        what = f"the {_secret_name(path)} of {kind.replace('_', ' ')} {name!r}"
        obj = self._spec(what).find(kind, name)
        ref = obj.secrets.get(path) if obj is not None else None
        if ref is None or ref.literal is None:
            where = f"{obj.origin}: " if obj is not None else f"{self.source}: "
            raise UserError(f"{where}{what} is no longer written in the spec, but {self.plan_file} was planned with it; {AGAIN}")
        return ref

    def _spec(self, what: str) -> DesiredState:
        """The spec, as planned (same environment overlay): the absolute path the plan recorded,
        else the path as given to `plan` (a CI job that checked the repository out elsewhere)."""
        from sipconf.spec import load

        if self._state is not None:
            return self._state
        for candidate in dict.fromkeys((self.source_path, self.source)):
            if Path(candidate).is_file():
                # Literal passwords were allowed (or refused) when the plan was made; only the
                # literals the plan was made with are taken from the spec.
                self._state = load(candidate, env=self.environment, allow_literal_secrets=True)
                return self._state
        raise UserError(
            f"{self.plan_file}: {what} is a literal, which a saved plan does not store,"
            f" and its spec {self.source} cannot be read; run `sipconf apply` from where the plan was"
            " made, or plan again"
        )
