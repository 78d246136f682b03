"""Read a YAML config strictly: duplicate keys are errors, and every value remembers its line.

PyYAML silently keeps the last of two equal keys, so `apps: {web: …, web: …}` would lose an app. This loader
composes the node tree (libyaml when available), builds plain Python values from it and records, for each path,
the line it came from, so later errors can say `shiplane.yaml:12: apps.web.port: …`.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from shiplane.errors import ShiplaneError

Path = tuple[str | int, ...]

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0 and C1 control characters and DEL: none belongs in a name, path or other one-line value."""


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


def load_yaml(
    text: str, filename: str, *, go_semantics: bool = False, names_only: bool = False
) -> tuple[Any, SourceMap, list[str]]:
    """Parse one YAML document into plain values, a source map and the structural problems found.

    Syntax errors raise ShiplaneError at once; duplicate and non-string keys are returned as problems (the later
    duplicate is dropped) so that the caller can report them together with every other problem.

    `go_semantics` reads the file as Concourse's Go YAML libraries do: an anchor may be defined again (YAML 1.2)
    and a key that is not a string (`no:`, `1:`) becomes its text (`false`, `1`).

    `names_only`: every key is a name, so a key with a control character (`dev\\n:`) is a problem.
    The expansion through aliases and merge keys and the nesting depth are bounded (MAX_VALUES, MAX_DEPTH).
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
            raise ShiplaneError(f"{where}: not valid YAML: {_one_line(str(problem))}; fix the syntax") from None
        except yaml.reader.ReaderError as exc:
            # Characters YAML does not allow (NUL, most C0/C1 controls): yaml.reader.Reader.check_printable
            line = text.count("\n", 0, max(0, exc.position)) + 1
            character = exc.character
            shown = repr(chr(character)) if isinstance(character, int) and 0 <= character <= 0x10FFFF else "a character"
            raise ShiplaneError(
                f"{filename}:{line}: not valid YAML: {shown} is not allowed in a YAML file; remove it"
            ) from None
        except yaml.YAMLError as exc:
            raise ShiplaneError(f"{filename}: not valid YAML: {_one_line(str(exc))}") from None
        if node is None:
            raise ShiplaneError(f"{filename}: the file is empty; start from examples/petclinic/shiplane.yaml")
        _check_expansion(node, text, filename)
        problems: list[str] = []
        try:
            value = _Builder(loader, source, problems, go_semantics, names_only).build(node, ())
        except yaml.MarkedYAMLError as exc:  # a constructor's: an unknown tag (!!python/...), a bad !!binary
            mark = exc.problem_mark or exc.context_mark
            where = f"{filename}:{mark.line + 1}" if mark is not None else filename
            raise ShiplaneError(f"{where}: not valid here: {_one_line(str(exc.problem))}; remove the tag") from None
        return value, source, list(dict.fromkeys(problems))
    finally:
        loader.dispose()


MAX_VALUES = 1_000_000
"""The most values (scalars, lists, mappings) a document may expand to through its aliases and merge keys.

A fleet of 5,000 apps is about 200,000; a 3 KB "billion laughs" document would be 10^9."""

MAX_DEPTH = 64
"""The deepest nesting of lists and mappings (a fleet config is about 8 deep)."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check_expansion(root: yaml.Node, text: str, filename: str) -> None:
    """Refuse a document whose aliases expand beyond MAX_VALUES or that nests beyond MAX_DEPTH, before building it.

    Sizes are memoised per node, so an alias bomb is measured in time proportional to the text, not to its
    expansion. An aliased node is the same object as its anchor's node (PyYAML's composer), which is how the
    culprit anchor is found for the message.
    """
    sizes: dict[int, int] = {}
    aliased: dict[int, yaml.Node] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        key = id(node)
        if children_done:
            children = _children(node)
            sizes[key] = min(MAX_VALUES + 1, 1 + sum(sizes[id(child)] for child in children))
            open_nodes.discard(key)
            continue
        if key in open_nodes:
            raise ShiplaneError(
                f"{filename}:{node.start_mark.line + 1}: an alias refers to the mapping or list it is in; a config "
                f"cannot contain itself"
            )
        if key in sizes:
            aliased[key] = node
            continue
        open_nodes.add(key)
        if depth > MAX_DEPTH:
            raise ShiplaneError(
                f"{filename}:{node.start_mark.line + 1}: nests lists and mappings more than {MAX_DEPTH} deep; "
                f"flatten the document"
            )
        sizes[key] = 0
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in reversed(_children(node)))
    if sizes[id(root)] <= MAX_VALUES:
        return
    # The first anchor (in the file) that alone expands beyond the limit, else the largest one referred to.
    over = [node for node in aliased.values() if sizes[id(node)] > MAX_VALUES]
    culprit = (min(over, key=lambda node: node.start_mark.line) if over
               else max(aliased.values(), key=lambda node: sizes[id(node)], default=root))
    anchor = _anchor_name(text, culprit)
    what = f"the anchor &{anchor} (line {culprit.start_mark.line + 1})" if anchor else "its aliases"
    raise ShiplaneError(
        f"{filename}: {what} expands to more than {MAX_VALUES:,} values through its aliases; refer to it "
        f"fewer times (a YAML alias bomb?)"
    )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _anchor_name(text: str, node: yaml.Node) -> str | None:
    """The anchor defined at `node`'s position (composed nodes do not keep it; the events do)."""
    with contextlib.suppress(yaml.YAMLError):
        for event in yaml.parse(text, Loader=_Loader):
            anchor = getattr(event, "anchor", None)
            mark = event.start_mark
            if (
                anchor
                and mark is not None
                and not isinstance(event, yaml.AliasEvent)
                and (mark.line, mark.column) == (node.start_mark.line, node.start_mark.column)
            ):
                return str(anchor)
    return None


