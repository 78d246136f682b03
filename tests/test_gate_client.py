"""The Gate client core against the Gate double: basic, bearer and x509 auth, errors, retries, a path prefix."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from fixtures.tls import TestCA, make_client_cert
from gate_double import GateDouble
from harbor_image.log import Log
from spinnaker_gate import Gate, GateAuth, GateError


@pytest.fixture
def gate() -> Iterator[GateDouble]:
    with GateDouble() as double:
        yield double


def client(url: str, auth: GateAuth, stream: io.StringIO | None = None, **options: object) -> Gate:
    log = Log(stream or io.StringIO(), debug=True)
    return Gate(url, auth, log, time.monotonic() + 30, sleep=lambda _s: None, **options)  # type: ignore[arg-type]


def test_basic_and_bearer_auth(gate: GateDouble) -> None:
    gate.add_user("alice", password="s3cret pass")
    gate.add_user("ci", token="tok-123")
    basic = client(gate.url, GateAuth(username="alice", password="s3cret pass"))
    assert Gate.json(basic.request("GET", "/auth/user"))["username"] == "alice"
    bearer = client(gate.url, GateAuth(token="tok-123"))
    assert Gate.json(bearer.request("GET", "/auth/user"))["username"] == "ci"
    assert [entry.user for entry in gate.log] == ["alice", "ci"]


def test_wrong_password_is_one_line_without_the_secret(gate: GateDouble) -> None:
    gate.add_user("alice", password="right")
    stream = io.StringIO()
    gate_client = client(gate.url, GateAuth(username="alice", password="wrong-pw"), stream)
    response = gate_client.request("GET", "/auth/user")
    problem = gate_client.fail(response, "reading the user")
    assert problem.status == 401
    assert "Gate refused the credentials (401 Unauthorized: Authentication required)" in str(problem)
    assert "wrong-pw" not in str(problem) + stream.getvalue()
    assert "\n" not in str(problem)


def test_x509_client_certificate(tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA) -> None:
    cert, key = make_client_cert(test_ca, "deploy-bot")
    tls = (str(test_ca.server_cert), str(test_ca.server_key), str(test_ca.ca_file))
    with GateDouble(tls) as double:
        double.add_user("deploy-bot", cert_cn="deploy-bot")
        gate_client = client(double.url, GateAuth(client_cert=cert, client_key=key), ca_certs=[test_ca.ca_pem])
        assert Gate.json(gate_client.request("GET", "/auth/user"))["username"] == "deploy-bot"
        anonymous = client(double.url, GateAuth(), ca_certs=[test_ca.ca_pem])
        assert anonymous.request("GET", "/auth/user").status == 401


def test_a_key_that_does_not_match_is_one_clear_error(test_ca: TestCA) -> None:
    cert, _key = make_client_cert(test_ca, "one")
    _cert, other_key = make_client_cert(test_ca, "two")
    tls = (str(test_ca.server_cert), str(test_ca.server_key), str(test_ca.ca_file))
    with GateDouble(tls) as double:
        gate_client = client(double.url, GateAuth(client_cert=cert, client_key=other_key), ca_certs=[test_ca.ca_pem])
        with pytest.raises(GateError) as caught:
            gate_client.request("GET", "/auth/user")
    message = str(caught.value)
    assert "not a usable PEM pair" in message and "PRIVATE KEY" not in message


def test_retries_503_then_succeeds_and_keeps_a_path_prefix(gate: GateDouble) -> None:
    gate.state.anonymous = True
    gate.fault("GET", "/auth/user", 503, times=2)
    gate_client = client(gate.url, GateAuth())
    assert gate_client.request("GET", "/auth/user").status == 200
    assert [entry.status for entry in gate.log] == [503, 503, 200]
    prefixed = client(gate.url + "/gate/", GateAuth())
    assert prefixed.request("GET", "/auth/user").status == 404
    assert gate.log[-1].path == "/gate/auth/user"


def test_unreachable_gate_names_the_setting() -> None:
    with GateDouble() as double:
        url = double.url
    gate_client = client(url, GateAuth(), url_field="source.url", attempts=2)
    with pytest.raises(GateError, match=r"cannot reach Gate .* check source.url"):
        gate_client.request("GET", "/auth/user")
