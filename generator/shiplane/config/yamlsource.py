"""Read a YAML config strictly: duplicate keys are errors, and every value remembers its line.

PyYAML silently keeps the last of two equal keys, so `apps: {web: …, web: …}` would lose an app. This loader
composes the node tree (libyaml when available), builds plain Python values from it and records, for each path,
the line it came from, so later errors can say `shiplane.yaml:12: apps.web.port: …`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from shiplane.errors import ShiplaneError

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """`("apps", "web", "environments", 1)` → `apps.web.environments[1]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part and all(ch.isalnum() or ch in "-_" for ch in part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "(top level)"


@dataclass
class SourceMap:
    """Where each value of a YAML document came from."""

    filename: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def where(self, path: Path) -> str:
        line = self.line(path)
        location = f"{self.filename}:{line}" if line is not None else self.filename
        return f"{location}: {format_path(path)}"


_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, filename: str) -> tuple[Any, SourceMap, list[str]]:
    """Parse one YAML document into plain values, a source map and the structural problems found.

    Syntax errors raise ShiplaneError at once; duplicate and non-string keys are returned as problems (the later
    duplicate is dropped) so that the caller can report them together with every other problem.
    """
    source = SourceMap(filename)
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"{filename}:{mark.line + 1}" if mark is not None else filename
            raise ShiplaneError(f"{where}: not valid YAML: {exc.problem}; fix the syntax") from None
        except yaml.YAMLError as exc:
            raise ShiplaneError(f"{filename}: not valid YAML: {exc}") from None
        if node is None:
            raise ShiplaneError(f"{filename}: the file is empty; start from examples/petclinic/shiplane.yaml")
        problems: list[str] = []
        value = _build(loader, node, (), source, problems)
        return value, source, problems
    finally:
        loader.dispose()


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, source: SourceMap, problems: list[str]) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<:` merge keys
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                problems.append(
                    f"{source.filename}:{key_node.start_mark.line + 1}: {format_path(path)}: key {key!r} is "
                    f"not a string; quote it"
                )
                continue
            line = key_node.start_mark.line + 1
            if key in result:
                problems.append(
                    f"{source.filename}:{line}: {format_path((*path, key))}: defined twice (first on line "
                    f"{first_line[key]}); remove or rename one"
                )
                continue
            first_line[key] = line
            source.lines[(*path, key)] = line
            result[key] = _build(loader, value_node, (*path, key), source, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, index), source, problems) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def walk_strings(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every string in a plain value tree, keys included (a key's path is the path of its value)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*path, key), key
            yield from walk_strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, (*path, index))
