"""Where the agent may send: loopback IP literals by default, any IP literal with the
operator's opt-in, never a host name. Pure checks: nothing is sent off loopback."""

from __future__ import annotations

import pytest

from sipconf.agent.transport import check_destination, require_loopback


@pytest.mark.parametrize("addr", [("127.0.0.1", 5060), ("127.0.1.9", 1), ("::1", 65535)])
def test_loopback_literals_pass_either_way(addr):
    check_destination(addr)
    check_destination(addr, allow_external=True)
    require_loopback(addr)


def test_the_default_refuses_an_address_off_loopback():
    with pytest.raises(ValueError) as err:
        check_destination(("192.0.2.1", 5060))
    assert str(err.value) == "the agent sends to loopback addresses only, not '192.0.2.1'"
    with pytest.raises(ValueError) as err:
        require_loopback(("192.0.2.1", 5060))
    assert str(err.value) == "the agent sends to loopback addresses only, not '192.0.2.1'"


@pytest.mark.parametrize("addr", [("192.0.2.1", 5060), ("2001:db8::7", 5080), ("198.51.100.20", 65535)])
def test_the_opt_in_lets_other_ip_literals_through(addr):
    check_destination(addr, allow_external=True)


def test_a_host_name_is_refused_either_way():
    with pytest.raises(ValueError) as err:
        check_destination(("sip.example.com", 5060))
    assert str(err.value) == "the agent sends to loopback addresses only, not 'sip.example.com'"
    with pytest.raises(ValueError) as err:
        check_destination(("localhost", 5060), allow_external=True)
    assert str(err.value) == "the agent sends to IP addresses only, not 'localhost' (host names are not resolved)"


@pytest.mark.parametrize("allow_external", [False, True])
@pytest.mark.parametrize("port", [0, 65536, -1, "5060", True])
def test_ports_are_1_to_65535(port, allow_external):
    with pytest.raises(ValueError) as err:
        check_destination(("127.0.0.1", port), allow_external=allow_external)
    assert str(err.value) == f"the agent sends to ports 1-65535 only, not {port!r}"
