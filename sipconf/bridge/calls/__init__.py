"""The bridge's call logic: plain classes above transport, transaction and dialog.

- `decisions`: the decision layer the SIP service asks (docs/livekit.md#auth-step,
  docs/livekit.md#dispatch-outcomes), backed by the
  trunk directory (`sipconf.bridge.ports`) through `sipconf.routing.route`, or fixed answers (conformance);
- `replay`: the rejected-INVITE replay cache (docs/livekit.md#replay-cache);
- `inbound`: one inbound call from INVITE to hang-up; `pin`: PIN entry over DTMF;
- `outbound`: CreateSIPParticipant; `transfer`: REFER with NOTIFY sipfrag;
- `signalling`: what the call logic needs from the SIP stack (implemented by the server).
"""
