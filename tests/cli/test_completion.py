"""`sipconf completion bash|zsh`: every command and flag of the CLI's table, in scripts both shells load."""

from __future__ import annotations

import argparse
import importlib
import shutil
import subprocess
import sys

import pytest

from sipconf.cli import COMMANDS, main

SIPCONF = [sys.executable, "-m", "sipconf"]


def _script(shell: str) -> str:
    return subprocess.run(SIPCONF + ["completion", shell], capture_output=True, text=True, check=True).stdout


def _declared_flags() -> dict[str, list[str]]:
    """Each command's flags as its own add_arguments declares them (what the script must hold)."""
    flags = {}
    for name, command in COMMANDS.items():
        parser = argparse.ArgumentParser()
        importlib.import_module(command.module).add_arguments(parser)
        flags[name] = [option for action in parser._actions for option in action.option_strings]
    return flags


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_every_command_and_flag_is_in_the_script(shell, capsys):
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert script == _script(shell)  # the same script as the installed command prints
    for name, flags in _declared_flags().items():
        assert name in script
        for flag in flags:
            assert flag in script, f"{name} {flag} missing from the {shell} script"
    assert "completion" in COMMANDS and "fmt" in COMMANDS


def _complete(words: list[str]) -> list[str]:
    """What bash offers after `words` (the last one being the word under the cursor)."""
    line = " ".join(words)
    probe = (
        f"source <({' '.join(SIPCONF)} completion bash) && complete -p sipconf >&2 && "
        f"COMP_WORDS=({line}) && COMP_CWORD={len(words) - 1} && _sipconf && printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert done.stderr == "complete -o bashdefault -o filenames -F _sipconf sipconf\n"
    return sorted(done.stdout.split())


def test_bash_sources_the_script_and_completes_commands():
    assert _complete(["sipconf", "pl"]) == ["plan"]
    assert _complete(["sipconf", "c"]) == ["completion"]


def test_bash_completes_a_commands_flags_and_their_values():
    assert _complete(["sipconf", "plan", "spec.yaml", "--de"]) == ["--detailed-exitcode"]
    assert _complete(["sipconf", "plan", "spec.yaml", "--format", ""]) == ["json", "markdown", "text"]
    assert _complete(["sipconf", "completion", ""]) == ["bash", "zsh"]
    assert _complete(["sipconf", "apply", "--lo"]) == ["--lock-timeout"]


def test_zsh_loads_the_script_and_registers_it():
    zsh = shutil.which("zsh")
    assert zsh, "zsh is installed by `make tools`"
    probe = f"autoload -U compinit && compinit -u && source <({' '.join(SIPCONF)} completion zsh) && print $_comps[sipconf]"
    done = subprocess.run([zsh, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout == "_sipconf\n" and done.stderr == ""


def test_an_unknown_shell_is_one_line_and_exit_1(capsys):
    assert main(["completion", "fish"]) == 1
    assert capsys.readouterr().err == (
        "sipconf completion: argument shell: invalid choice: 'fish' (choose from 'bash', 'zsh')"
        " (see `sipconf completion --help`)\n"
    )
