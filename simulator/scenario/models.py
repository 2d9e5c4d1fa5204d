"""Scenario files as pydantic v2 models.

Strict and closed like the spec (`extra="forbid"`), so a typo is an error at its line.
Secrets use the spec's own `{env: NAME}` references (`sipconf.spec.values.Secret`).
Rules that tie fields together (what each direction needs, what cannot be observed) are not
model validators here: those stop at the first problem and never run when a field is wrong.
They live in `simulator.scenario.checks`, which reads the YAML and reports each one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import difflib
import ipaddress
import re

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, field_validator
from pydantic_core import PydanticCustomError

from sipconf.spec.values import Secret

Direction = Literal["inbound", "outbound"]
Transport = Literal["udp", "tcp"]
DriverName = Literal["sipp", "scapy", "inproc"]
State = Literal["ringing", "answered", "joined", "pin_prompt", "ended"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class Credentials(_Strict):
    """Digest credentials, by the same `{env: NAME}` names as the spec."""

    username: str
    password: Secret


class Call(_Strict):
    """How the call is placed.

    Inbound: the INVITE the caller sends to the bridge (`from`/`to` user parts, From host,
    loopback source address, transport, extra headers, digest credentials).
    Outbound: the CreateSIPParticipant request (`trunk` is the spec name of the outbound
    trunk; `to` is `sip_call_to`, `from` is `sip_number`).
    """

    direction: Direction = "inbound"
    from_: str = Field("", alias="from")
    to: str = ""
    from_host: str = ""
    source: str = "127.0.0.1"
    transport: Transport = "udp"
    headers: dict[str, str] = {}
    auth: Credentials | None = None
    # scapy only: send the INVITE deliberately broken (edge cases a SIPp scenario cannot write)
    malformed: Literal["bad-content-length", "missing-call-id", "bad-start-line"] | None = None
    # outbound (CreateSIPParticipant fields)
    trunk: str = ""
    room: str = ""
    participant_identity: str = ""
    participant_name: str = ""
    participant_attributes: dict[str, str] = {}
    dtmf: str = ""
    wait_until_answered: bool = True

    @field_validator("source")
    @classmethod
    def _loopback(cls, value: str) -> str:
        # Loopback only: the simulator never sends from (or to) a routable address.
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise PydanticCustomError("spec_source_not_loopback",
                                      f"source '{value}' is not an IP address: use one in 127.0.0.0/8") from None
        if address not in ipaddress.ip_network("127.0.0.0/8"):
            raise PydanticCustomError("spec_source_not_loopback",
                                      f"source {value} is not in 127.0.0.0/8: the simulator calls from loopback only")
        return value


class FarEnd(_Strict):
    """The far end (UAS) started at the outbound trunk's address: how it answers.

    `status` is its final answer; `challenge` makes it ask for digest auth first (407) with
    the trunk's credentials; `refer` is how it answers a REFER from LiveKit (202 then a
    NOTIFY with `notify` as the sipfrag status, or a plain final status).
    """

    status: int = Field(200, ge=200, le=699)
    challenge: bool = False
    refer_status: int = Field(202, ge=200, le=699)
    notify: int = Field(200, ge=100, le=699)


class Wait(_Strict):
    wait: State
    timeout: float = Field(5.0, gt=0)


# The digits a caller can send: the sixteen DTMF keys (RFC 4733 events 0-15), either case.
DTMF_KEYS = "0-9, *, # and A-D (or a-d)"
_DTMF = re.compile(r"[0-9*#A-Da-d]+")


class Dtmf(_Strict):
    """Digits sent by the caller: RFC 4733 telephone-events or SIP INFO."""

    # The schema keeps the pattern for editors; the validator says it in words.
    dtmf: str = Field(json_schema_extra={"pattern": f"^{_DTMF.pattern}$"})
    method: Literal["rfc4733", "info"] = "rfc4733"
    duration_ms: int = Field(100, ge=20, le=2000)
    gap_ms: int = Field(50, ge=0, le=5000)

    @field_validator("dtmf")
    @classmethod
    def _keys(cls, value: str) -> str:
        if not value:
            raise PydanticCustomError("spec_invalid_dtmf", f"no digits: a dtmf step sends one or more of {DTMF_KEYS}")
        if _DTMF.fullmatch(value) is None:
            bad = "".join(dict.fromkeys(ch for ch in value if _DTMF.fullmatch(ch) is None))
            shown = ", ".join(f"'{ch}'" for ch in bad)
            raise PydanticCustomError("spec_invalid_dtmf",
                                      f"'{value}': {shown} {'is not a DTMF digit' if len(bad) == 1 else 'are not DTMF digits'};"
                                      f" the digits are {DTMF_KEYS}")
        return value


class Transfer(_Strict):
    """TransferSIPParticipant to a tel: or sip: target; the far end's answer is in `far_end`."""

    transfer: str = Field(json_schema_extra={"pattern": "^(tel|sip):.+"})

    @field_validator("transfer")
    @classmethod
    def _uri(cls, value: str) -> str:
        scheme, colon, rest = value.partition(":")
        if scheme not in ("tel", "sip") or not colon or not rest:
            raise PydanticCustomError(
                "spec_invalid_transfer",
                f"transfer target '{value}' is not a tel: or sip: URI (tel:+15105550100, sip:desk@example.com)")
        return value


