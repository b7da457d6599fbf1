"""Reading the user's files (strategy configs, credential files, grids): every failure is a one-line `ConfigError`
naming the file and what is wrong, never a traceback.

* `read_text_file(path, what=...)`: missing file, a directory, no permission, not UTF-8 -> ConfigError;
* `load_yaml(text, source)`: YAML with duplicate keys refused (PyYAML silently keeps the last one, which would
  let a second `entry:` block quietly replace the first), syntax errors located by line.

Why not a schema library: pydantic validates the decoded document; what is missing is the two checks before it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from perparb_core.errors import ConfigError


def read_text_file(path: Path, *, what: str = "file") -> str:
    """The UTF-8 text of `path`.

    Raises:
        ConfigError: "<path>: no such file", "... is a directory, not a <what>", "... cannot be read
            (permission denied)", "... is not UTF-8 text (byte 0x.. at offset N)".
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a {what}") from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise ConfigError(f"{path}: is not UTF-8 text (byte 0x{bad} at offset {exc.start})") from None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load_yaml(text: str, source: str) -> Any:
    """Decode YAML `text` (safe types only), refusing duplicate keys.

    Raises:
        ConfigError: "<source>: invalid YAML at line N: <problem>" or "<source>: duplicate key 'x' at line N
            (first at line M)".
    """
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        if str(problem).startswith("duplicate key"):
            raise ConfigError(f"{source}: {problem}{where}") from None
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}") from None


def load_yaml_file(path: Path, *, what: str = "YAML file") -> Any:
    """`load_yaml(read_text_file(path))`. Raises ConfigError (see both)."""
    return load_yaml(read_text_file(path, what=what), str(path))
