"""Dispatch rules as the routing tests write them: an id, a room (or prefix) and a PIN."""

from __future__ import annotations

from livekit.protocol import sip


def direct(rid, room="r", pin="", **kw):
    rule = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=rid, **kw)
    rule.rule.dispatch_rule_direct.room_name = room
    rule.rule.dispatch_rule_direct.pin = pin
    return rule


def individual(rid, prefix="", pin="", **kw):
    rule = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=rid, **kw)
    rule.rule.dispatch_rule_individual.room_prefix = prefix
    rule.rule.dispatch_rule_individual.pin = pin
    return rule


def callee(rid, prefix="", pin="", **kw):
    rule = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=rid, **kw)
    rule.rule.dispatch_rule_callee.room_prefix = prefix
    rule.rule.dispatch_rule_callee.pin = pin
    return rule