class Hangup(_Strict):
    hangup: Literal["caller", "livekit"]


class RemoveParticipant(_Strict):
    remove_participant: bool = True


# A step is a mapping keyed by what it does (`wait:`, `dtmf:`, ...): that key picks the model,
# so one bad step is one error at its own line, not one per union member. The tags carry
# brackets, which the spec's diagnostics drop from a location like any union-member tag.
STEP_KEYS = ("wait", "dtmf", "transfer", "hangup", "remove_participant")


def _known_step(value: Any) -> Any:
    """One error for a step that names no known step, or two: the closest key as a hint."""
    if isinstance(value, BaseModel):
        return value
    if not isinstance(value, dict) or not value:
        shown = f"'{value}'" if isinstance(value, str) else type(value).__name__
        raise PydanticCustomError("spec_unknown_step",
                                  f"expected a step mapping (one of: {', '.join(STEP_KEYS)}), got {shown}")
    kinds = [str(k) for k in value if k in STEP_KEYS]
    if len(kinds) > 1:
        raise PydanticCustomError("spec_unknown_step",
                                  f"one step per list item: {' and '.join(repr(k) for k in kinds)} are separate steps")
    if not kinds:
        first = str(next(iter(value), ""))
        close = difflib.get_close_matches(first, STEP_KEYS, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; a step is one of: {', '.join(STEP_KEYS)}"
        raise PydanticCustomError("spec_unknown_step", f"unknown step '{first}'{hint}")
    return value


def _step_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return next(f"step[{k}]" for k in STEP_KEYS if k in type(value).model_fields)
    if isinstance(value, dict):
        return next((f"step[{k}]" for k in value if k in STEP_KEYS), None)
    return None


Step = Annotated[
    Union[
        Annotated[Wait, Tag("step[wait]")],
        Annotated[Dtmf, Tag("step[dtmf]")],
        Annotated[Transfer, Tag("step[transfer]")],
        Annotated[Hangup, Tag("step[hangup]")],
        Annotated[RemoveParticipant, Tag("step[remove_participant]")],
    ],
    Discriminator(_step_kind),
    BeforeValidator(_known_step),
]


class Pattern(_Strict):
    """`{regex: ...}`: matched against the whole value (Python's re.fullmatch), as if written
    between ^ and $; `.*` at either end allows more text there."""

    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise PydanticCustomError("spec_bad_regex", f"regex '{value}' does not compile: {err}") from None
        return value


def _match_kind(value: Any) -> str:
    return "match[regex]" if isinstance(value, (dict, Pattern)) else "match[text]"


# Exact text, or `{regex: ...}`: the value's shape picks one, so an error is reported once.
Match = Annotated[Union[Annotated[str, Tag("match[text]")], Annotated[Pattern, Tag("match[regex]")]],
                  Discriminator(_match_kind)]


class ParticipantExpect(_Strict):
    identity: Match | None = None
    name: Match | None = None
    attributes: dict[str, Match] = {}


class InviteExpect(_Strict):
    """The INVITE the far end received (outbound calls)."""

    request_uri: Match | None = None
    from_: Match | None = Field(None, alias="from")
    to: Match | None = None
    headers: dict[str, Match] = {}


class TransferExpect(_Strict):
    """The transfer's result: the REFER's final status and the NOTIFY sipfrag status, and
    the SipCallError status the API returned (None = the transfer succeeded)."""

    to: str | None = None  # the Refer-To the far end received
    refer_status: int | None = None
    notify: int | None = None
    error: int | None = None


class Expect(_Strict):
    status: int | None = Field(None, ge=100, le=699)
    reason: str | None = None
    no_final_response: bool = False
    trunk: str | None = None
    rule: str | None = None
    room: Match | None = None
    participant: ParticipantExpect | None = None
    digits: str | None = None
    transfer: TransferExpect | None = None
    invite: InviteExpect | None = None
    sip_error: int | None = None
    joined: bool | None = None

    @property
    def needs_participant(self) -> bool:
        """What can only be read from the call's participant (the API shows a call through it)."""
        return (self.trunk is not None or self.rule is not None or self.room is not None
                or self.participant is not None or self.joined is True)


class Scenario(_Strict):
    name: str = Field(min_length=1)
    tags: list[str] = []
    driver: DriverName | None = None
    call: Call
    far_end: FarEnd | None = None
    steps: list[Step] = []
    expect: Expect = Expect()


class Suite(_Strict):
    """One scenario file. `spec` is relative to the file; default the nearest spec.yaml."""

    spec: str | None = None
    driver: DriverName = "sipp"
    mode: Literal["explicit", "oss"] = "explicit"
    # Test credentials: values for the secret environment variables (`{env: NAME}`) of the
    # spec and the scenarios, used only when the variable is not set in the environment.
    env: dict[str, str] = {}
    scenarios: list[Scenario] = Field(min_length=1)
