"""Hand-edited YAML files (links.yml, tenants.yml): parsed, checked against a JSON schema, and every error told
as the file, the line and the field to fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import yaml

#: The 1-based line of each node, by its path of keys and list indexes.
Lines = dict[tuple[Any, ...], int]


class TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so the schema (not the YAML parser) judges them, with a line."""


TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _lines_of(node: yaml.Node, path: tuple[Any, ...], lines: Lines) -> None:
    """Record the 1-based line of every node under ``path`` so errors can point at it."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _lines_of(value_node, (*path, key_node.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines_of(item, (*path, index), lines)


def field_name(path: tuple[Any, ...]) -> str:
    """`projects.[2].timelog`: a field as an error message names it."""
    return ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in path) or "(top level)"


def nearest_line(path: tuple[Any, ...], lines: Lines) -> int:
    """The line of ``path``, or of the nearest enclosing node that has one."""
    while path not in lines:
        path = path[:-1]
    return lines[path]


def load_checked(text: str, schema: dict[str, Any], source: str, error: type[ValueError], empty_message: str,
                 explain: Callable[[tuple[Any, ...]], str | None] | None = None) -> tuple[Any, Lines]:
    """The file's data and each node's line, or ``error`` naming the file, the line and the field.

    ``explain`` may say better than the schema what is wrong with the field at a path (never quoting its value).
    """
    try:
        node = yaml.compose(text, Loader=TextDatesLoader)
        data = yaml.load(text, Loader=TextDatesLoader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark else "unknown line"
        raise error(f"{source}, {line}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if node is None or data is None:
        raise error(f"{source}, line 1: {empty_message}")
    lines: Lines = {}
    _lines_of(node, (), lines)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda found: list(map(str, found.absolute_path)))
    if errors:
        first = errors[0]
        path = tuple(first.absolute_path)
        if first.validator == "additionalProperties":
            unknown = sorted(set(first.instance) - set(first.schema.get("properties", {})))
            path = (*path, unknown[0]) if unknown else path
        message = (explain(path) if explain else None) or first.message
        raise error(f"{source}, line {nearest_line(path, lines)}, field {field_name(path)}: {message}")
    return data, lines
