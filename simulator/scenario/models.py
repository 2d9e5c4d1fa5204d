"""Scenario files as pydantic v2 models (issue 6, section 1).

Strict and closed like the spec (`extra="forbid"`), so a typo is an error at its line.
Secrets use the spec's own `{env: NAME}` references (`sipconf.spec.values.Secret`).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

    @model_validator(mode="after")
    def _direction_fields(self) -> "Call":
        if self.direction == "outbound":
            if not self.trunk:
                raise ValueError("an outbound call needs 'trunk' (the spec name of an outbound trunk)")
            if not self.to:
                raise ValueError("an outbound call needs 'to' (sip_call_to)")
            if not self.room:
                raise ValueError("an outbound call needs 'room'")
        elif self.trunk or self.dtmf or self.room:
            raise ValueError("'trunk', 'room' and 'dtmf' are CreateSIPParticipant fields: only for direction: outbound")
        if not self.to and self.direction == "inbound":
            raise ValueError("an inbound call needs 'to'")
        return self


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


class Dtmf(_Strict):
    """Digits sent by the caller: RFC 4733 telephone-events or SIP INFO."""

    dtmf: str = Field(pattern=r"^[0-9*#A-Da-d]+$")
    method: Literal["rfc4733", "info"] = "rfc4733"
    duration_ms: int = Field(100, ge=20, le=2000)
    gap_ms: int = Field(50, ge=0, le=5000)


class Transfer(_Strict):
    """TransferSIPParticipant to a tel: or sip: target; the far end's answer is in `far_end`."""

    transfer: str = Field(pattern=r"^(tel|sip):.+")


class Hangup(_Strict):
    hangup: Literal["caller", "livekit"]


class RemoveParticipant(_Strict):
    remove_participant: bool = True


Step = Annotated[Union[Wait, Dtmf, Transfer, Hangup, RemoveParticipant], Field(union_mode="left_to_right")]


class Pattern(_Strict):
    regex: str


class ParticipantExpect(_Strict):
    identity: str | Pattern | None = None
    name: str | Pattern | None = None
    attributes: dict[str, str | Pattern] = {}


class InviteExpect(_Strict):
    """The INVITE the far end received (outbound calls)."""

    request_uri: str | Pattern | None = None
    from_: str | Pattern | None = Field(None, alias="from")
    to: str | Pattern | None = None
    headers: dict[str, str | Pattern] = {}


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
    room: str | Pattern | None = None
    participant: ParticipantExpect | None = None
    digits: str | None = None
    transfer: TransferExpect | None = None
    invite: InviteExpect | None = None
    sip_error: int | None = None
    joined: bool | None = None

    @model_validator(mode="after")
    def _final(self) -> "Expect":
        if self.no_final_response and self.status is not None:
            raise ValueError("'no_final_response' and 'status' exclude each other")
        return self


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
