"""The JSON-path diff plan shows: paths, operations, short values."""

from __future__ import annotations

from shiplane.reconcile.diff import json_paths, short


def texts(before: object, after: object) -> list[str]:
    return [change.text() for change in json_paths(before, after)]


def test_nested_paths_and_operations() -> None:
    before = {"stages": [{"account": "a", "x": 1}], "old": True, "same": {"k": [1, 2]}}
    after = {"stages": [{"account": "b", "x": 1}, {"y": 2}], "new": "v", "same": {"k": [1, 2]}}
    assert texts(before, after) == [
        '~ stages[0].account: "a" -> "b"',
        "+ stages[1] = {…1 keys}",
        '+ new = "v"',
        "- old (was true)",
    ]


def test_keys_that_are_not_identifiers_are_quoted_and_types_count() -> None:
    assert texts({"a.b": 1}, {"a.b": 1.0}) == ['~ ["a.b"]: 1 -> 1.0']
    assert texts({"flag": 1}, {"flag": True}) == ["~ flag: 1 -> true"]
    assert texts([1, 2, 3], [1]) == ["- [1] (was 2)", "- [2] (was 3)"]
    assert texts("x", "x") == []
    assert texts({"k": "same"}, {"k": "same"}) == []


def test_long_values_are_cut() -> None:
    assert short("x" * 100) == '"' + "x" * 58 + "…"
    assert short([1, 2]) == "[…2 items]"


def test_same_is_json_equality_not_python_equality() -> None:
    from shiplane.reconcile.spinnaker import same

    assert same({"a": [1, {"b": "c"}], "d": None}, {"d": None, "a": [1, {"b": "c"}]})
    assert not same({"a": 1}, {"a": True})
    assert not same({"a": 1}, {"a": 1.0})
    assert not same({"a": 2**70}, {"a": 2**70})  # beyond orjson: the path diff decides


def test_harbor_projects_follow_the_teams() -> None:
    """Each team's Harbor project is reconciled (issue 10's teams), and harbor.project for apps without a team."""
    from pathlib import Path

    from shiplane import config
    from shiplane.reconcile.harbor import desired_projects

    root = Path(__file__).resolve().parent.parent / "examples"
    fleet = config.load(str(root / "fleet" / "shiplane.yaml"))
    names = [project.name for project in desired_projects(fleet)]
    assert names == sorted({app.harbor_project for app in fleet.apps})
    assert names == ["catalog", "payments", "web-frontend"]
    assert [p.name for p in desired_projects(config.load(str(root / "petclinic" / "shiplane.yaml")))] == ["petclinic"]
