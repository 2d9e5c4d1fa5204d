"""The check objects. Add a check by writing a small class and listing it in DEFAULT_CHECKS.

Every code is documented in docs/checks.md (level, meaning, fix).
"""

from __future__ import annotations

from sipconf.checks.headers import HeaderToTwoAttributes, TwoHeadersToOneAttribute
from sipconf.checks.livekit import LiveKitRejectsObject, LiveKitRuleConflict, LiveKitTrunkConflict, LiveKitWarnsObject
from sipconf.checks.pins import PinCollision
from sipconf.checks.reach import RuleShadowed, RuleUnreachable
from sipconf.checks.references import RuleOutboundOnlyTrunk, RuleUnknownTrunk
from sipconf.checks.trunks import InboundTrunksOverlap, OutboundDestinationCountry, OutboundTrunkNoNumbers

DEFAULT_CHECKS: tuple = (
    # LiveKit's own create-time rejections (errors, LiveKit's exact text).
    LiveKitRejectsObject(),
    LiveKitWarnsObject(),
    LiveKitTrunkConflict(),
    LiveKitRuleConflict(),
    OutboundTrunkNoNumbers(),
    # What LiveKit only shows at call time, or never.
    OutboundDestinationCountry(),
    InboundTrunksOverlap(),
    RuleUnknownTrunk(),
    RuleOutboundOnlyTrunk(),
    RuleUnreachable(),
    RuleShadowed(),
    PinCollision(),
    HeaderToTwoAttributes(),
    TwoHeadersToOneAttribute(),
)