_MERGE = "tag:yaml.org,2002:merge"


class _Builder:
    """Plain values from a composed node tree, with YAML 1.1 merge keys and every problem collected."""

    def __init__(
        self, loader: yaml.SafeLoader, source: SourceMap, problems: list[str], go: bool, names_only: bool
    ) -> None:
        self.names_only = names_only
        self.loader = loader
        self.source = source
        self.problems = problems
        self.go = go

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.source.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merges: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append((key_node, value_node))
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            line = key_node.start_mark.line + 1
            if key in result:
                self.problems.append(
                    f"{self.source.filename}:{line}: {format_path((*path, key))}: defined twice (first on line "
                    f"{first_line[key]}); remove or rename one"
                )
                continue
            first_line[key] = line
            self.source.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key))
        if not merges:
            return result
        merged: dict[str, Any] = {}
        for key_node, value_node in merges:
            self._merge(merged, result, key_node, value_node, path)
        # Key order as PyYAML's flatten_mapping gives it: merged keys first, the mapping's own values win.
        return {**{key: result.get(key, value) for key, value in merged.items()}, **result}

    def _merge(
        self, merged: dict[str, Any], own: dict[str, Any], key_node: yaml.Node, value_node: yaml.Node, path: Path
    ) -> None:
        """`<<: *a` or `<<: [*a, *b]`: keys of the mapping itself win, then earlier sources over later ones
        (the YAML 1.1 merge key type, https://yaml.org/type/merge.html, as PyYAML's flatten_mapping does)."""
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source_node in sources:
            if not isinstance(source_node, yaml.MappingNode):
                self.problems.append(
                    f"{self.source.filename}:{key_node.start_mark.line + 1}: {format_path(path)}: '<<' merges a "
                    f"mapping or a list of mappings; give an alias of a mapping"
                )
                continue
            scratch = SourceMap(self.source.filename)
            values = _Builder(self.loader, scratch, self.problems, self.go, self.names_only)._mapping(source_node, path)
            taken = {key for key in values if key not in merged and key not in own}
            merged.update((key, value) for key, value in values.items() if key in taken)
            for where, line in scratch.lines.items():
                if len(where) > len(path) and where[len(path)] in taken:
                    self.source.lines.setdefault(where, line)

    def _key(self, key_node: yaml.Node, path: Path) -> str | None:
        key = self.loader.construct_object(key_node, deep=True)
        if self.go and not isinstance(key, str):
            key = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
        line = key_node.start_mark.line + 1
        if isinstance(key, str):
            if self.names_only and CONTROL.search(key):
                # Every key of a fleet config is a name. Reported, then read without the control characters, so
                # the rest of the file is checked as the user meant it.
                self.problems.append(
                    f"{self.source.filename}:{line}: {format_path(path)}: the key {json.dumps(key)} contains a "
                    f"control character; remove it"
                )
                return CONTROL.sub("", key)
            return key
        if isinstance(key_node, yaml.ScalarNode):
            # Reported, then read as its text, so that the rest of the file is checked as the user meant it.
            self.problems.append(
                f"{self.source.filename}:{line}: {format_path(path)}: the key {key_node.value} is not a string "
                f"(YAML reads it as {key!r}); quote it: '{key_node.value}'"
            )
            return str(key_node.value)
        self.problems.append(f"{self.source.filename}:{line}: {format_path(path)}: a key must be a string; quote it")
        return None


def walk_strings(value: Any, path: Path = ()) -> Iterator[tuple[Path, str, bool]]:
    """Every string in a plain value tree as (path, text, is_key); a key's path is the path of its value."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*path, key), key, True
            yield from walk_strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, (*path, index))
