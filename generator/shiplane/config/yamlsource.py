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


class _RedefinableAnchorsLoader(yaml.SafeLoader):
    """YAML 1.2 lets an anchor be defined again (an alias refers to the latest one); PyYAML refuses by default.

    Go's yaml.v3, which Concourse uses, follows YAML 1.2, and real pipelines rely on it.
    """

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        anchor = getattr(event, "anchor", None)
        if anchor is not None and not isinstance(event, yaml.AliasEvent):
            self.anchors.pop(anchor, None)
        return super().compose_node(parent, index)


def load_yaml(text: str, filename: str, *, go_semantics: bool = False) -> tuple[Any, SourceMap, list[str]]:
    """Parse one YAML document into plain values, a source map and the structural problems found.

    Syntax errors raise ShiplaneError at once; duplicate and non-string keys are returned as problems (the later
    duplicate is dropped) so that the caller can report them together with every other problem.

    `go_semantics` reads the file as Concourse's Go YAML libraries do: an anchor may be defined again (YAML 1.2)
    and a key that is not a string (`no:`, `1:`) becomes its text (`false`, `1`).
    """
    source = SourceMap(filename)
    loader: yaml.SafeLoader = _Loader(text)
    try:
        try:
            try:
                node = loader.get_single_node()
            except yaml.composer.ComposerError as exc:
                if not (go_semantics and "duplicate anchor" in str(exc.context)):
                    raise
                loader.dispose()
                loader = _RedefinableAnchorsLoader(text)  # slower, pure Python: only for files that need it
                node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"{filename}:{mark.line + 1}" if mark is not None else filename
            problem = f"{exc.context} ({exc.problem})" if exc.context and exc.problem else exc.problem or exc.context
            raise ShiplaneError(f"{where}: not valid YAML: {problem}; fix the syntax") from None
        except yaml.YAMLError as exc:
            raise ShiplaneError(f"{filename}: not valid YAML: {exc}") from None
        if node is None:
            raise ShiplaneError(f"{filename}: the file is empty; start from examples/petclinic/shiplane.yaml")
        problems: list[str] = []
        value = _build(loader, node, (), source, problems, go_semantics)
        return value, source, problems
    finally:
        loader.dispose()


def _build(  # noqa: PLR0917 - recursive helper
    loader: yaml.SafeLoader, node: yaml.Node, path: Path, source: SourceMap, problems: list[str], go: bool = False
) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<:` merge keys
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if go and not isinstance(key, str):
                key = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
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
            result[key] = _build(loader, value_node, (*path, key), source, problems, go)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, index), source, problems, go) for index, item in enumerate(node.value)]
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
