"""Reading the files under deploy/ as the tools that use them would: Dockerfile instructions,
YAML documents, and the `orderhub` command lines they run, checked against the CLI itself."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.cli.main import build_parser


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, USER, ...
    arguments: str  # as written, continuation lines joined
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of CMD/ENTRYPOINT/HEALTHCHECK CMD, or None for the shell form."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text.partition(" CMD ")[2].strip()
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) else None


def dockerfile(path: Path) -> list[Instruction]:
    """Instructions in order; comments, parser directives and blank lines dropped, a
    backslash at the end of a line continuing the instruction on the next."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped.removesuffix("\\").strip())
        if continued:
            continue
        keyword, _, arguments = " ".join(pending).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
        pending = []
    assert not pending, f"{path}: the last instruction ends with a backslash"
    return instructions


def final_stage(instructions: Sequence[Instruction]) -> list[Instruction]:
    """The instructions of the last FROM on: what the image runs with."""
    froms = [i for i, instruction in enumerate(instructions) if instruction.keyword == "FROM"]
    assert froms, "no FROM"
    return list(instructions[froms[-1] :])


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def orderhub_command_error(argv: Sequence[str]) -> str | None:
    """Why `argv` is not a command `orderhub` accepts (as its --help lists them), or None."""
    if not argv or argv[0] != "orderhub":
        return f"{list(argv)} does not run orderhub"
    parser = build_parser()
    parser.exit_on_error = False
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            parser.parse_args(list(argv[1:]))
    except (argparse.ArgumentError, SystemExit) as exc:
        return f"{list(argv)}: {errors.getvalue().strip() or exc}"
    return None


_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:\?|:-)(?P<arg>[^}]*))?\}")


class MissingVariable(LookupError):
    """A `${NAME:?message}` whose variable is unset or empty: compose refuses to start."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution for the forms the compose file uses: ${NAME},
    ${NAME:-default} and ${NAME:?message}."""

    def substitute(match: re.Match[str]) -> str:
        value = env.get(match["name"], "")
        if match["op"] == ":?" and not value:
            raise MissingVariable(f"{match['name']}: {match['arg']}")
        if match["op"] == ":-" and not value:
            return match["arg"]
        return value

    return _VARIABLE.sub(substitute, text.replace("$$", "\0")).replace("\0", "$")


def variables(text: str) -> list[re.Match[str]]:
    return list(_VARIABLE.finditer(text))
