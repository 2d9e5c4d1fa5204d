"""`sipconf schema`: print the JSON Schema of the spec (or of scenarios) for editors.

Point an editor at it with a first line `# yaml-language-server: $schema=spec.schema.json`.
"""

from __future__ import annotations

import argparse
import importlib
import json

from sipconf.errors import UserError

SCENARIO_SCHEMA_MODULE = "simulator.scenario.schema"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", action="store_true", help="print the schema of scenario files instead")


def run(args: argparse.Namespace) -> int:
    if args.scenario:
        schema = _scenario_schema()
    else:
        from sipconf.spec import json_schema

        schema = json_schema()
    print(json.dumps(schema, indent=2, sort_keys=False))
    return 0


def _scenario_schema() -> dict:
    try:
        module = importlib.import_module(SCENARIO_SCHEMA_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and SCENARIO_SCHEMA_MODULE.startswith(exc.name):
            raise UserError(f"scenario schema is not available: {SCENARIO_SCHEMA_MODULE} is not installed") from None
        raise
    builder = getattr(module, "json_schema", None)
    if builder is None:
        raise UserError(f"scenario schema is not available: {SCENARIO_SCHEMA_MODULE} has no json_schema()")
    return builder()
