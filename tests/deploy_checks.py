"""Helpers of the deployment tests: parse perparb command lines against the real Typer app, read the compose file
(with its variable interpolation), and list the series a PromQL expression references.

Used by tests/unit/test_deploy.py and tests/integration/test_deploy_image.py.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import typer
import yaml

import perparb.cli

try:  # typer vendors click from 0.2x on
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import ClickException

ROOT = Path(__file__).resolve().parents[1]
PERPARB_IMAGE = "perparb:latest"


def find_command(args: list[str]) -> tuple[Any, list[str], list[str]]:
    """Walk the real Typer app along `args`: (the command, its path, the remaining arguments).

    Raises:
        ValueError: naming the command that does not exist, or a group given no subcommand.
    """
    cmd: Any = typer.main.get_command(perparb.cli.app)
    path: list[str] = []
    rest = list(args)
    while hasattr(cmd, "get_command"):
        if not rest or rest[0].startswith("-"):
            raise ValueError(f"`perparb {' '.join(path)}` needs a subcommand")
        name = rest.pop(0)
        sub = cmd.get_command(cmd.context_class(cmd), name)
        if sub is None:
            raise ValueError(f"`perparb {' '.join([*path, name])}`: no such command")
        path.append(name)
        cmd = sub
    return cmd, path, rest


def parse_command(args: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Parse `perparb ARGS` with the real app: (the command path, its parsed parameters).

    Raises:
        ValueError: naming the unknown command, option or bad value (as `perparb` itself would refuse it).
    """
    cmd, path, rest = find_command(args)
    try:
        ctx = cmd.make_context(" ".join(["perparb", *path]), rest)
    except ClickException as exc:
        raise ValueError(f"`perparb {' '.join(args)}`: {exc.format_message()}") from None
    return path, dict(ctx.params)


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable interpolation of `value` (strings, lists and dicts, recursively): `${X}`, `$X`,
    `${X:-default}`, `${X-default}`, `${X:?error}`, `${X?error}`, `$$`.

    Raises:
        KeyError: a `?` variable is missing (the message is compose's error text).
    """
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3) or ""
        current = env.get(name)
        empty = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":-", "-"):
            return arg if empty else str(current)
        if op in (":?", "?"):
            if empty:
                raise KeyError(f"{name}: {arg}")
            return str(current)
        return "" if current is None else current

    return _VAR.sub(one, value)


def load_compose(env: dict[str, str]) -> dict[str, Any]:
    """docker-compose.yml with YAML merge keys resolved and variables interpolated from `env`."""
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return dict(interpolate(data, env))


def perparb_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the perparb image."""
    return {n: s for n, s in compose["services"].items() if s.get("image") == PERPARB_IMAGE}


def option(args: list[str], name: str) -> str | None:
    """The value following `name` in an argument list, or None."""
    return args[args.index(name) + 1] if name in args else None


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    lines: list[tuple[str, str]] = []
    buffer = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        buffer += line[:-1] + " " if line.endswith("\\") else line
        if line.endswith("\\"):
            continue
        word, _, rest = buffer.partition(" ")
        lines.append((word.upper(), rest.strip()))
        buffer = ""
    return lines


def exec_form(arguments: str) -> list[str]:
    """The JSON (exec) form of ENTRYPOINT / CMD, or the words of the shell form."""
    text = arguments.strip()
    if text.startswith("["):
        return list(json.loads(text))
    return shlex.split(text)


# --------------------------------------------------------------------------------------------------- PromQL

_FUNCTIONS_AND_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}


def promql_series(expr: str) -> set[str]:
    """The series names a PromQL expression (or a Grafana `label_values(series, label)` query) references:
    identifiers that are neither functions (followed by "("), keywords, label names of `by (...)` /
    `without (...)` / `on (...)` / `ignoring (...)` / `label_values(..., label)`, nor inside a label matcher
    `{...}`, a string, or a range `[...]`."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)  # strings (label values, legends)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,[^)]*\)", r" \1 ", text)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = m.group(0)
        after = text[m.end() :].lstrip()
        if after.startswith("(") or word.lower() in _FUNCTIONS_AND_KEYWORDS:
            continue
        if re.fullmatch(r"\d+[smhdwy]", word) or (m.start() > 0 and text[m.start() - 1].isdigit()):
            continue
        names.add(word)
    return names
