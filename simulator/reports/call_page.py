"""One call's page of the report site: verdict, expected | got, the generator's own errors,
the SVG ladder, the media, every SIP message in full, and a link to the pcap.

Self-contained (inline style and script, nothing fetched) so it opens from `file://`.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.assertions import Expectation
from simulator.reports.html_text import esc
from simulator.reports.lanes import Lanes, address, lanes_of
from simulator.reports.ladder import describe
from simulator.reports.media import Digit, digits, mask_info_signal, streams
from simulator.reports.svg_ladder import ladder_svg, message_id
from simulator.result import CallResult, Packet

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
a{color:#0645ad} .passed{color:#070} .failed{color:#b00} .skipped{color:#777}
table{border-collapse:collapse} th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
table.expectations td.ok{color:#070} table.expectations tr.mismatch{background:#fee}
table.expectations td.mark{text-align:center;font-weight:bold}
svg.ladder text{font:12px monospace;fill:#222} svg.ladder .role{font-weight:bold;text-anchor:middle}
svg.ladder .addr{text-anchor:middle;fill:#555} svg.ladder .time{text-anchor:end;fill:#666}
svg.ladder .label{text-anchor:middle} svg.ladder line{stroke:#333;stroke-width:1.3}
svg.ladder .lane line{stroke:#999;stroke-dasharray:4 3}
svg.ladder a.arrow{cursor:pointer} svg.ladder a.arrow:hover line,svg.ladder a.arrow.active line{stroke:#06c;stroke-width:2.5}
svg.ladder rect.hit{fill:transparent}
svg.ladder .rtp-band rect{fill:#e6f2e6;stroke:#9c9;stroke-dasharray:2 2}
svg.ladder .rtp-band text{text-anchor:middle;fill:#363;font-size:11px}
svg.ladder .dtmf line{stroke:#a60;stroke-dasharray:3 2} svg.ladder .dtmf text{text-anchor:middle;fill:#a60}
svg.ladder .refer-to line{stroke:#737;stroke-dasharray:6 3} svg.ladder .refer-to text{text-anchor:middle;fill:#737}
details.message{margin:2px 0} details.message[open]{background:#f4f8ff}
details.message pre{white-space:pre-wrap;word-break:break-all;margin:4px 0 8px 1em}
.addr{color:#555;font-size:smaller}
"""

# A click on an arrow opens its message and scrolls to it; the link's own #mN works without it.
SCRIPT = """
document.querySelectorAll('a.arrow').forEach(function (arrow) {
  arrow.addEventListener('click', function (event) {
    var message = document.getElementById(arrow.dataset.msg);
    if (!message) { return; }
    event.preventDefault();
    document.querySelectorAll('a.arrow.active').forEach(function (a) { a.classList.remove('active'); });
    arrow.classList.add('active');
    message.open = true;
    message.scrollIntoView({block: 'nearest'});
  });
});
"""


@dataclass(frozen=True)
class CallPage:
    """What one call's page shows; `pin_prompt`: the caller's first digits are a PIN."""

    title: str
    status: str  # passed | failed | skipped
    driver: str
    seconds: float
    direction: str
    result: CallResult
    expectations: list[Expectation]
    problems: list[str]  # failure lines no expectation row explains (driver errors, ...)
    pcap: str | None  # the pcap's file name beside the page
    index: str = "../index.html"
    pin_prompt: bool = False


def call_html(page: CallPage) -> str:
    packets = page.result.packets
    lanes = lanes_of(packets, page.direction)
    caller = _caller_lane(packets, lanes, page.direction) if page.pin_prompt else None
    media = streams(packets, lanes)
    entered = digits(packets, lanes, caller)
    parts = [f"<h1>{esc(page.title)}</h1>",
             f'<p><span class="status {page.status}">{page.status}</span> &middot; driver {esc(page.driver)}'
             f" &middot; {page.seconds:.2f} s &middot; {esc(page.direction)} call"
             f' &middot; <a href="{esc(page.index)}">all scenarios</a>'
             + (f' &middot; <a class="pcap" href="{esc(page.pcap)}">pcap</a>' if page.pcap else "") + "</p>"]
    if page.status == "failed":
        parts += _failure(page)
    elif page.status == "skipped":
        parts += [f'<p class="skip-reason">{esc(line)}</p>' for line in page.problems]
    parts.append("<h2>Ladder</h2>")
    if any(p.is_sip for p in packets):
        parts.append(ladder_svg(packets, lanes, media, entered))
    else:
        parts.append("<p>No SIP message was captured in this call.</p>")
    parts += _media(page, media, entered, lanes)
    parts += _messages(packets, lanes, entered)
    return _document(page.title, "".join(parts), SCRIPT)


