"""`sipconf.bridge.shards`: the front and every bridge process agree on who owns a call."""

from __future__ import annotations

from hypothesis import given, strategies as st

from sipconf.bridge.shards import call_id_of, owns, shard_of
from sipconf.sip.message import parse

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~()<>:\\\"/[]?{}",
               min_size=1, max_size=40)


def datagram(call_id_line: str) -> bytes:
    return (f"BYE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
            f"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>;tag=2\r\n{call_id_line}\r\n"
            f"CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n").encode()


@given(WORD, st.sampled_from(["Call-ID: {}", "call-id:{}", "i: {}", "I :\t{}", "CALL-ID  :  {}"]),
       st.integers(min_value=1, max_value=8))
def test_the_front_and_the_parser_name_the_same_shard(call_id, line, shards):
    data = datagram(line.format(call_id))
    parsed = parse(data)
    assert call_id_of(data) == parsed.call_id.encode()
    assert owns(parsed.call_id, shard_of(data, shards), shards)
    assert sum(owns(parsed.call_id, shard, shards) for shard in range(shards)) == 1


def test_without_a_call_id_the_main_process_gets_it():
    assert shard_of(b"\x00\xff garbage", 4) == 0
    assert shard_of(datagram("Subject: no id"), 4) == 0
    assert call_id_of(b"Call-ID: on-the-start-line\r\n\r\n") is None  # the start line is not a header


def test_a_call_id_in_the_body_is_not_read():
    data = datagram("Subject: x").replace(b"Content-Length: 0\r\n\r\n", b"Content-Length: 14\r\n\r\nCall-ID: body\r\n")
    assert call_id_of(data) is None


def test_one_process_owns_everything():
    assert owns("anything", 0, 1) and shard_of(datagram("Call-ID: x"), 1) == 0
