"""Parser throughput (not a timed test): `.venv/bin/python tests/bridge/bench_parse.py`.

Parses the stored 12-header INVITE in a loop with our parser and, when importable, with
PyPI `sipmessage` for comparison (`pip download sipmessage==0.7.1` and unzip it onto
PYTHONPATH; it is not a dependency).
"""

from __future__ import annotations

import time
from pathlib import Path

from sipconf.sip.message import check_mandatory, parse

DATA = (Path(__file__).parent / "data" / "good" / "invite.sip").read_bytes()


def rate(fn, n: int = 50_000) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn(DATA)
    return n / (time.perf_counter() - start)


def main() -> None:
    print(f"sipconf parse:                {rate(parse):>10,.0f} msg/s")
    print(f"sipconf parse + header check: {rate(lambda d: check_mandatory(parse(d))):>10,.0f} msg/s")
    try:
        import sipmessage
    except ImportError:
        print("sipmessage not importable: skipped")
        return
    print(f"sipmessage 0.7.1 parse:       {rate(sipmessage.Message.parse):>10,.0f} msg/s")


if __name__ == "__main__":
    main()
