"""The flow kinds run through the real bridge; every public vector of them passes."""

from __future__ import annotations

import io

from sipconf.conformance.runner import run


def test_flow_kinds_pass_on_public_vectors(public_vectors):
    for kind, count in (("inbound_sip_flow", 1), ("transfer_flow", 3)):
        out = io.StringIO()
        assert run([str(public_vectors)], kind=kind, out=out) == (count, 0), out.getvalue()
