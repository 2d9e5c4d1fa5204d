"""Argument errors are expected errors: one line on stderr, exit 1, never the usage block."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sipconf import __version__
from sipconf.cli import main

DEMO = "scenarios/demo/spec.yaml"


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["nosuch"], "sipconf: argument COMMAND: invalid choice: 'nosuch'"),
        (["validate"], "sipconf validate: the following arguments are required: spec (see `sipconf validate --help`)"),
        (["explain", DEMO, "--to", "1", "--header", "NoColon"],
         "sipconf explain: argument --header: expected 'Name: value', got 'NoColon' (see `sipconf explain --help`)"),
        (["explain", DEMO, "--to", "1", "--auth", "nocolon"],
         "sipconf explain: argument --auth: expected USER:PASS (see `sipconf explain --help`)"),
    ],
)
def test_argument_errors_are_one_line_and_exit_1(argv, line, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(line)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"sipconf {__version__}"


def test_version_and_help_import_no_command_module():
    """The table of commands is literal: listing them imports none, running one imports only it."""
    probe = (
        "import sys\n"
        "from sipconf.cli import main\n"
        "for argv in (['--version'], ['--help'], ['schema']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    print(argv[0], sorted(m for m in sys.modules if m.startswith('sipconf.commands.')), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stderr.splitlines() == [
        "--version []",
        "--help []",
        "schema ['sipconf.commands.schema']",
    ]


def test_a_secret_given_to_auth_is_not_echoed_in_the_error(capsys):
    assert main(["explain", DEMO, "--to", "1", "--auth", "hunter2-no-colon"]) == 1
    assert "hunter2" not in capsys.readouterr().err
