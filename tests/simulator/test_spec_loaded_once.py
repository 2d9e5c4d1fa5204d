"""`sipconf test` reads each spec once: the scenario reader, the runner, the embedded apply
and coverage all use the state the scenarios were read with."""

from __future__ import annotations

import pytest

from sipconf.cli import main
from sipconf.spec import loader

from tests.simulator.conftest import DEMO


@pytest.fixture
def spec_loads(monkeypatch) -> list[str]:
    """The source of every spec parsed in this process while the test runs."""
    parsed: list[str] = []
    parse = loader.loads

    def counting(text, source, **options):
        parsed.append(source)
        return parse(text, source, **options)

    monkeypatch.setattr(loader, "loads", counting)
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "SIPCONF_SIP"):
        monkeypatch.delenv(name, raising=False)
    return parsed


def test_in_process_the_spec_of_two_suite_files_is_read_once(spec_loads, capsys):
    assert main(["test", str(DEMO / "inbound" / "routing.yaml"), str(DEMO / "dtmf" / "pin.yaml"), "--driver", "inproc"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("passed, 0 failed")
    assert spec_loads == [str(DEMO / "spec.yaml")]


def test_with_the_embedded_control_plane_the_apply_reuses_the_spec_read(spec_loads, capsys):
    assert main(["test", str(DEMO / "inbound" / "routing.yaml"), "-k", "open and individual", "--driver", "scapy"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"applied {DEMO / 'spec.yaml'}" in out and out[-1] == "1 passed, 0 failed"
    assert spec_loads == [str(DEMO / "spec.yaml")]
