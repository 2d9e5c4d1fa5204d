"""`sipconf explain`: why a call would be accepted or rejected, without placing it."""

from sipconf.explain.build import CallRequest, explain_call
from sipconf.explain.model import Agent, AuthInfo, Explanation
from sipconf.explain.render import render_json, render_text

__all__ = ["Agent", "AuthInfo", "CallRequest", "Explanation", "explain_call", "render_json", "render_text"]
