"""The Gate endpoint families of plan/apply (applications, Orca tasks, pipeline configs) against the Gate double,
which follows gate/orca/front50 (see tests/gate_double/front50_routes.py for the upstream files)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from gate_double import GateDouble
from harbor_image.log import Log
from spinnaker_gate import Gate, GateAuth, GateError
from spinnaker_gate.applications import get_application, list_applications, save_application
from spinnaker_gate.orca_tasks import run_task
from spinnaker_gate.pipeline_configs import (
    delete_pipeline,
    list_all_pipeline_configs,
    list_pipeline_configs,
    save_pipeline,
)


@pytest.fixture
def gate() -> Iterator[GateDouble]:
    with GateDouble() as double:
        double.add_user("admin", password="admin-pw", admin=True)
        yield double


def client(url: str, user: str = "admin", password: str = "admin-pw", stream: io.StringIO | None = None) -> Gate:
    log = Log(stream or io.StringIO(), debug=True)
    return Gate(url, GateAuth(username=user, password=password), log, time.monotonic() + 30,
                sleep=lambda _s: None)


def pipeline(name: str, app: str = "shop", **extra: object) -> dict[str, object]:
    return {"application": app, "name": name, "stages": [], "triggers": [], **extra}


def test_application_is_created_then_updated_through_polled_tasks(gate: GateDouble) -> None:
    gate_client = client(gate.url)
    assert get_application(gate_client, "shop") is None
    save_application(gate_client, {"name": "shop", "email": "a@example.com", "cloudProviders": "kubernetes"},
                     sleep=lambda _s: None)
    attributes = get_application(gate_client, "shop")
    assert attributes is not None
    assert attributes["name"] == "SHOP"  # Front50 upper-cases the stored name
    assert attributes["email"] == "a@example.com"
    save_application(gate_client, {"name": "shop", "email": "b@example.com"}, sleep=lambda _s: None)
    attributes = get_application(gate_client, "shop")
    assert attributes is not None
    assert attributes["email"] == "b@example.com" and attributes["cloudProviders"] == "kubernetes"  # merged
    task_polls = [entry for entry in gate.log if entry.path.startswith("/tasks/")]
    assert len(task_polls) == 4  # each task answered RUNNING once, then SUCCEEDED
    assert [app["name"] for app in list_applications(gate_client)] == ["SHOP"]


def test_a_failed_task_is_one_line_with_front50s_reason(gate: GateDouble) -> None:
    with pytest.raises(GateError, match="ended TERMINAL: Application must have a non-empty email"):
        save_application(client(gate.url), {"name": "shop"}, sleep=lambda _s: None)


def test_task_wait_is_bounded_by_the_deadline(gate: GateDouble) -> None:
    gate_client = Gate(gate.url, GateAuth(username="admin", password="admin-pw"), Log(io.StringIO()),
                       time.monotonic() + 0.5, sleep=lambda _s: None)
    with pytest.raises(GateError, match="still RUNNING at the command's deadline"):
        run_task(gate_client, {"application": "x", "job": [{"type": "createApplication",
                                                          "application": {"name": "x", "email": "e@x"}}]},
                 "saving", sleep=lambda _s: None, first_sleep=10.0)


def test_raw_save_without_id_fails_the_second_time_and_saving_with_the_id_updates(gate: GateDouble) -> None:
    gate_client = client(gate.url)
    save_pipeline(gate_client, pipeline("deploy"))
    with pytest.raises(GateError) as caught:
        save_pipeline(gate_client, pipeline("Deploy"))  # Front50 compares names case-insensitively
    assert caught.value.status == 400
    assert "A pipeline with name Deploy already exists in application shop" in str(caught.value)
    stored = list_pipeline_configs(gate_client, "shop")
    assert len(stored) == 1
    save_pipeline(gate_client, pipeline("deploy", description="v2"), str(stored[0]["id"]))
    again = list_all_pipeline_configs(gate_client)
    assert len(again) == 1 and again[0]["id"] == stored[0]["id"] and again[0]["description"] == "v2"
    assert again[0]["schema"] == "1" and again[0]["lastModifiedBy"] == "admin"


def test_delete_is_by_name_and_only_that_pipeline(gate: GateDouble) -> None:
    gate_client = client(gate.url)
    save_pipeline(gate_client, pipeline("deploy"))
    save_pipeline(gate_client, pipeline("rollback"))
    save_pipeline(gate_client, pipeline("deploy", app="other"))
    delete_pipeline(gate_client, "shop", "DEPLOY")
    names = sorted((p["application"], p["name"]) for p in list_all_pipeline_configs(gate_client))
    assert names == [("other", "deploy"), ("shop", "rollback")]
    delete_pipeline(gate_client, "shop", "gone")  # nothing to delete: Gate answers 200


def test_fiat_write_is_needed_to_save_and_read_to_list(gate: GateDouble) -> None:
    gate.add_user("reader", password="r-pw", applications={"shop": {"READ"}})
    reader = client(gate.url, "reader", "r-pw")
    with pytest.raises(GateError, match="required authorization: WRITE"):
        save_pipeline(reader, pipeline("deploy"))
    assert list_pipeline_configs(reader, "shop") == []
    with pytest.raises(GateError, match=r"forbidden \(403"):
        list_pipeline_configs(reader, "elsewhere")


def test_the_fleet_wide_listing_is_filtered_by_pipeline_name_for_non_admins(gate: GateDouble) -> None:
    """Front50 PipelineController.list @PostFilter checks READ on the pipeline's name (as an application)."""
    save_pipeline(client(gate.url), pipeline("deploy"))
    gate.add_user("reader", password="r-pw", applications={"shop": {"READ"}})
    reader = client(gate.url, "reader", "r-pw")
    assert list_all_pipeline_configs(reader) == []
    assert [p["name"] for p in list_pipeline_configs(reader, "shop")] == ["deploy"]


def test_wrong_password_is_a_401_without_the_secret(gate: GateDouble) -> None:
    stream = io.StringIO()
    with pytest.raises(GateError) as caught:
        list_all_pipeline_configs(client(gate.url, "admin", "not-the-pw", stream))
    assert caught.value.status == 401
    assert "not-the-pw" not in str(caught.value) + stream.getvalue()
