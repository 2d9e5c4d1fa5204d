"""Go string semantics LiveKit's messages depend on: `%q`, `strconv.Unquote`, base-0 ints.

LiveKit and its SIP stack (sipgo) are written in Go, so the exact texts of their errors and
the numbers their parsers accept follow Go's `strconv`; the wire parsers and the pure rule
packages share these forms from here.
"""

from __future__ import annotations

_SIMPLE_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n",
    "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"',
}
_UNESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}


def quote(s: str) -> str:
    """Go's `strconv.Quote` (what `%q` prints for a string)."""
    out = ['"']
    for ch in s:
        if ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif ch == " " or (ch.isprintable() and ord(ch) >= 0x20):
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def quote_list(items: list[str] | tuple[str, ...]) -> str:
    """Go's `%q` of a `[]string`: `["a" "b"]`."""
    return "[" + " ".join(quote(s) for s in items) + "]"


def unquote(s: str) -> str:
    """Go's `strconv.Unquote` for double-quoted and back-quoted strings.

    Raises ValueError("invalid syntax") exactly where Go returns ErrSyntax.
    """
    if len(s) < 2:
        raise ValueError("invalid syntax")
    q = s[0]
    if q != s[-1]:
        raise ValueError("invalid syntax")
    body = s[1:-1]
    if q == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    if q != '"' or "\n" in body:
        raise ValueError("invalid syntax")
    out: list[str] = []
    raw = bytearray()  # \x and \ooo escapes produce bytes, decoded with the rest as UTF-8

    def flush() -> None:
        if raw:
            out.append(raw.decode("utf-8", errors="replace"))
            raw.clear()

    i = 0
    while i < len(body):
        ch = body[i]
        if ch == '"':
            raise ValueError("invalid syntax")
        if ch != "\\":
            flush()
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("invalid syntax")
        esc = body[i + 1]
        if esc in _UNESCAPES:
            flush()
            out.append(_UNESCAPES[esc])
            i += 2
        elif esc == "x":
            raw.append(_hex(body[i + 2 : i + 4], 2))
            i += 4
        elif esc in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
                raise ValueError("invalid syntax")
            raw.append(int(digits, 8))
            i += 4
        elif esc in "uU":
            n = 4 if esc == "u" else 8
            code = _hex(body[i + 2 : i + 2 + n], n)
            if code > 0x10FFFF or 0xD800 <= code < 0xE000:
                raise ValueError("invalid syntax")
            flush()
            out.append(chr(code))
            i += 2 + n
        else:
            raise ValueError("invalid syntax")
    flush()
    return "".join(out)


def _hex(digits: str, n: int) -> int:
    if len(digits) != n or any(d not in "0123456789abcdefABCDEF" for d in digits):
        raise ValueError("invalid syntax")
    return int(digits, 16)


def parse_int(s: str, bits: int = 64) -> int:
    """Go's `strconv.ParseInt(s, 0, bits)`: sign, 0x/0o/0b prefixes, leading 0 = octal, `_`.

    Raises ValueError on anything Go rejects (syntax or range).
    """
    if not s:
        raise ValueError("invalid syntax")
    sign = 1
    body = s
    if body[0] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    base = 10
    digits = body
    lower = body.lower()
    if lower.startswith("0x"):
        base, digits = 16, body[2:]
    elif lower.startswith("0o"):
        base, digits = 8, body[2:]
    elif lower.startswith("0b"):
        base, digits = 2, body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, digits = 8, body[1:]
    if "_" in digits:
        # Underscores are allowed only with a base prefix (or leading 0), between digits.
        if base == 10 or digits.startswith("_") or digits.endswith("_") or "__" in digits:
            raise ValueError("invalid syntax")
        digits = digits.replace("_", "")
    if not digits or not all(c in "0123456789abcdefghijklmnopqrstuvwxyz"[:base] for c in digits.lower()):
        raise ValueError("invalid syntax")
    value = sign * int(digits, base)
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise ValueError("value out of range")
    return value


def parse_decimal(s: str, bits: int = 64) -> int:
    """Go's `strconv.Atoi` / `ParseInt(s, 10, bits)`: optional sign, ASCII digits only."""
    body = s[1:] if s[:1] in "+-" else s
    if not body or not body.isascii() or not body.isdigit():
        raise ValueError("invalid syntax")
    value = int(s)
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise ValueError("value out of range")
    return value
