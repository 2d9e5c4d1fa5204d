"""Digest credentials reach SIPp through its scenario XML, never its command line: the caller's
`[authentication username=... password=...]` and the far end's `<verifyauth>`, in SIPp's `\\xHH`
escapes, written 0600 and removed after the run. A real SIPp caller answers a real SIPp far
end's challenge with a password full of XML and SIPp specials."""

from __future__ import annotations

import asyncio
import hashlib
import re
import stat
from pathlib import Path
from xml.etree import ElementTree

import pytest

from sipconf.errors import UserError
from sipconf.sip.digest import parse_digest
from sipconf.sip.message import Request
from simulator.ports import free_port
from simulator.scenario import load_paths
from simulator.scenario.models import FarEnd
from simulator.sipprun import run_sipp, wait_bound, write_private
from simulator.sipptrace import final_invite_response, messages, parse_trace
from simulator.sippxml import authentication_keyword, sipp_literal, uac_xml, uas_xml

from tests.simulator.conftest import DEMO

SCENARIOS = {s.scenario.name: s.scenario for s in load_paths([DEMO])}
PASSWORD = "pa ss&<>\"'[field0]\\x41=ü"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _unescape(text: str) -> str:
    """What SIPp's message parser makes of `\\xHH`."""
    return re.sub(rb"\\x([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode()).decode()


def test_sipp_literal_leaves_nothing_sipp_or_xml_would_read_as_syntax():
    escaped = sipp_literal(PASSWORD)
    assert _unescape(escaped) == PASSWORD
    assert re.fullmatch(r"(?:[A-Za-z0-9._~-]|\\x[0-9A-F]{2})+", escaped)
    assert authentication_keyword("acme", "p w") == "[authentication username=acme password=p\\x20w]"


def test_credentials_too_long_for_sipps_keyword_are_one_clear_error():
    with pytest.raises(UserError) as err:
        authentication_keyword("acme", "&" * 60)
    assert list(err.value.lines) == ["digest credentials of 'acme' are too long for SIPp's [authentication] keyword"
                               " (278 characters once escaped, 256 at most)"]


def test_the_xml_carries_the_credentials_and_stays_well_formed():
    caller = uac_xml(SCENARIOS["auth trunk with the right password"], "127.0.0.1", credentials=("acme-telnyx", PASSWORD))
    far_end = uas_xml(SCENARIOS["auth-challenged trunk answers the far end's digest challenge"], FarEnd(challenge=True),
                      "127.0.0.21", 40000, ("acme", PASSWORD))
    for xml in (caller, far_end):
        ElementTree.fromstring(xml.split("\n", 2)[2])
        assert PASSWORD not in xml and "pa\\x20ss\\x26\\x3C\\x3E\\x22\\x27\\x5Bfield0\\x5D" in xml
    verify = next(ElementTree.fromstring(far_end.split("\n", 2)[2]).iter("verifyauth"))
    assert _unescape(verify.get("password")) == PASSWORD


def test_a_private_file_is_0600_even_over_a_wider_one(tmp_path: Path):
    path = tmp_path / "run" / "caller.xml"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "<scenario/>")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "<scenario/>"
    write_private(tmp_path / "new" / "far_end.xml", "x")
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_a_real_sipp_caller_answers_a_real_sipp_far_ends_challenge(tmp_path: Path):
    caller_xml = uac_xml(SCENARIOS["auth trunk with the right password"], "127.0.0.1",
                         credentials=("acme", PASSWORD), hold_ms=100)
    far_xml = uas_xml(SCENARIOS["auth-challenged trunk answers the far end's digest challenge"],
                      FarEnd(challenge=True), "127.0.0.1", free_port("127.0.0.1"), ("acme", PASSWORD),
                      bye_timeout_ms=10000)
    far_address = ("127.0.0.1", free_port("127.0.0.1"))

    async def call():
        far = asyncio.create_task(run_sipp(far_xml, tmp_path / "far", "far_end", far_address[0], None, [], 30,
                                           local_port=far_address[1], secret=True))
        assert await wait_bound(far_address, 10, far)
        caller = await run_sipp(caller_xml, tmp_path / "caller", "caller", "127.0.0.1", far_address,
                                ["-s", "+15105550100"], 30, secret=True)
        return caller, await far

    caller, far = asyncio.run(call())
    assert (caller.returncode, far.returncode) == (0, 0), caller.report("caller") + far.report("far end")
    assert sorted(p.name for p in tmp_path.rglob("*.xml")) == []  # no scenario with a password is left
    assert all(PASSWORD not in text for text in (caller.trace, far.trace, caller.stderr, far.stderr))

    packets = parse_trace(far.trace, far_address, caller.local)
    final = final_invite_response(packets, caller.local)
    assert (final.status, final.reason) == (200, "OK")  # not 403: <verifyauth> accepted the password
    invite = [m for _, m in messages(packets) if isinstance(m, Request) and m.get("authorization")][0]
    digest = parse_digest(invite.get("authorization"))
    secret = _md5(":".join(("acme", digest["realm"], PASSWORD)))
    expected = _md5(":".join((secret, digest["nonce"], _md5("INVITE:" + digest["uri"]))))
    assert digest["username"] == "acme" and digest["response"] == expected != PASSWORD
