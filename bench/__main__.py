"""`make bench`: every benchmark, or some of them with `--only`.

    python -m bench                          # everything: the scale figures, then the bridge
    python -m bench --only scale             # compile, plan, apply and routing (bench/scale.py)
    python -m bench --only apply,plan        # some of those
    python -m bench --only bridge            # the SIP throughput against SIPp (bench/bridge.py)

Figures go to bench/RESULTS.md, each part into its own section (bench/results.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import bridge, scale, scale_report
from bench.results import replace_section

HERE = Path(__file__).resolve().parent
GROUPS = {"scale": list(scale.PARTS)}
PARTS = [*scale.PARTS, "bridge"]


def parts_of(text: str) -> list[str]:
    """`--only` names, groups expanded, in the order they run; ValueError for an unknown one."""
    named: list[str] = []
    for name in (n.strip() for n in text.split(",") if n.strip()):
        if name not in GROUPS and name not in PARTS:
            raise ValueError(f"unknown part {name!r}; the parts are {', '.join([*GROUPS, *PARTS])}")
        named += GROUPS.get(name, [name])
    return [part for part in PARTS if part in named]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="scale,bridge", help="comma-separated parts or groups (default: all): "
                        + ", ".join([*GROUPS, *PARTS]))
    parser.add_argument("--runs", type=int, default=5, help="counted runs of each timed command (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=5.0, help="bridge: seconds of each SIPp run (default %(default)g)")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    try:
        parts = parts_of(args.only)
    except ValueError as err:
        parser.error(str(err))
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    measured = [part for part in parts if part in scale.PARTS]
    if measured:
        figures = scale.run(measured, args.runs)
        replace_section(args.out, scale_report.TITLE, scale_report.render(figures), before=bridge.TITLE)
        print(f"wrote {args.out}")
    if "bridge" in parts:
        bridge.main(["--seconds", str(args.seconds), "--out", str(args.out)],
                    command=f"python -m bench --only {args.only}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
