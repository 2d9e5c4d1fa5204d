"""The SIP ladder of one call: text (for failures) and an HTML page (one per call).

Built from the captured packets (the same ones written to the pcap), so the ladder shows
what went over the wire, not what a driver meant to send.
"""

from __future__ import annotations

import html

from simulator.result import Packet


def first_line(data: bytes) -> str:
    line = data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    if line.startswith("SIP/2.0 "):
        return line[len("SIP/2.0 "):]
    return line.split(" sip:", 1)[0].split(" tel:", 1)[0] if " " in line else line


def describe(p: Packet) -> str:
    if p.is_sip:
        return first_line(p.data)
    if len(p.data) >= 12 and p.data[0] >> 6 == 2:
        pt = p.data[1] & 0x7F
        return f"RTP pt={pt}" + (f" event={p.data[12]}" if len(p.data) >= 16 else "")
    return f"{len(p.data)} bytes"


def text_ladder(packets: list[Packet], limit: int = 40) -> list[str]:
    """`  0.012 127.0.0.11:5062 -> 127.0.0.1:5060  INVITE` lines, SIP only (RTP is summarised)."""
    out = []
    rtp = 0
    for p in packets:
        if not p.is_sip:
            rtp += 1
            continue
        out.append(f"{p.time:7.3f} {p.src[0]}:{p.src[1]} -> {p.dst[0]}:{p.dst[1]}  {describe(p)}")
    if rtp:
        out.append(f"        (+ {rtp} RTP packets)")
    return out[:limit] + ([f"        ... {len(out) - limit} more"] if len(out) > limit else [])


def html_ladder(title: str, packets: list[Packet], verdict: list[str], media_note: str | None = None) -> str:
    """A self-contained HTML page: one column per endpoint, one arrow row per SIP message
    with its addresses, and the full message (escaped) in a `<details><pre>` under it, so
    the page reads the same printed or as text. `media_note`: what the driver says about
    the media in its pcap (None: the RTP packets captured are counted)."""
    sip = [p for p in packets if p.is_sip]
    ends: list[str] = []
    for p in sip:
        for end in (f"{p.src[0]}:{p.src[1]}", f"{p.dst[0]}:{p.dst[1]}"):
            if end not in ends:
                ends.append(end)
    head = "".join(f"<th>{html.escape(e)}</th>" for e in ends)
    rows = []
    for p in sip:
        a, b = ends.index(f"{p.src[0]}:{p.src[1]}"), ends.index(f"{p.dst[0]}:{p.dst[1]}")
        lo, hi = min(a, b), max(a, b)
        arrow = ("&rarr; " if a < b else "&larr; ") + html.escape(describe(p))
        route = html.escape(f"{p.src[0]}:{p.src[1]} -> {p.dst[0]}:{p.dst[1]} ({p.transport.upper()})")
        text = html.escape(p.data.decode("utf-8", "replace").replace("\r\n", "\n"))
        cells = ['<td class="t">%.3f</td>' % p.time]
        for i in range(len(ends)):
            if i == lo:
                cells.append(f'<td colspan="{hi - lo + 1 if hi > lo else 1}" class="msg">'
                             f'<details><summary>{arrow} <span class="addr">{route}</span></summary>'
                             f'<pre>{text}</pre></details></td>')
            elif lo < i <= hi:
                continue
            else:
                cells.append("<td></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    status = "passed" if not verdict else "failed"
    lines = "".join(f"<li>{html.escape(v)}</li>" for v in verdict)
    rtp = len(packets) - len(sip)
    if media_note is not None:
        media = media_note
    elif rtp:
        media = f"{rtp} RTP packets are in this call's pcap (not drawn in the ladder)."
    else:
        media = "No RTP packet was captured in this call."
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif}} table{{border-collapse:collapse}} td,th{{padding:2px 8px;border-left:1px solid #ccc}}
td.msg{{background:#eef;text-align:center;white-space:nowrap}} td.msg pre{{text-align:left;white-space:pre-wrap;margin:4px 0}}
.addr{{color:#555;font-size:smaller}} @media print{{details>pre{{display:block}}}} td.t{{color:#666}} .failed{{color:#b00}} .passed{{color:#070}}</style>
</head><body><h1>{html.escape(title)}</h1><p class="{status}">{status}</p><ul>{lines}</ul>
<table><tr><th>s</th>{head}</tr>{''.join(rows)}</table>
<p class="media">{html.escape(media)}</p></body></html>
"""
