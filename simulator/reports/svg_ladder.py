"""The ladder of one call as SVG: a lane per endpoint, an arrow per SIP message, RTP as a
band between two lanes, DTMF digits on the band, the time of every row on the left.

Rows go in time order, one per drawn thing, so the times read down the left like a log. Each
arrow is a link to its message's `<details id="mN">` below the drawing (the page's script
opens it); every text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.reports.html_text import esc
from simulator.reports.lanes import Lanes, refer_to
from simulator.reports.ladder import describe
from simulator.reports.media import Digit, Stream
from simulator.result import Packet

LEFT = 70  # the time column
LANE = 210  # between two lanes
TOP = 56  # lane headers
ROW = 30
LABEL = 34  # characters of an arrow's label before it is cut


@dataclass(frozen=True)
class _Row:
    time: float
    kind: str  # "msg", "rtp-start", "rtp-end", "digit"
    index: int  # the packet, stream or digit


def message_id(packet: int) -> str:
    return f"m{packet}"


def ladder_svg(packets: list[Packet], lanes: Lanes, media: list[Stream], digits: list[Digit]) -> str:
    rows = [_Row(p.time, "msg", i) for i, p in enumerate(packets) if p.is_sip]
    for i, s in enumerate(media):
        rows += [_Row(s.first, "rtp-start", i), _Row(s.last, "rtp-end", i)]
    rows += [_Row(d.time, "digit", i) for i, d in enumerate(digits) if d.method == "rfc4733"]
    order = {"rtp-start": 0, "msg": 1, "digit": 2, "rtp-end": 3}
    rows.sort(key=lambda r: (r.time, order[r.kind]))
    width = LEFT + LANE * max(len(lanes.lanes), 1)
    height = TOP + ROW * (len(rows) + 1)
    y_of = {(r.kind, r.index): TOP + ROW * (n + 1) for n, r in enumerate(rows)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="SIP ladder">',
           '<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for i, s in enumerate(media):
        out.append(_band(s, y_of[("rtp-start", i)], y_of[("rtp-end", i)], lanes))
    for i, lane in enumerate(lanes.lanes):
        x = _x(i)
        out.append(f'<g class="lane" data-role="{esc(lane.role)}"><text class="role" x="{x}" y="18">{esc(lane.role)}</text>'
                   f'<text class="addr" x="{x}" y="36">{esc(_cut(lane.address, LABEL))}</text>'
                   f'<line x1="{x}" y1="{TOP - 12}" x2="{x}" y2="{height - 8}"/></g>')
    for r in rows:
        y = y_of[(r.kind, r.index)]
        out.append(f'<text class="time" x="{LEFT - 8}" y="{y + 4}">{r.time:.3f}</text>')
        if r.kind == "msg":
            out.append(_arrow(packets[r.index], r.index, y, lanes))
        elif r.kind == "digit":
            out.append(_digit(digits[r.index], y))
    out += _transfer_targets(packets, lanes, y_of)
    out.append("</svg>")
    return "\n".join(out)


def _x(lane: int) -> int:
    return LEFT + LANE // 2 + LANE * lane


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "\u2026"


def _arrow(p: Packet, index: int, y: int, lanes: Lanes) -> str:
    a, b = _x(lanes.of(p.src)), _x(lanes.of(p.dst))
    label = esc(_cut(describe(p), LABEL))
    mid = (a + b) // 2
    ident = message_id(index)
    if a == b:  # to itself: a small loop
        path = f'<path d="M{a},{y - 6} h40 v12 h-40" fill="none" marker-end="url(#head)"/>'
        mid = a + 60
    else:
        path = f'<line x1="{a}" y1="{y}" x2="{b}" y2="{y}" marker-end="url(#head)"/>'
    return (f'<a href="#{ident}" class="arrow" data-msg="{ident}">'
            f'<rect class="hit" x="{min(a, b)}" y="{y - 16}" width="{max(abs(b - a), 100)}" height="20"/>'
            f'{path}<text class="label" x="{mid}" y="{y - 5}">{label}</text></a>')


def _band(s: Stream, top: int, bottom: int, lanes: Lanes) -> str:
    a, b = _x(s.src), _x(s.dst)
    left, right = min(a, b), max(a, b)
    src, dst = lanes.lanes[s.src].role, lanes.lanes[s.dst].role
    pts = ",".join(str(pt) for pt in sorted(s.payload_types))
    offset = 6 if a < b else -6  # two directions between the same lanes stay apart
    return (f'<g class="rtp-band" data-from="{esc(src)}" data-to="{esc(dst)}">'
            f'<rect x="{left + 4}" y="{top - 8 + offset}" width="{max(right - left - 8, 8)}" '
            f'height="{max(bottom - top, 0) + 16}"/>'
            f'<text x="{(a + b) // 2}" y="{top + 4 + offset}">RTP {esc(src)} \u2192 {esc(dst)}: '
            f'{s.packets} packets (PT {pts})</text></g>')


def _digit(d: Digit, y: int) -> str:
    a, b = _x(d.src), _x(d.dst)
    note = " (PIN, masked)" if d.masked else ""
    return (f'<g class="dtmf{" masked" if d.masked else ""}"><line x1="{a}" y1="{y}" x2="{b}" y2="{y}" '
            f'marker-end="url(#head)"/><text x="{(a + b) // 2}" y="{y - 5}">DTMF {esc(d.shown)}{note}</text></g>')


def _transfer_targets(packets: list[Packet], lanes: Lanes, y_of: dict) -> list[str]:
    """A dashed arrow from the REFER's receiver to the target it names (not a packet)."""
    out = []
    for i, p in enumerate(packets):
        if p.is_sip and p.data.startswith(b"REFER ") and (uri := refer_to(p.data)):
            a, b, y = _x(lanes.of(p.dst)), _x(lanes.target(uri)), y_of[("msg", i)] + 12
            out.append(f'<g class="refer-to"><line x1="{a}" y1="{y}" x2="{b}" y2="{y}" marker-end="url(#head)"/>'
                       f'<text x="{(a + b) // 2}" y="{y - 3}">Refer-To</text></g>')
    return out
