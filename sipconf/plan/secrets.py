"""The keyed checksum of the secrets a plan would write, kept only inside a saved plan.

`apply PLANFILE` must refuse when a secret changed since the plan was made (a reviewer
approved "PIN unchanged"), yet neither the plan nor the file may show anything a PIN can be
recovered from: a 4-8 digit PIN has at most 10^8 values, so any per-PIN digest, even keyed, is
reversed by anyone holding the key (the embedded control plane's development key is public).
So a plan shows no digest of a PIN, and a saved plan keeps one HMAC over *all* the secrets of
the managed objects together (passwords and PINs, each with its object and path), which
`apply` recomputes from the secrets it is about to write. It only says "something changed";
which one, a reviewer sees by planning again.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Mapping

from sipconf.model import DesiredState

PREFIX = "hmac-sha256:"


def secrets_checksum(desired: DesiredState, *, key: str, environ: Mapping[str, str] | None = None) -> str:
    """HMAC-SHA256, keyed by the API secret, over every secret of the managed objects."""
    mac = hmac.new(key.encode(), digestmod=hashlib.sha256)
    for obj in sorted((o for o in desired.objects() if o.managed), key=lambda o: (o.kind, o.name)):
        for path, ref in sorted(obj.secrets.items()):
            for part in (obj.kind, obj.name, path, ref.resolve(environ)):
                data = part.encode()
                mac.update(len(data).to_bytes(4, "big") + data)
    return PREFIX + mac.hexdigest()
