"""Scenario format (models), loading with positions, discovery and the JSON Schema."""

from simulator.scenario.load import LoadedScenario, discover, load_file, load_paths, nearest_spec
from simulator.scenario.models import Scenario, Suite

__all__ = ["LoadedScenario", "Scenario", "Suite", "discover", "load_file", "load_paths", "nearest_spec"]
