"""Minimal normalised states for check tests, built straight from LiveKit messages.

Each object gets its own line in a pretend `spec.yaml`, so assertions can name positions.
"""

from __future__ import annotations

import sys
from itertools import count
from types import MappingProxyType

import pytest
from livekit.protocol import sip as sip_pb

from sipconf.checks import run_checks
from sipconf.model import DesiredObject, DesiredState, Origin, SecretRef

_lines = count(10)


def _obj(kind, name, message, secrets=None, fields=()):
    line = next(_lines)
    origins = {f: Origin("spec.yaml", line, 5 + i) for i, f in enumerate(fields)}
    return DesiredObject(
        kind, name, Origin("spec.yaml", line, 3), message,
        MappingProxyType(dict(secrets or {})), MappingProxyType(origins),
    )


def inbound(name, *, password=None, **fields):
    secrets = {"auth_password": password} if password else {}
    return _obj("inbound_trunk", name, sip_pb.SIPInboundTrunkInfo(sip_trunk_id=name, name=name, **fields), secrets)


def outbound(name, *, password=None, **fields):
    secrets = {"auth_password": password} if password else {}
    return _obj("outbound_trunk", name, sip_pb.SIPOutboundTrunkInfo(sip_trunk_id=name, name=name, **fields), secrets)


def rule(name, *, direct=None, individual=None, callee=None, pin=None, fields=("trunks.0",), **rest):
    """`direct="room"`, `individual="prefix"` or `callee="prefix"`; `pin` a SecretRef or digits."""
    if isinstance(pin, str):
        pin = SecretRef(literal=pin)
    body = sip_pb.SIPDispatchRule()
    path = ""
    if direct is not None:
        body.dispatch_rule_direct.room_name = direct
        path = "rule.dispatch_rule_direct.pin"
    elif individual is not None:
        body.dispatch_rule_individual.room_prefix = individual
        path = "rule.dispatch_rule_individual.pin"
    elif callee is not None:
        body.dispatch_rule_callee.room_prefix = callee
        path = "rule.dispatch_rule_callee.pin"
    msg = sip_pb.SIPDispatchRuleInfo(sip_dispatch_rule_id=name, name=name, **rest)
    if path:
        msg.rule.CopyFrom(body)
    secrets = {path: pin} if pin is not None and path else {}
    return _obj("dispatch_rule", name, msg, secrets, fields)


def state(*objects):
    return DesiredState(
        source="spec.yaml", version=1, project="test", environment=None, url=None,
        inbound=tuple(o for o in objects if o.kind == "inbound_trunk"),
        outbound=tuple(o for o in objects if o.kind == "outbound_trunk"),
        rules=tuple(o for o in objects if o.kind == "dispatch_rule"),
    )


def lines(*objects, code=None, check=None):
    """The issue lines of the default checks (or one `check`), optionally of one code."""
    issues = run_checks(state(*objects), None if check is None else (check,))
    return [str(i) for i in issues if code is None or i.code == code]


@pytest.fixture
def b():
    """The builders above, as a namespace: `b.inbound(...)`, `b.lines(...)`."""
    return sys.modules[__name__]
