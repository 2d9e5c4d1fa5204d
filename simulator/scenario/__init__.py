"""Scenario format (models), reading with positions, discovery and the JSON Schema."""

from simulator.scenario.models import Scenario, Suite
from simulator.scenario.reader import LoadedScenario, Specs, discover, load_file, load_paths, nearest_spec

__all__ = ["LoadedScenario", "Scenario", "Specs", "Suite", "discover", "load_file", "load_paths", "nearest_spec"]
