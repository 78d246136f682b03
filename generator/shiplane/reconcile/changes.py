"""What `shiplane plan` found and `shiplane apply` does: one :class:`Change` per object, in apply order.

A change never holds a secret: robot secrets exist only inside `apply`, between Harbor's answer and the 0600 file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shiplane.reconcile.diff import PathChange

System = Literal["harbor", "spinnaker"]
Action = Literal["create", "update", "delete"]
ORDER = {"project": 0, "project-metadata": 1, "cve-allowlist": 2, "immutable-rule": 3, "robot": 4,
         "application": 5, "pipeline": 6}


@dataclass(frozen=True)
class Change:
    """One object to create, update or delete.

    `kind`: project, project-metadata, cve-allowlist, immutable-rule, robot (Harbor); application, pipeline
    (Spinnaker). `name` identifies the object (`petclinic`, `petclinic/deploy-dev`, `robot$petclinic+ci`).
    `paths` are the JSON paths that change (updates); `note` says why when it is not obvious (drift). `payload` is
    what apply sends (never a secret; not part of the JSON output).
    """

    system: System
    kind: str
    action: Action
    name: str
    paths: tuple[PathChange, ...] = ()
    note: str = ""
    payload: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def sort_key(self) -> tuple[int, int, str]:
        # deletes last (pruning happens after everything the config wants is in place)
        return (1 if self.action == "delete" else 0, ORDER.get(self.kind, 9), self.name)

    def title(self) -> str:
        symbol = {"create": "+", "update": "~", "delete": "-"}[self.action]
        return f"{symbol} {self.system} {self.kind} {self.name}"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"system": self.system, "kind": self.kind, "action": self.action, "name": self.name}
        if self.paths:
            data["paths"] = [path.as_json() for path in self.paths]
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class Skipped:
    """An object the config names but shiplane will not touch (e.g. a pipeline it does not manage)."""

    system: System
    kind: str
    name: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"system": self.system, "kind": self.kind, "name": self.name, "reason": self.reason}


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    """HTTP requests the plan took, per system."""

    def sorted(self) -> list[Change]:
        return sorted(self.changes, key=lambda change: change.sort_key)

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "delete": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def as_json(self) -> dict[str, Any]:
        return {
            "changes": [change.as_json() for change in self.sorted()],
            "skipped": [skip.as_json() for skip in self.skipped],
            "summary": self.counts(),
            "requests": dict(self.requests),
        }

    def human(self, max_paths: int = 25) -> str:
        lines: list[str] = []
        for change in self.sorted():
            lines.append(change.title() + (f"  ({change.note})" if change.note else ""))
            shown: Sequence[PathChange] = change.paths[:max_paths]
            lines += [f"    {path.text()}" for path in shown]
            if len(change.paths) > max_paths:
                lines.append(f"    … and {len(change.paths) - max_paths} more paths (--json lists them all)")
        for skip in self.skipped:
            lines.append(f"! {skip.system} {skip.kind} {skip.name}: not touched: {skip.reason}")
        counts = self.counts()
        if self.changes:
            lines.append(f"Plan: {counts['create']} to create, {counts['update']} to update, "
                         f"{counts['delete']} to delete.")
        elif self.skipped:  # the config is not matched: those objects stay as they are until someone acts
            lines.append(f"No changes to make, but {len(self.skipped)} object(s) not touched (the lines with !): "
                         "Spinnaker and Harbor do not fully match the fleet config.")
        else:
            lines.append("No changes: Spinnaker and Harbor match the fleet config.")
        return "\n".join(lines) + "\n"
