"""How long `sipconf apply` takes at scale:
`python -m tests.plan.bench_apply [OBJECTS ...] [--per-trunk N] [--parallelism N ...]`.

The embedded control plane runs in its own process (as `sipconf up` does), `sipconf apply
--auto-approve` in another, from an empty project, with the generated spec of
tests/plan/scale.py. Prints, per size and `--parallelism`, the whole command's time and the
part spent sending the changes (first progress line to the last), in seconds.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.plan.scale import PASSWORD, PASSWORD_ENV, numbers_for_objects, scale_spec

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "benchkey", "bench-secret-long-enough-for-hs256-0123456789"


def serve(state: str, port_out) -> None:
    from sipconf.local.server import ControlPlane

    async def main() -> None:
        async with ControlPlane(state_path=state, api_key=KEY, api_secret=SECRET) as cp:
            port_out.put(cp.url)
            await asyncio.Event().wait()

    asyncio.run(main())


def measure(objects: int, parallelism: int, per_trunk: int = 10) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "scale.yaml"
        spec.write_text(scale_spec(numbers_for_objects(objects, per_trunk), per_trunk=per_trunk))
        urls: multiprocessing.Queue = multiprocessing.Queue()
        plane = multiprocessing.Process(target=serve, args=(str(Path(tmp) / "state.db"), urls), daemon=True)
        plane.start()
        try:
            url = urls.get(timeout=30)
            env = {
                "LIVEKIT_URL": url, "LIVEKIT_API_KEY": KEY, "LIVEKIT_API_SECRET": SECRET,
                "SIPCONF_LOCK_DIR": tmp, PASSWORD_ENV: PASSWORD, "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1",
            }
            argv = [sys.executable, "-m", "sipconf", "apply", str(spec), "--auto-approve", "--parallelism", str(parallelism)]
            start = time.perf_counter()
            first = last = None
            with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT) as proc:
                for line in proc.stdout:
                    if line.startswith("["):
                        last = time.perf_counter()
                        first = first or last
                    tail = line
                if proc.wait() != 0:
                    raise SystemExit(f"apply failed: {tail}")
            total = time.perf_counter() - start
            return total, (last - first) if first else 0.0
        finally:
            plane.terminate()
            plane.join(10)


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.plan.bench_apply")
    parser.add_argument("objects", type=int, nargs="*", default=[300, 1000])
    parser.add_argument("--per-trunk", type=int, default=10, help="numbers per trunk (default 10)")
    parser.add_argument("--parallelism", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args(argv)
    for objects in args.objects:
        for parallelism in args.parallelism:
            total, sending = measure(objects, parallelism, args.per_trunk)
            print(
                f"{objects} objects ({args.per_trunk} numbers per trunk), --parallelism {parallelism}:"
                f" {total:.1f} s in all, {sending:.1f} s sending the changes",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:])
