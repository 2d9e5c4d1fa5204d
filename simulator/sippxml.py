"""SIPp scenario XML, generated per scenario (SIPp 3.6.1, the Debian `sip-tester`).

- `uac_xml`: SIPp plays the caller of an inbound call. Every plausible final response is an
  optional `<recv>` so SIPp never aborts on an unexpected one: the simulator reads the real
  status from SIPp's `-trace_msg` log and judges it itself. `-aa` is never used, so every
  in-dialog request must be expected here (sipp-notes: "-aa hides messages").
- `uas_xml`: SIPp plays the far end of an outbound call at the trunk's address: a digest
  challenge (`<verifyauth>`) when asked, the final status, then REFER -> 202 + NOTIFY
  sipfrag (the roles of OpenSIPS's REFER tests, reversed), and BYE.

Digest credentials are written into the XML, never passed as `-au`/`-ap` (the command line of
every process is readable by every local user): the caller's `[authentication username=...
password=...]` and the far end's `<verifyauth>`. SIPp 3.6.1 expands no `[field]` inside that
keyword (the injected text went out as the password itself), so the values are literal, in
SIPp's own `\\xHH` escapes (`sipp_literal`). The driver writes the XML to a private file.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from sipconf.errors import UserError
from simulator.scenario.models import Dtmf, FarEnd, Hangup, RemoveParticipant, Scenario, Wait

FINALS = (200, 400, 401, 403, 404, 405, 407, 408, 480, 481, 486, 487, 488, 500, 501, 503, 603)
REASONS = {200: "OK", 202: "Accepted", 403: "Forbidden", 486: "Busy Here", 603: "Decline", 404: "Not Found"}
EVENT_PT = 96  # SIPp's play_dtmf sends telephone-events with payload type 96


# Characters SIPp takes as they are inside a keyword parameter. Everything else goes as `\xHH`,
# which SIPp's message parser turns back into the byte: `[` and `]` (keyword delimiters), the
# backslash (its escape), `"` (a quoted value), `=` (SIPp finds a parameter by searching for
# `name=`), space and control bytes (where an unquoted value ends), non-ASCII, and the XML
# specials `&<>'` (so no value can break out of a CDATA section or an attribute).
_SIPP_PLAIN = re.compile(r"[A-Za-z0-9._~-]")
# The longest `[...]` keyword SIPp parses (its KEYWORD_SIZE).
SIPP_KEYWORD_SIZE = 256


def sipp_literal(value: str) -> str:
    """`value` as SIPp reads it back byte for byte, in a keyword parameter or an attribute."""
    return "".join(ch if _SIPP_PLAIN.fullmatch(ch) else "".join(f"\\x{b:02X}" for b in ch.encode())
                   for ch in value)


def authentication_keyword(username: str, password: str) -> str:
    """`[authentication username=... password=...]` with the credentials written in."""
    keyword = f"authentication username={sipp_literal(username)} password={sipp_literal(password)}"
    if len(keyword) > SIPP_KEYWORD_SIZE:
        raise UserError(f"digest credentials of {username!r} are too long for SIPp's [authentication] keyword"
                        f" ({len(keyword)} characters once escaped, {SIPP_KEYWORD_SIZE} at most)")
    return f"[{keyword}]"


def _xml_attribute(value: str) -> str:
    """A double-quoted XML attribute value (SIPp's parser knows no single-quoted ones)."""
    return '"' + escape(value, {'"': "&quot;", "'": "&apos;"}) + '"'


def _send(text: str, retrans: int | None = None) -> str:
    attr = f' retrans="{retrans}"' if retrans else ""
    return f"  <send{attr}>\n    <![CDATA[\n\n{text}\n\n    ]]>\n  </send>\n"


def _sdp(pt_event: int) -> str:
    return (
        "v=0\n"
        "o=sipconf 1 1 IN IP[local_ip_type] [local_ip]\n"
        "s=-\n"
        "c=IN IP[media_ip_type] [media_ip]\n"
        "t=0 0\n"
        f"m=audio [media_port] RTP/AVP 0 {pt_event}\n"
        "a=rtpmap:0 PCMU/8000\n"
        f"a=rtpmap:{pt_event} telephone-event/8000\n"
        f"a=fmtp:{pt_event} 0-16\n"
        "a=ptime:20"
    )


def _invite(sc: Scenario, bridge_host: str) -> str:
    """The caller's INVITE as a SIPp template; `{auth}` marks where `[authentication]` goes."""
    call = sc.call
    from_host = call.from_host or "[local_ip]"
    extra = "".join(f"{name}: {value}\n" for name, value in call.headers.items())
    return (
        f"INVITE sip:{call.to}@[remote_ip]:[remote_port] SIP/2.0\n"
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
        f"From: <sip:{call.from_}@{from_host}>;tag=[pid]sipconf[call_number]\n"
        f"To: <sip:{call.to}@{bridge_host}>\n"
        "Call-ID: [call_id]\n"
        "CSeq: [cseq] INVITE\n"
        f"Contact: <sip:{call.from_}@[local_ip]:[local_port];transport=[transport]>\n"
        "Max-Forwards: 70\n"
        f"{{auth}}{extra}"
        "Content-Type: application/sdp\n"
        "Content-Length: [len]\n\n" + _sdp(EVENT_PT)
    )


def uac_xml(sc: Scenario, bridge_host: str, hold_ms: int = 1500,
            credentials: tuple[str, str] | None = None) -> str:
    """The caller; `credentials` (username, password) answer a 401/407 challenge."""
    invite = _invite(sc, bridge_host)
    auth = credentials is not None
    out = ['<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n',
           f"<scenario name={quoteattr('sipconf: ' + sc.name)}>\n"]
    out.append(_send(invite.replace("{auth}", ""), retrans=500))
    out.append(_provisional_and_finals(auth_label="auth" if auth else None))
    if auth:
        out.append('  <label id="auth"/>\n')
        out.append(_send(_ack_for_error()))
        out.append(_send(invite.replace("{auth}", authentication_keyword(*credentials) + "\n"), retrans=500))
        out.append(_provisional_and_finals(auth_label=None))
    out.append('  <label id="answered"/>\n')
    out.append(_send(_ack_2xx()))
    out.append(_after_answer(sc, hold_ms))
    # Jump over the error path: SIPp's stop_call still ran the next <send> (a stray ACK).
    out.append('  <nop hide="true" next="done"/>\n')
    out.append('  <label id="rejected"/>\n')
    out.append(_send(_ack_for_error()))
    out.append('  <label id="nofinal"/>\n')
    out.append('  <label id="done"/>\n')
    out.append("</scenario>\n")
    return "".join(out)


RTD2 = '<nop hide="true" start_rtd="2"/>\n  '


def load_uac_xml(sc: Scenario, bridge_host: str, expect: int = 200,
                 credentials: tuple[str, str] | None = None) -> str:
    """The caller of one load-mode call: set up and hang up at once. A call ends normally
    (SIPp's SuccessfulCall) only when its final status is `expect`; any other final status,
    or none, ends it as a failed call (a <recv> that times out). Each final status has its own
    `<recv>`, so SIPp's `-trace_counts` counts the calls per status. The `rtd` timers stop at
    the final response (the setup time, INVITE -> final): timer 1 for the expected status,
    timer 2 for any other. `credentials` (username, password) answer a 401/407 challenge."""
    invite = _invite(sc, bridge_host)
    auth = credentials is not None
    out = ['<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n',
           f"<scenario name={quoteattr('sipconf load: ' + sc.name)}>\n"]

    def finals(challenge: bool) -> str:
        lines = ['  <recv response="100" optional="true"/>\n', '  <recv response="180" optional="true"/>\n',
                 '  <recv response="183" optional="true"/>\n']
        for status in FINALS:
            if status == 200:
                continue
            if challenge and status in (401, 407) and expect not in (401, 407):
                lines.append(f'  <recv response="{status}" optional="true" auth="true" next="auth"/>\n')
            else:
                target, rtd = ("expected", 1) if status == expect else ("rejected", 2)
                lines.append(f'  <recv response="{status}" optional="true" rtd="{rtd}" next="{target}"/>\n')
        lines.append(f'  <recv response="200" rrs="true" rtd="{1 if expect == 200 else 2}" next="answered" '
                     'timeout="8000" ontimeout="nofinal"/>\n')
        return "".join(lines)

    out.append(_send(invite.replace("{auth}", ""), retrans=500).replace("<send ", RTD2 + '<send start_rtd="1" ', 1))
    out.append(finals(auth))
    if auth:
        out.append('  <label id="auth"/>\n')
        out.append(_send(_ack_for_error()))
        out.append(_send(invite.replace("{auth}", authentication_keyword(*credentials) + "\n"), retrans=500).replace("<send ", RTD2 + '<send start_rtd="1" ', 1))
        out.append(finals(False))
    out.append('  <label id="answered"/>\n')
    out.append(_send(_ack_2xx()))
    out.append(_send(_bye()))
    out.append('  <recv response="200" timeout="4000"/>\n')
    out.append(f'  <nop hide="true" next="{"done" if expect == 200 else "failed"}"/>\n')
    out.append('  <label id="expected"/>\n')
    out.append(_send(_ack_for_error()))
    out.append('  <nop hide="true" next="done"/>\n')
    out.append('  <label id="rejected"/>\n')
    out.append(_send(_ack_for_error()))
    out.append('  <label id="nofinal"/>\n')
    out.append('  <label id="failed"/>\n')
    # A <recv> nothing answers, with no ontimeout: SIPp counts the call failed
    # (FailedTimeoutOnRecv; `-nd` keeps it from sending anything more). stop_call would
    # count it a success.
    out.append('  <recv request="SIPCONF-NEVER" timeout="1"/>\n')
    out.append('  <label id="done"/>\n')
    out.append("</scenario>\n")
    return "".join(out)


def _provisional_and_finals(auth_label: str | None) -> str:
    out = ['  <recv response="100" optional="true"/>\n',
           '  <recv response="180" optional="true"/>\n',
           '  <recv response="183" optional="true"/>\n']
    for status in FINALS:
        if status == 200:
            continue
        if status in (401, 407) and auth_label:
            out.append(f'  <recv response="{status}" optional="true" auth="true" next="{auth_label}"/>\n')
        else:
            out.append(f'  <recv response="{status}" optional="true" next="rejected"/>\n')
    # The last recv is mandatory; its timeout ends a call that got no final response (oss drop).
    # rtd: SIPp's response-time timer (from the first INVITE) = the call's setup time (load mode).
    out.append('  <recv response="200" rrs="true" rtd="true" next="answered" timeout="8000" ontimeout="nofinal"/>\n')
    return "".join(out)


def _ack_for_error() -> str:
    # RFC 3261 17.1.1.3: the ACK of a non-2xx final reuses the INVITE's branch and CSeq.
    return (
        "ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n"
        "[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n"
        "CSeq: [cseq] ACK\nMax-Forwards: 70\nContent-Length: 0"
    )


def _ack_2xx() -> str:
    return (
        "ACK [next_url] SIP/2.0\n"
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
        "[last_From:]\n[last_To:]\n[last_Call-ID:]\n"
        "[routes]\nCSeq: [cseq] ACK\nMax-Forwards: 70\nContent-Length: 0"
    )


def _bye() -> str:
    return (
        "BYE [next_url] SIP/2.0\n"
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
        "[last_From:]\n[last_To:]\n[last_Call-ID:]\n"
        "[routes]\nCSeq: [cseq] BYE\nMax-Forwards: 70\nContent-Length: 0"
    )


def _ok_for_request() -> str:
    return ("SIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n[last_CSeq:]\n"
            "Contact: <sip:[local_ip]:[local_port];transport=[transport]>\nContent-Length: 0")


def _after_answer(sc: Scenario, hold_ms: int) -> str:
    """The steps after the answer. `wait: joined` holds the call while the simulator reads
    the participant through the API; a LiveKit-side hang-up or `wait: ended` waits for the
    bridge's BYE."""
    out = []
    ended = False
    for step in sc.steps:
        if isinstance(step, Wait) and step.wait in ("joined", "answered", "ringing", "pin_prompt"):
            out.append(f'  <pause milliseconds="{hold_ms}"/>\n')
        elif isinstance(step, Dtmf):
            if step.method == "info":
                for digit in step.dtmf:
                    out.append(_send(
                        "INFO [next_url] SIP/2.0\nVia: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
                        "[last_From:]\n[last_To:]\n[last_Call-ID:]\n[routes]\nCSeq: [cseq] INFO\nMax-Forwards: 70\n"
                        f"Content-Type: application/dtmf-relay\nContent-Length: [len]\n\nSignal={escape(digit)}\n"
                        f"Duration={step.duration_ms}"))
                    out.append('  <recv response="200" optional="true"/>\n  <recv response="405"/>\n')
            else:
                out.append(f'  <nop><action><exec play_dtmf={quoteattr(step.dtmf + "," + str(step.duration_ms))}/></action></nop>\n')
                per = step.duration_ms + max(step.gap_ms, 50)
                out.append(f'  <pause milliseconds="{per * len(step.dtmf) + 200}"/>\n')
        elif isinstance(step, Hangup) and step.hangup == "caller" and not ended:
            out.append(_send(_bye()))
            out.append('  <recv response="200" timeout="4000"/>\n')
            ended = True
        elif (isinstance(step, Hangup) or isinstance(step, RemoveParticipant) or
              (isinstance(step, Wait) and step.wait == "ended")) and not ended:
            out.append(f'  <recv request="BYE" timeout="{int(step.timeout * 1000) if isinstance(step, Wait) else 10000}"/>\n')
            out.append(_send(_ok_for_request()))
            ended = True
    if not ended:
        out.append(_send(_bye()))
        out.append('  <recv response="200" timeout="4000"/>\n')
    return "".join(out)


def uas_xml(sc: Scenario, far: FarEnd, rtp_host: str, rtp_port: int, credentials: tuple[str, str] | None,
            bye_timeout_ms: int = 10000) -> str:
    """The far end. Its SDP answer points LiveKit's RTP at `rtp_host:rtp_port`, a Python
    socket that decodes RFC 4733 (SIPp cannot). The driver ends every answered call through
    the API, so the BYE comes within `bye_timeout_ms`, well inside SIPp's global timeout; the
    INVITE is waited for as long (a call that was never placed must not hold the far end)."""
    out = ['<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n',
           f"<scenario name={quoteattr('sipconf far end: ' + sc.name)}>\n",
           f'  <recv request="INVITE" crlf="true" timeout="{bye_timeout_ms}"/>\n']
    if far.challenge and credentials is not None:
        # 401/WWW-Authenticate: SIPp's <verifyauth> reads the Authorization header only.
        out.append(_send(_response(401, "Unauthorized",
                                   'WWW-Authenticate: Digest realm="far-end.sipconf.test", '
                                   'nonce="[call_number]sipconf[pid]", algorithm=MD5')))
        out.append('  <recv request="ACK"/>\n')
        user, password = credentials
        out.append('  <recv request="INVITE" crlf="true">\n    <action>\n'
                   f'      <verifyauth assign_to="authvalid" username={_xml_attribute(sipp_literal(user))}'
                   f' password={_xml_attribute(sipp_literal(password))}/>\n'
                   '    </action>\n  </recv>\n')
        out.append('  <nop hide="true" test="authvalid" next="authok"/>\n')
        out.append(_send(_response(403, "Forbidden")))
        out.append('  <recv request="ACK"/>\n  <nop><action><exec int_cmd="stop_call"/></action></nop>\n')
        out.append('  <label id="authok"/>\n')
    out.append(_send(_response(100, "Trying")))
    if far.status != 200:
        out.append(_send(_response(far.status, REASONS.get(far.status, "Rejected"))))
        out.append('  <recv request="ACK"/>\n</scenario>\n')
        return "".join(out)
    sdp = (f"v=0\no=far-end 1 1 IN IP4 {rtp_host}\ns=-\nc=IN IP4 {rtp_host}\nt=0 0\n"
           f"m=audio {rtp_port} RTP/AVP 0 101\na=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\n"
           "a=fmtp:101 0-16\na=ptime:20")
    out.append(_send(_response(200, "OK", "Content-Type: application/sdp", body=sdp)))
    out.append('  <recv request="ACK" rrs="true"/>\n')
    transfers = [s for s in sc.steps if type(s).__name__ == "Transfer"]
    if transfers:
        # Keep the dialog's addresses from the REFER: SIPp's [last_To:] prints the header
        # name too, and the NOTIFY swaps From and To (RFC 3261 12.2.1.1).
        out.append('  <recv request="REFER">\n    <action>\n'
                   '      <ereg regexp="sip:[^&gt;;]*" search_in="hdr" header="Contact:" assign_to="peer_contact"/>\n'
                   '      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="peer_from"/>\n'
                   '      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="my_to"/>\n'
                   '    </action>\n  </recv>\n')
        out.append(_send(_response(far.refer_status, REASONS.get(far.refer_status, "Response"))))
        if far.refer_status < 300:
            out.append(_send(
                "NOTIFY [$peer_contact] SIP/2.0\nVia: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
                "From:[$my_to]\nTo:[$peer_from]\n[last_Call-ID:]\nCSeq: 1 NOTIFY\nMax-Forwards: 70\n"
                "Event: refer\nSubscription-State: terminated;reason=noresource\n"
                f"Contact: <sip:far-end@[local_ip]:[local_port]>\nContent-Type: message/sipfrag;version=2.0\n"
                f"Content-Length: [len]\n\nSIP/2.0 {far.notify} {REASONS.get(far.notify, 'Response')}"))
            out.append('  <recv response="200"/>\n')
    out.append(f'  <recv request="BYE" timeout="{bye_timeout_ms}"/>\n')
    out.append(_send(_response(200, "OK")))
    out.append("</scenario>\n")
    return "".join(out)


def _response(status: int, reason: str, *extra: str, body: str = "") -> str:
    head = (f"SIP/2.0 {status} {reason}\n[last_Via:]\n[last_From:]\n[last_To:];tag=[pid]farend[call_number]\n"
            "[last_Call-ID:]\n[last_CSeq:]\nContact: <sip:far-end@[local_ip]:[local_port];transport=[transport]>\n")
    head += "".join(f"{e}\n" for e in extra)
    if body:
        return head + "Content-Length: [len]\n\n" + body
    return head + "Content-Length: 0"
