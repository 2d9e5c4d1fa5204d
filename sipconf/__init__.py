"""sipconf: config-as-code and a call-flow test harness for LiveKit SIP telephony."""

__version__ = "0.1.0"
