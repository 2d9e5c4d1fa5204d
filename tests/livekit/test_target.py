"""One target resolver for plan/apply/import and `sipconf test`: flags over the environment,
every missing value named in one line, and `sipconf test`'s embedded default."""

from __future__ import annotations

import pytest

from sipconf.errors import UserError
from sipconf.livekit.target import DEFAULT_TIMEOUT, Target, TargetFlags, resolve_target

ENV = {"LIVEKIT_URL": "http://127.0.0.1:7880", "LIVEKIT_API_KEY": "envkey", "LIVEKIT_API_SECRET": "envsecret"}


def test_flags_win_over_the_environment():
    flags = TargetFlags(url="http://127.0.0.1:9", api_key="flagkey", timeout=2.5)
    assert resolve_target(flags, ENV) == Target("http://127.0.0.1:9", "flagkey", "envsecret", 2.5)
    assert resolve_target(TargetFlags(), ENV) == Target(ENV["LIVEKIT_URL"], "envkey", "envsecret", DEFAULT_TIMEOUT)


def test_plan_names_every_missing_value():
    with pytest.raises(UserError) as err:
        resolve_target(TargetFlags(), {"LIVEKIT_URL": "http://127.0.0.1:7880"})
    assert list(err.value.lines) == [
        "no LiveKit target: set LIVEKIT_API_KEY, LIVEKIT_API_SECRET (or pass --url, --api-key and --api-secret);"
        " `sipconf up` prints the values for the embedded control plane"
    ]


def test_sipconf_test_without_a_url_takes_the_embedded_default():
    assert resolve_target(TargetFlags(sip="not-an-address"), {}, embedded_default=True) is None


def test_sipconf_test_with_a_url_needs_its_key_and_secret():
    with pytest.raises(UserError) as err:
        resolve_target(TargetFlags(url="http://127.0.0.1:9"), {}, embedded_default=True)
    assert list(err.value.lines) == ["http://127.0.0.1:9: set LIVEKIT_API_KEY and LIVEKIT_API_SECRET (or --api-key/--api-secret)"]


def test_sipconf_test_sends_calls_to_sip_or_sipconf_sip():
    assert resolve_target(TargetFlags(), ENV, embedded_default=True).sip == ("127.0.0.1", 5060)
    assert resolve_target(TargetFlags(), {**ENV, "SIPCONF_SIP": "127.0.0.2:5070"}, embedded_default=True).sip == ("127.0.0.2", 5070)
    assert resolve_target(TargetFlags(sip="127.0.0.3:5080"), {**ENV, "SIPCONF_SIP": "127.0.0.2:5070"},
                          embedded_default=True).sip == ("127.0.0.3", 5080)
    with pytest.raises(UserError) as err:
        resolve_target(TargetFlags(sip="5060"), ENV, embedded_default=True)
    assert list(err.value.lines) == ["--sip '5060': expected HOST:PORT, e.g. 127.0.0.1:5060"]


def test_the_secret_never_shows_in_the_repr():
    assert "envsecret" not in repr(resolve_target(TargetFlags(), ENV))
