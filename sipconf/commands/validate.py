"""`sipconf validate SPEC`: load the spec, run the static checks, report every issue once."""

from __future__ import annotations

import argparse
import json

from sipconf.commands._args import ENV_HELP, add_literal_secrets_argument
from sipconf.issues import Issue, sort_issues
from sipconf.model import DesiredState
from sipconf.spec import limits


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", nargs="+", help="the spec YAML file (several: each is checked, as a pre-commit hook passes them)")
    p.add_argument("--env", default=None, help=ENV_HELP)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    add_literal_secrets_argument(p)
    p.add_argument("--check-secrets", action="store_true", help="also require every secret to be resolvable now")
    limits.add_argument(p)


def run(args: argparse.Namespace) -> int:
    """Each spec in turn; exit 1 when any failed. JSON: one document, or for several a list of
    them, each naming its `spec`."""
    documents, failed = [], False
    for spec in args.spec:
        document, spec_failed = _validate(spec, args)
        documents.append(document)
        failed = failed or spec_failed
    if args.format == "json":
        several = [{"spec": spec, **document} for spec, document in zip(args.spec, documents)]
        print(json.dumps(documents[0] if len(documents) == 1 else several, indent=2))
    return 1 if failed else 0


def _validate(spec: str, args: argparse.Namespace) -> tuple[dict, bool]:
    from sipconf.checks import run_checks
    from sipconf.spec import SpecError, check_secrets, load

    state: DesiredState | None = None
    try:
        state = load(spec, env=args.env, allow_literal_secrets=args.allow_literal_secrets, limits=limits.from_args(args))
        issues = list(run_checks(state))
        if args.check_secrets:
            issues += check_secrets(state)
    except SpecError as err:
        # Collect all the errors, then fail once: what still loaded is checked in the same run.
        issues = list(err.issues)
        if err.state is not None:
            issues += run_checks(err.state)
            if args.check_secrets:
                issues += check_secrets(err.state)
    issues = sort_issues(list(dict.fromkeys(issues)))
    failed = any(i.level == "error" for i in issues) or (args.strict and bool(issues))
    summary = _summary(state, spec) if state is not None and not failed else None
    if args.format == "text":
        for issue in issues:
            print(issue)
        print(summary if summary else f"failed: {_counts(issues)} ({spec})")
    return {"ok": not failed, "summary": summary, "issues": [i.to_json() for i in issues]}, failed


def _summary(state: DesiredState, spec: str) -> str:
    def n(count: int, what: str) -> str:
        return f"{count} {what}{'' if count == 1 else 's'}"

    env = f", env {state.environment}" if state.environment else ""
    return (
        f"ok: {n(len(state.inbound), 'inbound trunk')}, {n(len(state.outbound), 'outbound trunk')}, "
        f"{n(len(state.rules), 'dispatch rule')} ({spec}{env})"
    )


def _counts(issues: list[Issue]) -> str:
    errors = sum(1 for i in issues if i.level == "error")
    warnings = len(issues) - errors
    return f"{errors} error{'' if errors == 1 else 's'}, {warnings} warning{'' if warnings == 1 else 's'}"
