"""The frames between the bridge and its UDP front: what `frame` packs, `records` gives back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipconf.bridge import front_wire as wire

hosts = st.one_of(st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str))
items = st.tuples(st.floats(min_value=0, max_value=4e9, allow_nan=False), st.tuples(hosts, st.integers(0, 65535)),
                  st.binary(max_size=2000))


@given(st.sampled_from([wire.DATAGRAMS, wire.SEND, wire.SHED]), st.integers(0, 2**32 - 1), st.lists(items, max_size=20))
def test_a_frame_gives_back_what_was_packed(kind, number, packed):
    data = wire.frame(kind, number, packed)
    assert wire.kind_of(data) == (kind, number)
    assert list(wire.records(data)) == packed
    pieced = wire.header(kind, number) + b"".join(wire.record(t, host, port, d) for t, (host, port), d in packed)
    assert pieced == data


@pytest.mark.parametrize("cut", [1, 5, 7, 12])
def test_a_cut_frame_is_an_error(cut):
    data = wire.frame(wire.DATAGRAMS, 0, [(1.5, ("127.0.0.1", 5060), b"INVITE sip:x SIP/2.0\r\n\r\n")])
    with pytest.raises(ValueError):
        list(wire.records(data[:-cut]))
    with pytest.raises(ValueError):
        wire.kind_of(data[:4])
