"""`kill -9` of a real `sipconf apply` process at random points of a large apply, each followed
by a re-apply that must converge with nothing duplicated.

The normal run kills a 300-object apply at 3 points. `SIPCONF_SOAK=1` makes it the soak
size: a 1,000-object apply killed at 10 points. The kills alternate between two versions of
the spec, so the applies killed are creates, then updates, deletes and creates, and so on.
Trunks have 2 numbers each here: what is exercised is the apply, and fewer numbers keep each
plan's route impact quick.
"""

from __future__ import annotations

import os
import random

from tests.cli.apply_process import SIGKILL, apply_env, apply_until, live_names, reapply
from tests.cli.test_plan_apply import Server
from tests.plan.scale import numbers_for_objects, object_count, scale_spec

OBJECTS, POINTS = (1000, 10) if os.environ.get("SIPCONF_SOAK") == "1" else (300, 3)
NUMBERS = numbers_for_objects(OBJECTS, per_trunk=2)
SEED = int(os.environ.get("SIPCONF_KILL_SEED", "4242"))


def expected_names(text: str) -> set[tuple[str, str]]:
    from sipconf.spec import loads

    return {(o.kind, o.name) for o in loads(text, "scale.yaml").objects()}


def test_kill_9_at_random_points_then_reapply_converges_without_duplicates(tmp_path):
    rng = random.Random(SEED)
    versions = [scale_spec(NUMBERS, per_trunk=2), scale_spec(NUMBERS, per_trunk=2, variant=3)]
    spec = tmp_path / "scale.yaml"
    with Server(tmp_path / "state.db") as server:
        env = apply_env(server.url, tmp_path / "locks")
        for point in range(POINTS):
            text = versions[point % 2]
            spec.write_text(text)
            planned = object_count(NUMBERS, per_trunk=2) if point == 0 else 40  # at least what a variant changes
            after = rng.randint(1, planned - 1)
            killed = apply_until(spec, env, after=after, sig=SIGKILL, extra=("--force",))
            assert killed.code == -9, "\n".join(killed.lines[-5:])
            rerun = reapply(spec, env, "--force")
            assert rerun.returncode == 0, f"kill {point} after {after} changes:\n{rerun.stdout[-3000:]}{rerun.stderr}"
            assert rerun.stdout.splitlines()[-1] in (
                "Read back: the live project matches the spec.",
                "No changes. The live project matches the spec.",
            )
            names, ledgers = live_names(server.url, "scale")
            assert len(names) == len(set(names)), f"kill {point}: duplicates"
            assert set(names) == expected_names(text) and ledgers == 1
