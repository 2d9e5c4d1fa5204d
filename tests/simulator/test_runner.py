"""Selection (-k), far-end serialisation, and driver choice."""

from __future__ import annotations

import pytest

from sipconf.errors import UserError
from sipconf.spec import load as load_spec
from simulator.runner import far_end_key, select
from simulator.scenario import load_paths

from tests.simulator.conftest import DEMO

ALL = load_paths([DEMO])


def names(expr: str) -> set[str]:
    return {s.scenario.name for s in select(ALL, expr)}


def test_k_matches_ids_and_tags_with_and_or_not():
    assert names("refer and not declined") == {"transfer to a tel URI", "transfer to a SIP URI"}
    assert names("pin and (board or wrong)") == {"wrong PIN hangs up without joining"}
    assert names("allowlist") == {"IP allowlist admits an address in 127.0.1.0/24", "IP allowlist refuses an address outside it"}
    assert len(select(ALL, None)) == len(ALL)


@pytest.mark.parametrize("expr", ["refer and", "(pin", "two words", "or"])
def test_k_rejects_malformed_expressions(expr):
    with pytest.raises(UserError) as caught:
        select(ALL, expr)
    assert caught.value.lines == (f"-k {expr!r}: not a valid expression (words joined by and, or, not)",)


def test_outbound_scenarios_share_their_trunks_far_end_address():
    desired = load_spec(DEMO / "spec.yaml")
    keys = {s.scenario.name: far_end_key(s, desired) for s in ALL}
    assert keys["answered call joins the room"] == keys["transfer to a SIP URI"] == "127.0.0.21:5070"
    assert keys["open individual room"] is None
