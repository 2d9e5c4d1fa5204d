"""`sipconf explain SPEC --to NUM ...`: why a call would be routed or rejected, without placing it.

Exit 0 when the call would be answered (it joins a room or reaches the PIN prompt), 1 when it
would be rejected, dropped or fail, and 1 with the issue lines when the spec has errors.
"""

from __future__ import annotations

import argparse
import os
import sys

from sipconf.checks import require_no_errors
from sipconf.errors import UserError
from sipconf.explain import CallRequest, explain_call, render_json, render_text
from sipconf.routing.route import Mode
from sipconf.spec import limits


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _auth(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError("expected USER:PASS")
    return user, password


def _auth_env(text: str) -> tuple[str, str]:
    user, sep, name = text.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError("expected USER:ENV_NAME")
    return user, name


def _resolve_auth(args: argparse.Namespace) -> tuple[str, str] | None:
    """--auth USER:PASS, or --auth-env USER:NAME: the password from $NAME, off the command line
    (where every local user sees it in `ps`)."""
    if args.auth_env is None:
        return args.auth
    if args.auth is not None:
        raise UserError("give --auth or --auth-env, not both")
    user, name = args.auth_env
    if name not in os.environ:
        raise UserError(f"--auth-env {user}:{name}: ${name} is not set")
    return user, os.environ[name]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = (
        "exit 0: the call would be answered (a room, or the PIN prompt); 1: rejected, dropped or"
        " failed, or the spec has errors. Secrets are resolved only for --auth (and PINs for --pin)."
    )
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--to", required=True, metavar="NUM", help="called number (To user)")
    p.add_argument("--from", dest="from_user", default="anonymous", metavar="NUM", help="caller (From user)")
    p.add_argument("--src-ip", default="", metavar="IP", help="source address of the INVITE")
    p.add_argument("--from-host", default="", metavar="H", help="host of the From URI")
    p.add_argument("--header", type=_header, action="append", default=[], metavar="'X-Name: value'")
    p.add_argument("--pin", default=None, metavar="DIGITS", help="digits entered at the PIN prompt ('' = just #)")
    p.add_argument("--auth", type=_auth, default=None, metavar="USER:PASS", help="credentials the caller answers with")
    p.add_argument("--auth-env", type=_auth_env, default=None, metavar="USER:ENV_NAME",
                   help="like --auth, the password read from $ENV_NAME (a password on the command line shows in `ps`)")
    p.add_argument("--env", default=None, metavar="E", help="environment overlay of the spec")
    p.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.EXPLICIT.value)
    p.add_argument("--allow-literal-secrets", action="store_true")
    p.add_argument("--json", action="store_true", help="print the explanation as JSON")
    limits.add_argument(p)


def run(args: argparse.Namespace) -> int:
    from sipconf.spec import load  # the loader pulls pydantic; only commands that need it import it

    state = load(args.spec, env=args.env, allow_literal_secrets=args.allow_literal_secrets, limits=limits.from_args(args))
    require_no_errors(state)
    request = CallRequest(
        to_user=args.to, from_user=args.from_user, src_ip=args.src_ip, from_host=args.from_host,
        headers=tuple(args.header), pin=args.pin, auth=_resolve_auth(args), mode=Mode(args.mode),
    )
    explanation = explain_call(state, request)
    sys.stdout.write(render_json(explanation) + "\n" if args.json else render_text(explanation))
    return 0 if explanation.accepted else 1
