"""The outputs that merge shiplane's accounts into an existing Spinnaker: the Halyard script (run for real by `sh`
against a recording `hal`) and the Operator JSON Patch (applied by the `jsonpatch` library, RFC 6902, as kustomize's
evanphx/json-patch does)."""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
from spinnaker_support import documents, fleet_from

FLEET = fleet_from(spinnaker={"version": "1.36.0", "owner_email": "team@example.com", "registry_account_size": 1})


def _hal(tmp_path: Path, existing: set[str]) -> Path:
    """A `hal` that records its arguments; `account get NAME` succeeds only for `existing` accounts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hal = bin_dir / "hal"
    hal.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(tmp_path / 'calls.jsonl')!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"existing = {sorted(existing)!r}\n"
        "if sys.argv[-2:-1] == ['get']: raise SystemExit(0 if sys.argv[-1] in existing else 1)\n",
        encoding="utf-8",
    )
    hal.chmod(hal.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def test_the_halyard_script_adds_only_missing_accounts_with_the_flags_halyard_defines(tmp_path: Path) -> None:
    script = tmp_path / "halyard-accounts.sh"
    script.write_bytes(documents(FLEET)["spinnaker/halyard-accounts.sh"].to_bytes())
    bin_dir = _hal(tmp_path, existing={"k8s-dev-b"})
    done = subprocess.run(["sh", str(script)], env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text(encoding="utf-8").splitlines()]
    adds = {call[5]: call[6:] for call in calls if call[3:5] == ["account", "add"]}
    assert "k8s-dev-b" not in adds  # it exists: left as it is
    assert sorted(adds) == ["dev-a", "harbor", "prod-ap-3", "prod-eu-1", "prod-eu-2", "prod-us-1"]
    assert adds["harbor"] == [
        "--address=https://harbor.example.com", "--username=robot$team+spinnaker",  # no shell expansion of $team
        "--password-file=/home/spinnaker/.harbor/password", "--repositories=team/web",
        "--cache-interval-seconds=30", "--cache-threads=1",
    ]
    assert adds["prod-eu-1"] == ["--context=prod-eu-1", "--kubeconfig-file=/home/spinnaker/.kube/prod-eu-1.yml",
                                 "--namespaces=web-eu", "--only-spinnaker-managed=true"]
    assert ["config", "provider", "docker-registry", "enable"] in calls
    assert ["config", "provider", "kubernetes", "enable"] in calls


SERVICE: dict[str, Any] = {
    "apiVersion": "spinnaker.io/v1alpha2",
    "kind": "SpinnakerService",
    "metadata": {"name": "spinnaker"},
    "spec": {"spinnakerConfig": {
        "config": {"providers": {
            "dockerRegistry": {"enabled": False,
                               "accounts": [{"name": "dockerhub", "address": "https://index.docker.io"}]},
            "kubernetes": {"enabled": True, "accounts": [{"name": "spinnaker-itself", "kubeconfigFile": "/k"}]},
        }},
        "profiles": {"igor": {"spinnaker": {"build": {"poll": {"interval": 60}}}}},
    }},
}


def test_the_operator_patch_appends_and_keeps_the_accounts_already_there() -> None:
    patch = documents(FLEET)["spinnaker/operator-accounts-patch.yml"].content
    patched = jsonpatch.apply_patch(SERVICE, patch)
    providers = patched["spec"]["spinnakerConfig"]["config"]["providers"]
    assert [a["name"] for a in providers["dockerRegistry"]["accounts"]] == ["dockerhub", "harbor"]
    assert providers["kubernetes"]["accounts"][0]["name"] == "spinnaker-itself"
    assert len(providers["kubernetes"]["accounts"]) == 1 + 6
    assert providers["dockerRegistry"]["enabled"] is True
    igor = patched["spec"]["spinnakerConfig"]["profiles"]["igor"]
    assert igor["spinnaker"] == SERVICE["spec"]["spinnakerConfig"]["profiles"]["igor"]["spinnaker"]  # kept
    assert igor["dockerRegistry"] == {"enabled": True, "itemUpperThreshold": 1000}


def test_the_operator_patch_needs_the_sections_it_appends_to() -> None:
    bare = copy.deepcopy(SERVICE)
    del bare["spec"]["spinnakerConfig"]["profiles"]
    patch = documents(FLEET)["spinnaker/operator-accounts-patch.yml"].content
    with pytest.raises((jsonpatch.JsonPatchConflict, jsonpatch.JsonPointerException)):
        jsonpatch.apply_patch(bare, patch)  # docs/spinnaker.md: add `profiles: {igor: {}}` first