def _caller_lane(packets: list[Packet], lanes: Lanes, direction: str) -> int | None:
    invite = next((p for p in packets if p.is_sip and p.data.startswith(b"INVITE ")), None)
    return lanes.of(invite.src) if invite is not None and direction == "inbound" else None


def _failure(page: CallPage) -> list[str]:
    out = []
    if page.expectations:
        mark = {True: "\u2713", False: "\u2717"}
        rows = "".join(
            f'<tr class="{"match" if e.ok else "mismatch"}"><td>{esc(e.field)}</td><td>{esc(e.expected)}</td>'
            f'<td>{esc(e.got + (f" ({e.note})" if e.note else ""))}</td><td class="mark {"ok" if e.ok else "bad"}">{mark[e.ok]}</td></tr>'
            for e in page.expectations)
        out.append('<h2>Expectations</h2><table class="expectations"><thead><tr><th>field</th><th>expected</th>'
                   f"<th>got</th><th>\u2713/\u2717</th></tr></thead><tbody>{rows}</tbody></table>")
    if page.problems:
        out.append('<h2>Errors</h2><ul class="problems">' + "".join(f"<li>{esc(p)}</li>" for p in page.problems) + "</ul>")
    if page.result.notes:
        out.append(f"<h2>What {esc(page.driver)} itself reported</h2><pre class=\"generator\">"
                   + esc("\n".join(page.result.notes)) + "</pre>")
    return out


def _media(page: CallPage, media, entered: list[Digit], lanes: Lanes) -> list[str]:
    out = ["<h2>Media</h2>"]
    role = [lane.role for lane in lanes.lanes]
    if media:
        out.append("<ul class=\"streams\">" + "".join(
            f"<li>RTP {esc(role[s.src])} \u2192 {esc(role[s.dst])}: {s.packets} packets, "
            f"{s.first:.3f}\u2013{s.last:.3f} s</li>" for s in media) + "</ul>")
    if entered:
        shown = "".join(d.shown for d in entered)
        out.append(f'<p class="digits">DTMF: <span class="dtmf-digits">{esc(shown)}</span>'
                   + (" (digits entered at the PIN prompt are masked)" if any(d.masked for d in entered) else "")
                   + "</p>")
    if page.result.media_note is not None:
        out.append(f'<p class="media-note">{esc(page.result.media_note)}</p>')
    elif not media:
        out.append('<p class="media-note">No RTP packet was captured in this call.</p>')
    return out


def _messages(packets: list[Packet], lanes: Lanes, entered: list[Digit]) -> list[str]:
    masked = {d.packet for d in entered if d.masked and d.method == "info"}
    role = [lane.role for lane in lanes.lanes]
    out = ["<h2>Messages</h2>"]
    for i, p in enumerate(packets):
        if not p.is_sip:
            continue
        data = mask_info_signal(p.data) if i in masked else p.data
        text = data.decode("utf-8", "replace").replace("\r\n", "\n")
        route = f"{address(p.src)} \u2192 {address(p.dst)} ({p.transport.upper()})"
        out.append(f'<details class="message" id="{message_id(i)}"><summary>{p.time:.3f} '
                   f"{esc(role[lanes.of(p.src)])} \u2192 {esc(role[lanes.of(p.dst)])} "
                   f'<b>{esc(describe(p))}</b> <span class="addr">{esc(route)}</span></summary>'
                   f"<pre>{esc(text)}</pre></details>")
    return out


def _document(title: str, body: str, script: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width"><style>{STYLE}</style></head>'
            f"<body>{body}<script>{script}</script></body></html>\n")
