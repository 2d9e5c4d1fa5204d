"""`make bench` (bench/__main__.py): its pure parts on made-up inputs, and one short real run
of the whole benchmark against real SIPp, `sipconf up` and the reference responder."""

from __future__ import annotations

import contextlib
import struct
import subprocess
import sys
from pathlib import Path

from bench import capture, search
from bench.bridge import SECTION, trunk_caller, write_section
from bench.responders import Started
from bench.sippload import LoadResult, placed_rate, read_rtt

from .conftest import ROOT


def _sip(first_line: str, call_id: str, cseq: str) -> bytes:
    return f"{first_line}\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\n\r\n".encode()


def _pcap(path: Path, packets: list[tuple[float, bytes]]) -> None:
    """A pcap file (Ethernet link type, as dumpcap writes `lo`) of IPv4 UDP packets."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for when, payload in packets:
        udp = struct.pack("!HHHH", 5060, 5061, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([127, 0, 0, 1]),
                         bytes([127, 0, 0, 1])) + udp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        seconds = int(when)
        out += struct.pack("<IIII", seconds, round((when - seconds) * 1e6), len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))


def test_setup_times_pair_each_calls_first_invite_with_its_first_final(tmp_path):
    pcap = tmp_path / "c.pcap"
    _pcap(pcap, [
        (10.000, _sip("INVITE sip:a@127.0.0.1 SIP/2.0", "one", "1 INVITE")),
        (10.001, _sip("SIP/2.0 100 Trying", "one", "1 INVITE")),
        (10.500, _sip("INVITE sip:a@127.0.0.1 SIP/2.0", "one", "1 INVITE")),  # a retransmission
        (10.012, _sip("SIP/2.0 200 OK", "one", "1 INVITE")),
        (10.013, _sip("SIP/2.0 200 OK", "one", "1 INVITE")),  # a retransmitted 200
        (10.020, _sip("SIP/2.0 200 OK", "one", "2 BYE")),
        (11.000, _sip("INVITE sip:a@127.0.0.1 SIP/2.0", "two", "1 INVITE")),
        (11.002, _sip("SIP/2.0 503 Service Unavailable", "two", "1 INVITE")),
        (12.000, _sip("INVITE sip:a@127.0.0.1 SIP/2.0", "three", "1 INVITE")),  # never answered
    ])
    times = capture.setup_times(pcap)
    assert sorted(times) == [200, 503]
    assert [round(ms, 3) for ms in times[200]] == [12.0] and [round(ms, 3) for ms in times[503]] == [2.0]


def test_percentile_is_the_nearest_rank():
    values = list(range(1, 101))
    assert (capture.percentile(values, 0.99), capture.percentile(values, 0.5), capture.percentile([], 0.99)) \
        == (99, 50, 0.0)


def test_rtt_lines_give_response_times_and_the_rate_calls_were_placed_at(tmp_path):
    rtt = tmp_path / "uac_1_rtt.csv"
    rtt.write_text("Date_ms;response_time_ms;rtd_no\n14;4;1\n20;0;1\n36;8;2\n1010;10;1\n")
    times = read_rtt(rtt)
    assert times == {1: [(14.0, 4.0), (20.0, 0.0), (1010.0, 10.0)], 2: [(36.0, 8.0)]}
    assert placed_rate(times[1] + times[2]) == 3 / 0.99  # started at 10, 20, 28 and 1000 ms
    assert read_rtt(None) == {} and placed_rate([]) == 0.0


def test_the_search_doubles_then_bisects_to_the_resolution():
    capacity = 1234

    @contextlib.contextmanager
    def responder(tmp):
        yield Started("127.0.0.1:5060", None)

    def load(target: str, rate: int) -> LoadResult:
        calls = rate * 5
        failed = 0 if rate <= capacity else calls // 10
        return LoadResult(rate, 5.0, calls - failed, failed, rate, 0, placed_cps=float(rate), calls=calls)

    found = search.clean_rate(responder, load, 250, 32000, say=lambda _: None, warm=lambda _: None, votes=1)
    assert [p.target_cps for p in found.probes] == [250, 500, 1000, 2000, 1410, 1190, 1300]
    assert found.clean == 1190 and found.clean_probe.target_cps == 1190
    # With a majority of three, two probes that agree decide each rate.
    found = search.clean_rate(responder, load, 250, 32000, say=lambda _: None, warm=lambda _: None)
    assert [p.target_cps for p in found.probes] == [r for r in (250, 500, 1000, 2000, 1410, 1190, 1300) for _ in "ab"]
    assert found.clean == 1190


def test_near_the_edge_the_majority_of_three_probes_decides():
    @contextlib.contextmanager
    def responder(tmp):
        yield Started("127.0.0.1:5060", None)

    # Every rate up to 1,000 is clean; 1,000 and 1,410 fail one probe in two, in turn; 2,000 fails.
    turns = {1000: iter([False, True, True]), 1410: iter([True, False, False])}

    def load(target: str, rate: int) -> LoadResult:
        clean = next(turns[rate]) if rate in turns else rate < 1000
        calls = rate * 5
        failed = 0 if clean else 7
        return LoadResult(rate, 5.0, calls - failed, failed, rate, 0, placed_cps=float(rate), calls=calls)

    found = search.clean_rate(responder, load, 250, 2000, say=lambda _: None, warm=lambda _: None, resolution=1.5)
    assert [p.target_cps for p in found.probes] == [250, 250, 500, 500, 1000, 1000, 1000, 2000, 2000, 1410, 1410, 1410]
    assert found.clean == 1000 and found.clean_probe is found.probes[6]


def test_a_uac_that_falls_behind_is_not_clean():
    behind = LoadResult(8000, 5.0, 40000, 0, 7000.0, 0, placed_cps=7000.0, calls=40000)
    assert not search.is_clean(behind)
    assert search.is_clean(LoadResult(8000, 5.0, 40000, 0, 8000.0, 0, placed_cps=7900.0, calls=40000))


def test_writing_replaces_only_the_bridge_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Scale\n\nscale figures\n\n# Bridge benchmark\n\nold\n\n## Soak\n\nsoak figures\n")
    write_section(results, f"{SECTION}\n\nnew\n")
    assert results.read_text() == "# Scale\n\nscale figures\n\n# Bridge benchmark\n\nnew\n\n## Soak\n\nsoak figures\n"
    empty = tmp_path / "EMPTY.md"
    write_section(empty, f"{SECTION}\n\nnew\n")
    assert empty.read_text() == f"{SECTION}\n\nnew\n"


def test_a_generated_spec_is_called_from_its_middle_trunk():
    assert trunk_caller(100) == ("127.0.5.1", "+15100000050")
    assert trunk_caller(10000) == ("127.1.244.1", "+15100005000")


def test_a_short_run_writes_every_figure(tmp_path):
    out = tmp_path / "RESULTS.md"
    run = subprocess.run([sys.executable, "-m", "bench.bridge", "--seconds", "1", "--start", "20", "--ceiling", "40",
                          "--small", "10", "--large", "20", "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    text = out.read_text()
    rows = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| ") and " ≥ " in line
            or line.startswith("| p99")]
    assert rows == [
        "| bridge clean calls/s ÷ reference responder clean calls/s, same run",
        "| p99 call setup (INVITE -> 200) at half the clean rate (20 calls/s)",
        "| goodput at 2× the clean rate (80 calls/s), share of the clean rate",
        "| clean calls/s with a 20-number spec ÷ with a 10-number spec",
    ]
    assert "| reference_uas.py | 40 | 40 | 0 | " in text and "| sipconf bridge | 40 | 40 | 0 | " in text


def test_the_bytecode_profile_counts_real_calls():
    run = subprocess.run([sys.executable, "-m", "bench.opcodes", "--calls", "2", "--top", "3"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("bytecodes per call: ") and lines[0].endswith(" (2 calls)")
    assert lines[1].startswith("by file: ") and len(lines) == 5


def test_the_collector_timing_runs_with_the_thresholds_given():
    run = subprocess.run([sys.executable, "-m", "bench.opcodes", "--gc", "--calls", "2", "--thresholds", "100,5,10"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith("collector: ") and first.endswith(" us per call over 2 calls, thresholds 100,5,10")


def test_the_rtp_socket_benchmark_times_both_ways_of_opening_one():
    run = subprocess.run([sys.executable, "-m", "bench.rtp_socket", "50"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["datagram endpoint", "socket + add_reader"]
    assert all(float(line.split(": ")[1].split()[0]) > 0 for line in lines)
