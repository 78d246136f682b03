"""`shiplane plan`/`apply` as users run them (a subprocess): exit codes, stdout/stderr, spin config, the meta
pipeline's plan and apply jobs."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fixtures.tls import TestCA, make_client_cert
from gate_double import GateDouble
from harbor_double import HarborDouble
from reconcile_support import EXAMPLE, GATE_PASSWORD, GATE_USER, fleet_config, spin_config
from shiplane import config
from shiplane.concourse import render as concourse_render
from shiplane.errors import ShiplaneError
from shiplane.reconcile import spinconfig
from shiplane.templates import TemplateSet


def shiplane(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {key: value for key, value in os.environ.items() if not key.startswith(("HARBOR_", "SHIPLANE_"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "shiplane", *args], capture_output=True, text=True, env=full_env,
                          timeout=120, check=False)


def test_exit_codes_are_2_with_changes_0_without_and_1_on_error(tmp_path: Path, harbor_api: HarborDouble) -> None:
    harbor_api.reset()
    with GateDouble() as gate:
        gate.add_user(GATE_USER, password=GATE_PASSWORD, admin=True)
        cfg = fleet_config(tmp_path, harbor_api)
        spin = spin_config(tmp_path, gate)
        env = {"HARBOR_USERNAME": "admin", "HARBOR_PASSWORD": "Harbor12345", "GATE_PASSWORD": GATE_PASSWORD}
        common = [str(cfg), "--spin-config", str(spin)]
        plan = shiplane("plan", *common, env=env)
        assert plan.returncode == 2, plan.stderr
        assert "Plan: 10 to create" in plan.stdout
        assert shiplane("apply", *common, "--dry-run", env=env).returncode == 2
        applied = shiplane("apply", *common, "--secrets-dir", str(tmp_path / "s"), env=env)
        assert applied.returncode == 0, applied.stderr
        done = shiplane("plan", *common, "--json", env=env)
        assert done.returncode == 0
        assert yaml.safe_load(done.stdout)["summary"] == {"create": 0, "update": 0, "delete": 0}
        wrong = shiplane("plan", *common, env={**env, "GATE_PASSWORD": "not-it-at-all"})
        assert wrong.returncode == 1 and wrong.stdout == ""
        assert "Gate refused the credentials (401" in wrong.stderr and "not-it-at-all" not in wrong.stderr
        assert len(wrong.stderr.strip().splitlines()) == 1


def test_missing_harbor_credentials_is_one_clear_line(tmp_path: Path, harbor_api: HarborDouble) -> None:
    cfg = fleet_config(tmp_path, harbor_api)
    result = shiplane("plan", str(cfg), "--target", "harbor")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == ("shiplane: Harbor credentials: set HARBOR_USERNAME and HARBOR_PASSWORD (a Harbor "
                                     "administrator), give --harbor-credentials FILE, or leave Harbor out with "
                                     "--target spinnaker")


def test_harbor_credentials_file(tmp_path: Path, harbor_api: HarborDouble) -> None:
    harbor_api.reset()
    cfg = fleet_config(tmp_path, harbor_api)
    credentials = tmp_path / "harbor.yml"
    credentials.write_text("username: admin\npassword: Harbor12345\n")
    result = shiplane("plan", str(cfg), "--target", "harbor", "--harbor-credentials", str(credentials))
    assert result.returncode == 2 and "+ harbor project petclinic" in result.stdout


def test_bad_target_is_a_usage_error() -> None:
    result = shiplane("plan", str(EXAMPLE), "--target", "jenkins")
    assert result.returncode == 2 and result.stdout == ""
    assert "--target" in result.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
def test_timeout_must_be_finite_and_positive(value: str) -> None:
    # nan/inf passed `<= 0` and made every deadline (Gate, Harbor, Orca task waits) unbounded
    result = shiplane("plan", str(EXAMPLE), f"--timeout={value}")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--timeout" in result.stderr and "finite" in result.stderr


# --- spin config ----------------------------------------------------------------------------------------------

def test_spin_config_basic_auth_with_env_expansion(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("gate:\n  endpoint: https://gate.example.com:8084\nauth:\n  enabled: true\n  basic:\n"
                    "    username: bot\n    password: ${PW}\n")
    settings = spinconfig.load(str(path), None, {"PW": "s3cret"})
    assert settings.url == "https://gate.example.com:8084"
    assert (settings.auth.username, settings.auth.password) == ("bot", "s3cret")
    assert spinconfig.load(str(path), "http://127.0.0.1:1", {"PW": "x"}).url == "http://127.0.0.1:1"


def test_spin_config_disabled_auth_is_anonymous_and_no_file_is_spins_default(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("gate:\n  endpoint: http://gate:8084\nauth:\n  enabled: false\n  basic:\n"
                    "    username: bot\n    password: pw\n")
    assert spinconfig.load(str(path), None, {}).auth.header() is None
    default = spinconfig.load(None, None, {}, home=tmp_path)
    assert default.url == "http://localhost:8084" and default.auth.header() is None


def test_spin_config_from_the_environment_and_x509_inline(tmp_path: Path, test_ca: TestCA) -> None:
    cert, key = make_client_cert(test_ca, "deploy-bot")
    text = yaml.safe_dump({"gate": {"endpoint": "https://gate:8085"},
                           "auth": {"enabled": True, "x509": {"cert": cert, "key": key}}})
    settings = spinconfig.load(None, None, {"SHIPLANE_SPIN_CONFIG": text})
    assert settings.auth.client_cert == cert and settings.auth.client_key == key
    assert settings.source == "$SHIPLANE_SPIN_CONFIG"


def test_x509_from_paths_against_the_tls_gate_double(tmp_path: Path, test_ca: TestCA) -> None:
    cert, key = make_client_cert(test_ca, "deploy-bot")
    (tmp_path / "c.pem").write_text(cert)
    (tmp_path / "k.pem").write_text(key)
    tls = (str(test_ca.server_cert), str(test_ca.server_key), str(test_ca.ca_file))
    with GateDouble(tls) as gate:
        gate.add_user("deploy-bot", cert_cn="deploy-bot", admin=True)
        spin = tmp_path / "spin"
        spin.write_text(yaml.safe_dump({"gate": {"endpoint": gate.url}, "auth": {"enabled": True, "x509": {
            "certPath": str(tmp_path / "c.pem"), "keyPath": str(tmp_path / "k.pem")}}}))
        result = shiplane("plan", str(EXAMPLE), "--target", "spinnaker", "--spin-config", str(spin),
                          "--gate-ca", str(test_ca.ca_file))
    assert result.returncode == 2, result.stderr
    assert "+ spinnaker pipeline petclinic/deploy-dev" in result.stdout
    assert [entry.user for entry in gate.log] == ["deploy-bot"] * len(gate.log)


@pytest.mark.parametrize(("text", "message"), [
    ("gate:\n  endpoint: http://g\n  proxy: x\n", "unknown setting gate.proxy"),
    ("auth:\n  enabled: true\n  ldap:\n    username: u\n", "auth.ldap is not supported"),
    ("auth:\n  enabled: true\n  x509:\n    certPath: /nope\n", "auth.x509 must give certPath and keyPath"),
    ("auth:\n  enabled: true\n  oauth2:\n    clientId: x\n", "no cachedToken.access_token"),
    ("gate:\n  endpoint: gate:8084\n", "is not an http(s) URL"),
    ("gate: [\n", "not valid YAML at line"),
])
def test_bad_spin_configs_are_one_line_naming_the_setting(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(ShiplaneError) as caught:
        spinconfig.load(str(path), None, {})
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("where", ["--gate-url", "gate.endpoint"])
def test_credentials_in_the_gate_url_are_refused_and_never_echoed(tmp_path: Path, where: str) -> None:
    url = "http://deployer:Url-Pw-Secret-1@127.0.0.1:1/"
    path = tmp_path / "config"
    path.write_text(f"gate:\n  endpoint: {url}\n" if where == "gate.endpoint" else "")
    with pytest.raises(ShiplaneError) as caught:
        spinconfig.load(str(path), url if where == "--gate-url" else None, {})
    text = str(caught.value)
    assert where in text and "must not contain credentials" in text and "\n" not in text
    assert "Url-Pw-Secret-1" not in text


def test_spin_config_errors_never_echo_a_password(tmp_path: Path) -> None:
    path = tmp_path / "config"
    secret = base64.b64encode(b"pw").decode() + "-Very-Secret"
    path.write_text(f"auth:\n  enabled: true\n  basic:\n    username: u\n    password: {secret}\n  bogus: 1\n")
    with pytest.raises(ShiplaneError) as caught:
        spinconfig.load(str(path), None, {})
    assert secret not in str(caught.value)


# --- the meta pipeline ----------------------------------------------------------------------------------------

def meta_jobs(tmp_path: Path, reconcile: dict[str, object] | None) -> dict[str, dict[str, object]]:
    data = yaml.safe_load(EXAMPLE.read_text())
    if reconcile is not None:
        data["concourse"]["meta_pipeline"] = {"reconcile": reconcile}
    path = tmp_path / "shiplane.yaml"
    path.write_text(yaml.safe_dump(data))
    fleet = config.load(str(path))
    document = concourse_render.meta_pipeline(fleet, TemplateSet(None))
    from shiplane import render

    render.validate(document, fleet)  # the Concourse linter accepts it
    return {job["name"]: job for job in document.content["jobs"]}


def test_meta_pipeline_plans_then_applies_with_prune_and_vars_only(tmp_path: Path) -> None:
    assert set(meta_jobs(tmp_path, None)) == {"reconfigure-self", "set-pipelines"}  # off by default
    jobs = meta_jobs(tmp_path, {"enabled": True})
    plan_task = jobs["plan"]["plan"][1]["config"]  # type: ignore[index]
    apply_step = jobs["apply"]["plan"]  # type: ignore[index]
    assert plan_task["run"]["path"] == "sh"
    assert plan_task["run"]["args"][:2] == ["-c", 'shiplane plan "$@" || test "$?" -eq 2']
    assert plan_task["run"]["args"][3:5] == ["fleet-config/shiplane.yaml", "--prune"]
    assert apply_step[0] == {"get": "fleet-config", "trigger": True, "passed": ["plan"]}
    assert apply_step[1]["config"]["run"]["args"][:3] == ["apply", "fleet-config/shiplane.yaml", "--prune"]
    assert apply_step[1]["config"]["params"] == {"SHIPLANE_SPIN_CONFIG": "((spin-config))",
                                                 "HARBOR_USERNAME": "((harbor-admin-username))",
                                                 "HARBOR_PASSWORD": "((harbor-admin-password))"}


def test_manual_apply_has_no_trigger_and_targets_narrow_the_vars(tmp_path: Path) -> None:
    jobs = meta_jobs(tmp_path, {"enabled": True, "apply": "manual", "targets": ["spinnaker"]})
    apply_step = jobs["apply"]["plan"]  # type: ignore[index]
    assert apply_step[0]["trigger"] is False
    assert apply_step[1]["config"]["params"] == {"SHIPLANE_SPIN_CONFIG": "((spin-config))"}
    assert apply_step[1]["config"]["run"]["args"][3:] == ["--target", "spinnaker"]


def test_the_plan_jobs_shell_only_fails_on_exit_1() -> None:
    script = 'shiplane() { return "$CODE"; }; shiplane plan "$@" || test "$?" -eq 2'
    for code, expected in (("0", 0), ("2", 0), ("1", 1)):
        result = subprocess.run(["sh", "-c", script, "x"], env={"CODE": code}, check=False)
        assert result.returncode == expected, code


def test_every_plan_and_apply_option_is_documented() -> None:
    from shiplane.cli import _parser

    text = (EXAMPLE.parent.parent.parent / "docs" / "plan-apply.md").read_text(encoding="utf-8")
    choices = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in ("plan", "apply"):
        for action in choices[command]._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert f"`{option}" in text, f"{command} {option} is not in docs/plan-apply.md"
