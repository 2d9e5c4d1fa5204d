"""Saved plans (`sipconf plan --out FILE`, `sipconf apply FILE`).

The file is the JSON plan (docs/plan-json.md) plus `desired`: the normalised spec objects with
their secrets as *references*, never values, so `apply` can re-derive every write without
the spec file. `live_checksum` pins the live state the plan was computed against.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

from google.protobuf import json_format

from sipconf.errors import UserError
from sipconf.livekit import translate
from sipconf.model import DesiredObject, DesiredState, Origin, SecretRef
from sipconf.plan.changes import Change, RouteChange, Unmanaged
from sipconf.plan.plan import Plan
from sipconf.plan.render.json_plan import FORMAT_VERSION, plan_document


def save(plan: Plan, path: str | Path) -> None:
    if plan.desired is None:
        raise ValueError("a plan without its desired state cannot be saved")
    doc = plan_document(plan)
    doc["desired"] = desired_to_json(plan.desired)
    Path(path).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def is_plan_file(path: str | Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(1)
    except OSError:
        return False
    return head == b"{"


def load(path: str | Path) -> Plan:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: not a readable sipconf plan: {err}") from None
    version = doc.get("format_version") if isinstance(doc, dict) else None
    if version != FORMAT_VERSION:
        raise UserError(f"{path}: plan format_version {version!r} is not {FORMAT_VERSION}; make the plan again with this sipconf")
    try:
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
            desired=desired_from_json(doc["desired"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"{path}: damaged sipconf plan ({err.__class__.__name__}: {err})") from None


def desired_to_json(state: DesiredState) -> dict[str, Any]:
    return {
        "source": state.source,
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
                "secrets": {p: {"env": r.env, "file": r.file, "literal": r.literal} for p, r in sorted(o.secrets.items())},
            }
            for o in state.objects()
        ],
    }


def desired_from_json(doc: dict[str, Any]) -> DesiredState:
    objects = []
    for row in doc["objects"]:
        origin = Origin(*row["origin"])
        msg = json_format.ParseDict(row["message"], translate.MESSAGE_CLASS[row["kind"]]())
        secrets = {p: SecretRef(env=r["env"], file=r["file"], literal=r["literal"], origin=origin) for p, r in row["secrets"].items()}
        objects.append(DesiredObject(row["kind"], row["name"], origin, msg, MappingProxyType(secrets), managed=row["managed"]))
    return DesiredState(
        source=doc["source"],
        version=doc["version"],
        project=doc["project"],
        environment=doc["environment"],
        url=doc["url"],
        inbound=tuple(o for o in objects if o.kind == translate.INBOUND),
        outbound=tuple(o for o in objects if o.kind == translate.OUTBOUND),
        rules=tuple(o for o in objects if o.kind == translate.RULE),
    )
