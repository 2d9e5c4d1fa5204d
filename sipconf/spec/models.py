"""The spec, version 1, as pydantic v2 models.

Field names are snake_case and mirror LiveKit's, except where the spec
groups them (`auth: {username, password, realm}`, `media: {...}`) or names a boolean for
what it does (`krisp` = `krisp_enabled`). Types are strict: YAML `1234` is not a PIN and
`yes` is not a boolean, so a quoting mistake is an error at its line instead of a surprise.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sipconf.spec.values import fail, AddressMask, DurationField, Metadata, Name, Number, Pin, Secret

UInt32 = Annotated[int, Field(ge=0, le=2**32 - 1)]
HeaderMap = dict[str, str]
IncludeHeaders = Literal["none", "x-headers", "all"]
Encryption = Literal["disable", "allow", "require"]
Transport = Literal["auto", "udp", "tcp", "tls"]

MANAGED_DESCRIPTION = (
    "false: sipconf does not own this object and never creates, updates or deletes it; a plan only"
    " reports whether the live object matches (what `sipconf import` writes for objects it does"
    " not own; `sipconf import --adopt NAME` takes ownership). Default true."
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Codec(_Strict):
    """A codec: `PCMU` or `{name: opus, rate: 48000}`."""

    name: str
    rate: UInt32 = 0

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class _OrName:
    """JSON Schema of a codec entry: the loader takes a bare name as `{name: NAME}` (Codec)."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict:
        return {"anyOf": [{"type": "string", "description": "a codec name, as `{name: NAME}`"}, handler(core_schema)]}


def _exactly_one_of(*keys: str, at_least: bool = False) -> dict:
    """JSON Schema for "one (or at least one) of these keys holds a mapping" (null counts as absent)."""
    options = [{"required": [k], "properties": {k: {"type": "object"}}} for k in keys]
    return {"anyOf" if at_least else "oneOf": options}


class Media(_Strict):
    """SIPMediaConfig: encryption, media timeout, codecs."""

    encryption: Encryption | None = None
    timeout: DurationField | None = None
    codecs: list[Annotated[Codec, _OrName()]] = []
    only_listed_codecs: bool = False


class InboundAuth(_Strict):
    username: str = ""
    password: Secret | None = None
    realm: str = ""


class OutboundAuth(_Strict):
    username: str = ""
    password: Secret | None = None


class _TrunkCommon(_Strict):
    numbers: list[Number] = []
    headers: HeaderMap = {}
    headers_to_attributes: HeaderMap = {}
    attributes_to_headers: HeaderMap = {}
    include_headers: IncludeHeaders = "none"
    media: Media | None = None
    metadata: Metadata = ""


class InboundTrunk(_TrunkCommon):
    """SIPInboundTrunkInfo."""

    managed: bool = Field(True, description=MANAGED_DESCRIPTION)
    allowed_addresses: list[AddressMask] = []
    allowed_numbers: list[Number] = []
    auth: InboundAuth | None = None
    ringing_timeout: DurationField | None = None
    ringing_timeout_status: UInt32 | None = None
    max_call_duration: DurationField | None = None
    krisp: bool = False


class OutboundTrunk(_TrunkCommon):
    """SIPOutboundTrunkInfo."""

    managed: bool = Field(True, description=MANAGED_DESCRIPTION)
    address: str
    transport: Transport = "auto"
    destination_country: str = ""
    from_host: str = ""
    auth: OutboundAuth | None = None


class Trunk(_Strict):
    """One provider: an inbound and/or an outbound trunk sharing the name."""

    model_config = ConfigDict(json_schema_extra=_exactly_one_of("inbound", "outbound", at_least=True))

    inbound: InboundTrunk | None = None
    outbound: OutboundTrunk | None = None

    @model_validator(mode="after")
    def _one_half(self) -> "Trunk":
        if self.inbound is None and self.outbound is None:
            fail("empty-trunk", "a trunk needs an 'inbound' or an 'outbound' half, or both")
        return self


class Direct(_Strict):
    """dispatch_rule_direct: every caller into one room."""

    room: str
    pin: Pin | None = None


class Individual(_Strict):
    """dispatch_rule_individual: a room per caller, random suffix unless no_randomness."""

    room_prefix: str = ""
    pin: Pin | None = None
    no_randomness: bool = False


class Callee(_Strict):
    """dispatch_rule_callee: a room per called number, random suffix only with randomize."""

    room_prefix: str = ""
    pin: Pin | None = None
    randomize: bool = False


class Agent(_Strict):
    """RoomAgentDispatch: an agent the room dispatches when it is created."""

    agent_name: str
    metadata: Metadata = ""


class RoomConfig(_Strict):
    """RoomConfiguration; timeouts in seconds and playout delays in ms, as LiveKit has them."""

    name: str = ""
    empty_timeout: UInt32 | None = None
    departure_timeout: UInt32 | None = None
    max_participants: UInt32 | None = None
    metadata: Metadata = ""
    min_playout_delay: UInt32 | None = None
    max_playout_delay: UInt32 | None = None
    sync_streams: bool = False
    agents: list[Agent] = []
    tags: dict[str, str] = {}


RULE_KINDS = ("direct", "individual", "callee")


class DispatchRule(_Strict):
    """SIPDispatchRuleInfo with exactly one rule kind."""

    model_config = ConfigDict(json_schema_extra=_exactly_one_of(*RULE_KINDS))

    managed: bool = Field(True, description=MANAGED_DESCRIPTION)
    direct: Direct | None = None
    individual: Individual | None = None
    callee: Callee | None = None
    trunks: list[str] | None = None
    numbers: list[Number] = []
    inbound_numbers: list[Number] = []
    hide_phone_number: bool = False
    attributes: dict[str, str] = {}
    metadata: Metadata = ""
    room_preset: str = ""
    room_config: RoomConfig | None = None
    krisp: bool = False
    media: Media | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "DispatchRule":
        # LiveKit refuses an unset oneof everywhere ("unsupported SIP Dispatch Rule: <nil>").
        kinds = [k for k in RULE_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = f" (found {', '.join(kinds)})" if kinds else ""
            fail("rule-kind", f"a dispatch rule needs exactly one of direct, individual, callee{found}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in RULE_KINDS if getattr(self, k) is not None)


class Environment(_Strict):
    """An overlay: per-object field overrides, deep-merged over the base spec."""

    url: str | None = None
    trunks: dict[Name, dict[str, Any]] = {}
    dispatch_rules: dict[Name, dict[str, Any]] = {}


class Spec(_Strict):
    """A sipconf spec, version 1."""

    model_config = ConfigDict(title="sipconf spec v1")

    version: Literal[1]
    project: str
    trunks: dict[Name, Trunk] = {}
    dispatch_rules: dict[Name, DispatchRule] = {}
    environments: dict[Name, Environment] = {}
