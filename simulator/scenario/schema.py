"""`sipconf schema --scenario`: the JSON Schema of scenario files."""

from __future__ import annotations

from simulator.scenario.models import Suite


def json_schema() -> dict:
    schema = Suite.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "sipconf scenario suite"
    return schema
