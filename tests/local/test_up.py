"""`sipconf up` as a real subprocess: binds, prints addresses and `ready`, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

from livekit import api
from livekit.protocol import sip

from tests.local.test_health import get, samples
from tests.local.up_process import clean_env, run_up, start_up


def test_up_prints_ready_serves_and_stops_on_sigterm(tmp_path):
    up = start_up(tmp_path / "s.db")
    try:
        lines = up.lines
        assert lines[-1] == "ready"
        export = next(l for l in lines if l.startswith("export "))
        values = dict(part.split("=", 1) for part in export.split()[1:])
        assert values["LIVEKIT_API_KEY"] == "devkey" and len(values["LIVEKIT_API_SECRET"]) >= 32
        assert values["LIVEKIT_URL"].startswith("http://127.0.0.1:") and not values["LIVEKIT_URL"].endswith(":0")
        assert any(l.startswith("sip: udp ") for l in lines)

        async def use():
            async with api.LiveKitAPI(values["LIVEKIT_URL"], values["LIVEKIT_API_KEY"], values["LIVEKIT_API_SECRET"]) as lk:
                t = await lk.sip.create_outbound_trunk(sip.CreateSIPOutboundTrunkRequest(trunk=sip.SIPOutboundTrunkInfo(address="127.0.0.1", numbers=["+1"])))
                return t.sip_trunk_id

        assert asyncio.run(use()).startswith("ST_")
        out, err = up.stop()
        assert up.proc.returncode == 0, err
        assert out.strip().splitlines()[-1] == "stopped"
    finally:
        up.kill()


def test_up_refuses_a_routable_address(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sipconf", "up", "--http", "10.1.2.3:0", "--state", str(tmp_path / "s.db")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "--http '10.1.2.3:0': sipconf up only listens on loopback (127.0.0.0/8 or ::1)"


def test_up_refuses_a_short_secret_in_one_line(tmp_path):
    proc = run_up(tmp_path / "s.db", env={**clean_env(), "LIVEKIT_API_SECRET": "short"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["LIVEKIT_API_SECRET must be at least 32 bytes (an HS256 key); it is 5"]
    assert "short" not in proc.stdout + proc.stderr


def test_sigterm_during_an_answered_call_sends_bye_to_the_caller_and_logs_the_outcome(tmp_path):
    from sipconf.agent import Agent

    up = start_up(tmp_path / "s.db")
    proc = up.proc
    try:
        target = up.sip_target

        async def scenario():
            async with api.LiveKitAPI(*up.credentials) as lk:
                trunk = await lk.sip.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(
                    trunk=sip.SIPInboundTrunkInfo(name="t", numbers=["+15550100"])))
                await lk.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(rule=sip.SIPDispatchRule(
                    dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="support"))))
            async with Agent() as peer:
                invite = peer.invite(target, "+15550111", "+15550100", call_id="up-sigterm")
                peer.send(invite, target)
                ok = await peer.final_to(invite, timeout=10)
                assert ok.status == 200
                peer.send(peer.ack_for(invite, ok), target)
                proc.send_signal(signal.SIGTERM)
                bye, _ = await peer.request("BYE", timeout=10)
                assert bye.call_id == "up-sigterm"
                peer.send(peer.response(bye, 200), target)
            return trunk.sip_trunk_id

        trunk_id = asyncio.run(scenario())
        out, err = proc.communicate(timeout=20)  # SIGTERM was sent during the call
        assert proc.returncode == 0, err
        assert out.strip().splitlines()[-1] == "stopped"
        [outcome] = [l for l in err.splitlines() if " INFO sipconf.bridge.calls.inbound: inbound call " in l]
        assert re.search(rf"Call-ID up-sigterm: \+15550111 -> \+15550100 trunk {trunk_id} \(t\) rule SDR_\w+ room support: "
                         r"200 OK, bridge shutting down, \d+\.\d s$", outcome), outcome
        assert "unanswered" not in err  # the BYE got its 200 within the shutdown wait
    finally:
        up.kill()


def test_log_level_warning_keeps_call_outcomes_off_stderr(tmp_path):
    from sipconf.agent import Agent

    up = start_up(tmp_path / "s.db", "--log-level", "warning")
    try:
        target = up.sip_target

        async def rejected_call():
            async with Agent() as peer:
                invite = peer.invite(target, "+15550111", "+15550100")
                peer.send(invite, target)
                return (await peer.final_to(invite, timeout=10)).status

        assert asyncio.run(rejected_call()) == 404  # no trunk: an outcome INFO would be logged
        out, err = up.stop()
        assert up.proc.returncode == 0 and out.strip().splitlines()[-1] == "stopped"
        assert "inbound call" not in err
    finally:
        up.kill()


def test_a_secret_from_the_environment_is_used_and_never_printed(tmp_path):
    secret = "an-api-secret-from-the-environment-0123456789"
    up = start_up(tmp_path / "s.db", env={**clean_env(), "LIVEKIT_API_KEY": "envkey", "LIVEKIT_API_SECRET": secret})
    try:
        lines = up.lines
        values = dict(part.split("=", 1) for part in next(l for l in lines if l.startswith("export ")).split()[1:])
        assert sorted(values) == ["LIVEKIT_API_KEY", "LIVEKIT_URL"] and values["LIVEKIT_API_KEY"] == "envkey"
        assert os.stat(tmp_path / "s.db").st_mode & 0o777 == 0o600  # it holds trunk passwords and PINs

        async def use():
            async with api.LiveKitAPI(values["LIVEKIT_URL"], "envkey", secret) as lk:
                return await lk.sip.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest())

        assert list(asyncio.run(use()).items) == []
        out, err = up.stop()
        assert secret not in "\n".join(lines) + out + err
    finally:
        up.kill()


CALL_LOG_SPEC = """\
version: 1
project: names
trunks:
  carrier-a:
    inbound: {numbers: ["+15550100"], allowed_addresses: ["127.0.0.0/8"]}
