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
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


__all__ = ["CURRENT_VERSION", "Spec", "SpecError", "check_secrets", "json_schema", "load", "loads"]
