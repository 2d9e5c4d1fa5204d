"""URI comparison (RFC 3261 19.1.4): the RFC's own examples, then what SBCs vary."""

from __future__ import annotations

import pytest

from sipconf.sip.uri import URI, uri_equal

# RFC 3261 19.1.4, "equivalent" examples.
RFC_EQUAL = [
    ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
    ("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"),
    ("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
     "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"),
    ("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
     "sip:alice@atlanta.com?priority=urgent&subject=project%20x"),
]

# RFC 3261 19.1.4, "not equivalent" examples, with the RFC's reason.
RFC_NOT_EQUAL = [
    ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),  # user differs
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),  # may resolve to another port
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),  # may resolve to another transport
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),  # header only in one
    ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),  # a name is not its address
    ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"),
]

# What peers and SBCs send, beyond the RFC's examples.
MORE_EQUAL = [
    ("sip:+15550100@127.0.0.1:5060;user=phone;transport=udp", "sip:+15550100@127.0.0.1:5060;TRANSPORT=UDP;user=phone"),
    ("sip:+15550100@[::1]:5060", "sip:+15550100@[0:0::1]:5060"),
    ("sips:alice@h", "SIPS:alice@H"),
    ("sip:alice@h;lr", "sip:alice@h;LR"),
    ("sip:alice@h;x=%41", "sip:alice@h;X=a"),
    ("tel:+15550100;phone-context=x", "TEL:+15550100;Phone-Context=X"),
]
MORE_NOT_EQUAL = [
    ("sip:alice@h", "sips:alice@h"),  # sip and sips never match
    ("sip:h", "sip:alice@h"),  # a user in one only
    ("sip:alice@h", "sip:alice:pw@h"),  # a password in one only
    ("sip:alice@h;user=phone", "sip:alice@h"),
    ("sip:alice@h;ttl=1", "sip:alice@h"),
    ("sip:alice@h;method=INVITE", "sip:alice@h"),
    ("sip:alice@h;maddr=239.1.1.1", "sip:alice@h"),
    ("sip:alice@h:5060", "sip:alice@h:5070"),
    ("sip:alice@h", "sip:alice@h2"),
    ("sip:alice@h?a=1", "sip:alice@h?a=2"),
    ("sip:a%3Bb@h", "sip:a;b@h"),  # an escaped reserved character is not the character
    ("sip:alice@h", "not a uri"),
    ("tel:+15550100", "tel:+15550101"),
    ("tel:+15550100", "sip:+15550100@h"),
]


def test_escaped_plus_is_not_plus() -> None:
    # "+" is in RFC 3261's reserved set, so %2B stays an escape and differs from "+".
    assert not uri_equal("sip:%2b15550100@h", "sip:+15550100@h")
    assert uri_equal("sip:%2b15550100@h", "sip:%2B15550100@h")


@pytest.mark.parametrize(("left", "right"), RFC_EQUAL + MORE_EQUAL)
def test_equal(left: str, right: str) -> None:
    assert uri_equal(left, right)
    assert uri_equal(right, left)


@pytest.mark.parametrize(("left", "right"), RFC_NOT_EQUAL + MORE_NOT_EQUAL)
def test_not_equal(left: str, right: str) -> None:
    assert not uri_equal(left, right)
    assert not uri_equal(right, left)


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", True),
        ("sips:bob@biloxi.com", "sips:bob@biloxi.com:5061", True),
        ("sips:bob@biloxi.com", "sips:bob@biloxi.com:5060", False),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5070", False),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", False),  # only the port is defaulted
    ],
)
def test_default_port(left: str, right: str, equal: bool) -> None:
    assert uri_equal(left, right, default_port=True) is equal
    assert uri_equal(right, left, default_port=True) is equal


def test_parsed_uris_compare_too() -> None:
    assert uri_equal(URI.parse("sip:alice@h"), "sip:alice@H")