dispatch_rules:
  front-desk:
    trunks: [carrier-a]
    direct: {room: front-desk}
"""


def test_up_logs_each_call_with_the_spec_names_of_its_trunk_and_rule(tmp_path):
    """A spec applied with `sipconf apply`; the call's outcome line names the trunk and the rule
    by LiveKit id and by the name the spec gave them."""
    from sipconf.agent import Agent
    from sipconf.bridge.dialog import Dialog

    spec = tmp_path / "spec.yaml"
    spec.write_text(CALL_LOG_SPEC)
    up = start_up(tmp_path / "s.db")
    try:
        applied = up.sipconf("apply", str(spec), "--auto-approve")
        assert applied.returncode == 0, applied.stderr

        async def scenario():
            async with api.LiveKitAPI(*up.credentials) as lk:
                [trunk] = (await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items
                [rule] = (await lk.sip.list_dispatch_rule(sip.ListSIPDispatchRuleRequest())).items
            async with Agent() as peer:
                invite = peer.invite(up.sip_target, "+15550111", "+15550100", call_id="names-call")
                peer.send(invite, up.sip_target)
                ok = await peer.final_to(invite, timeout=10)
                assert ok.status == 200
                peer.send(peer.ack_for(invite, ok), up.sip_target)
                bye = Dialog.from_uac(invite, ok).create_request("BYE", peer.via)
                peer.send(bye, up.sip_target)
                assert (await peer.final_to(bye, timeout=10)).status == 200
            return trunk.sip_trunk_id, rule.sip_dispatch_rule_id

        trunk_id, rule_id = asyncio.run(asyncio.wait_for(scenario(), 30))
        _out, err = up.stop()
        assert up.proc.returncode == 0, err
    finally:
        up.kill()
    [outcome] = [l for l in err.splitlines() if " INFO sipconf.bridge.calls.inbound: inbound call " in l]
    assert (f"Call-ID names-call: +15550111 -> +15550100 trunk {trunk_id} (carrier-a) rule {rule_id} (front-desk)"
            " room front-desk: 200 OK, caller hung up, ") in outcome


def test_up_freezes_what_start_up_built_out_of_the_garbage_collectors_reach(tmp_path):
    up = start_up(tmp_path / "s.db")
    try:
        scraped = samples(asyncio.run(get(up.url + "/metrics"))[1])
        # modules, classes, the control plane and the bridge: full collections never walk them
        assert scraped["sipconf_gc_frozen_objects"] > 10_000
        assert {key for key in scraped if key.startswith("sipconf_gc_collections_total")} == {
            f'sipconf_gc_collections_total{{generation="{n}"}}' for n in range(3)}
    finally:
        up.stop()
        up.kill()
