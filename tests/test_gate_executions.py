"""spinnaker_gate.executions against the Gate double: trigger (once, even when answers are lost), listings, detail."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from gate_double import GateDouble
from gate_double.orca_routes import add_pipeline, advance
from harbor_image.log import Log
from spinnaker_gate import Gate, GateAuth, GateError
from spinnaker_gate.executions import get_execution, list_executions, pipeline_config, trigger_pipeline


@pytest.fixture
def gate() -> Iterator[GateDouble]:
    with GateDouble() as double:
        double.state.anonymous = True
        yield double


def client(url: str) -> Gate:
    return Gate(url, GateAuth(), Log(io.StringIO(), debug=True), time.monotonic() + 30, sleep=lambda _s: None)


def trigger(correlation: str = "c-1") -> dict[str, object]:
    return {"correlationId": correlation, "parameters": {}, "artifacts": []}


def test_trigger_answers_the_execution_and_orca_keeps_the_correlation_id(gate: GateDouble) -> None:
    config = add_pipeline(gate.state, "app", "deploy")
    api = client(gate.url)
    assert pipeline_config(api, "app", "deploy")["id"] == config["id"]
    execution_id = trigger_pipeline(api, "app", "deploy", config["id"], trigger(), sleep=lambda _s: None)
    gate.state.execution_plans[execution_id] = []  # keep it RUNNING
    execution = get_execution(api, execution_id)
    assert execution["trigger"]["correlationId"] == "c-1"
    assert execution["trigger"]["user"] == "anonymous" and execution["trigger"]["type"] == "manual"
    # orca's checkForCorrelatedExecution: the same correlation id while it runs is the same execution
    assert execution["status"] == "RUNNING"
    assert trigger_pipeline(api, "app", "deploy", config["id"], trigger(), sleep=lambda _s: None) == execution_id
    advance(gate.state, execution_id, "SUCCEEDED")
    # a finished one no longer counts (SqlExecutionRepository.retrievePipelineForCorrelationId)
    assert trigger_pipeline(api, "app", "deploy", config["id"], trigger(), sleep=lambda _s: None) != execution_id


@pytest.mark.parametrize("status", [502, 504, 500])
def test_a_lost_answer_is_recovered_by_the_correlation_id(gate: GateDouble, status: int) -> None:
    config = add_pipeline(gate.state, "app", "deploy")
    gate.fault("POST", "/pipelines/app/deploy", status, after=True)
    api = client(gate.url)
    execution_id = trigger_pipeline(api, "app", "deploy", config["id"], trigger(), sleep=lambda _s: None)
    assert list(gate.state.executions) == [execution_id]
    assert [e.method for e in gate.log].count("POST") == 1


def test_unavailable_gate_gives_up_without_starting_anything(gate: GateDouble) -> None:
    config = add_pipeline(gate.state, "app", "deploy")
    gate.fault("POST", "/pipelines/app/deploy", 503, times=10)
    api = client(gate.url)
    with pytest.raises(GateError, match=r"gave up \(.*Gate answered 503 .*no execution was started"):
        trigger_pipeline(api, "app", "deploy", config["id"], trigger(), attempts=3, sleep=lambda _s: None)
    assert not gate.state.executions
    assert [e.method for e in gate.log].count("POST") == 3


def test_gate_refusals_carry_gates_message(gate: GateDouble) -> None:
    config = add_pipeline(gate.state, "app", "deploy", parameterConfig=[{"name": "env", "required": True}],
                          expectedArtifacts=[{"id": "img", "matchArtifact": {"type": "docker/image", "name": "x/y"}}])
    api = client(gate.url)
    with pytest.raises(GateError, match="Required parameter env is missing"):
        trigger_pipeline(api, "app", "deploy", config["id"], trigger(), sleep=lambda _s: None)
    with pytest.raises(GateError, match="Unmatched expected artifact img"):
        trigger_pipeline(api, "app", "deploy", config["id"],
                         {**trigger(), "parameters": {"env": "dev"}, "expectedArtifactIds": ["img"]},
                         sleep=lambda _s: None)
    with pytest.raises(GateError, match="no such pipeline"):
        pipeline_config(api, "app", "nope")


def test_listing_is_bounded_filtered_and_oldest_first(gate: GateDouble) -> None:
    config = add_pipeline(gate.state, "app", "deploy")
    api = client(gate.url)
    ids = [trigger_pipeline(api, "app", "deploy", config["id"], trigger(f"c-{n}"), sleep=lambda _s: None)
           for n in range(4)]
    for execution_id in ids:
        gate.state.execution_plans[execution_id] = []
    advance(gate.state, ids[3], "TERMINAL")
    newest_two = list_executions(api, config["id"], 2, ("RUNNING", "TERMINAL"))
    assert [e["id"] for e in newest_two] == ids[2:]
    assert [e["id"] for e in list_executions(api, config["id"], 10, ("TERMINAL",))] == [ids[3]]
