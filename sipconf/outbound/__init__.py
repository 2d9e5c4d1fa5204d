"""LiveKit's outbound-call rules: participant requests, Request-URI/From/To, SIP status
mapping, INVITE error classification, and REFER NOTIFY handling.

Pure: no I/O. The bridge maps its own socket and timeout failures into these terms.
"""
