"""`plain_headers`, the split every datagram takes, reads a header block exactly as the
line-by-line grammar does: the regular expressions below are that grammar, written once more
as the reference (a token, optional blanks, a colon, a value on one line)."""

from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st

from sipconf.sip.message import canonical_name, parse, plain_headers

TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
BLOCK = re.compile(rf"(?:{TOKEN}[ \t]*:[^\r\n]*\r\n)+")
LINE = re.compile(rf"({TOKEN})[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r\n")


def reference(block: str):
    text = block + "\r\n"
    if BLOCK.fullmatch(text) is None:
        return None
    headers = LINE.findall(text)
    index: dict[str, list[int]] = {}
    for position, (name, _value) in enumerate(headers):
        index.setdefault(canonical_name(name), []).append(position)
    lengths = index.get("content-length", [])
    if len(lengths) > 1:
        return None
    return headers, index, headers[lengths[0]][1] if lengths else None


NAMES = st.sampled_from(["Via", "v", "From", "To", "t", "Call-ID", "i", "CSeq", "Content-Length", "l",
                         "X-Odd.Name!", "Via ", "To\t", " Via", "Bad Name", "", "ü"])
VALUES = st.text(alphabet=st.sampled_from(list("ab;=:<>@ \t\r\n\x00é1")), max_size=12)
LINES = st.one_of(st.tuples(NAMES, st.sampled_from([":", ": ", " : ", ":\t"]), VALUES).map("".join),
                  st.text(alphabet=st.sampled_from(list("ab: \t\r\n")), max_size=6))


@settings(max_examples=600)
@given(st.lists(LINES, min_size=1, max_size=8))
def test_plain_headers_reads_as_the_grammar(lines):
    block = "\r\n".join(lines)
    assert plain_headers(block) == reference(block)


def test_a_name_written_with_blanks_before_its_colon_is_kept_bare():
    for _ in range(2):  # the second time from the table of names seen
        headers, index, _ = plain_headers("Via : SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nTo\t:  <sip:a@b> ")
        assert headers == [("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1"), ("To", "<sip:a@b>")]
        assert index == {"via": [0], "to": [1]}


def test_a_folded_or_odd_block_goes_to_the_line_by_line_reading():
    assert plain_headers("Subject: a\r\n b") is None  # folding (RFC 3261 7.3.1)
    assert plain_headers("Subject: a\nb: c") is None  # a lone LF
    message = parse(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject: a\r\n b\r\n"
                    b"Content-Length: 0\r\n\r\n")
    assert message.get("subject") == "a b"
