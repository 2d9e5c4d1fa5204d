"""The spec: YAML with positions -> pydantic models (version 1) -> the normalised DesiredState.

    state = sipconf.spec.load("spec.yaml", env="prod")   # raises SpecError (a UserError)
"""

from sipconf.spec.errors import SpecError
from sipconf.spec.loader import load, loads
from sipconf.spec.migrate import CURRENT_VERSION
from sipconf.spec.models import Spec
from sipconf.spec.secrets import check_secrets


def json_schema() -> dict:
    """The JSON Schema of the current spec version (for editors and `sipconf schema`)."""
    schema = _names_as_property_names(Spec.model_json_schema())
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def _names_as_property_names(node):
    """Pydantic writes `dict[Name, X]` as `patternProperties: {NAME: X}`, which lets any other
    key through; the loader refuses such names, so say `propertyNames` + `additionalProperties`."""
    if isinstance(node, list):
        return [_names_as_property_names(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _names_as_property_names(v) for k, v in node.items()}
    patterns = out.pop("patternProperties", None)
    if patterns is not None:
        (pattern, value), = patterns.items()
        out["propertyNames"] = {"pattern": pattern}
        out["additionalProperties"] = value
    return out


__all__ = ["CURRENT_VERSION", "Spec", "SpecError", "check_secrets", "json_schema", "load", "loads"]
