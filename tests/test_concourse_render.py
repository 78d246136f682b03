"""The Concourse pipelines shiplane renders: golden files, what each job's plan does, variants, hostile values.

Golden files (tests/golden/petclinic/concourse/) were reviewed by eye once and are compared byte for byte. After an
intended change, regenerate them with `SHIPLANE_UPDATE_GOLDEN=1 pytest tests/test_concourse_render.py` and review
the diff.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shiplane import concourse
from shiplane.concourse.lint import lint_data
from shiplane.config import load, load_text
from shiplane.documents import Document
from shiplane.errors import ShiplaneError
from shiplane.model import Fleet
from shiplane.templates import TemplateSet

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "petclinic" / "shiplane.yaml"
GOLDEN = ROOT / "tests" / "golden" / "petclinic" / "concourse"

MINIMAL = {
    "version": 1,
    "harbor": {"url": "https://harbor.example.com", "project": "team"},
    "concourse": {"config_repo": {"uri": "https://git.example.com/fleet.git"}},
    "environments": {"dev": {"image_tag": "latest", "replicas": 1, "storage": "ephemeral"}},
    "clusters": {"dev-1": {"environment": "dev"}},
    "apps": {"web": {"git": {"uri": "https://git.example.com/web.git"}}},
}


def fleet_from(config: dict[str, Any]) -> Fleet:
    return load_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), "fleet.yaml")


def with_(**changes: Any) -> dict[str, Any]:
    """MINIMAL with nested changes: with_(apps__web__build={"goals": "package"})."""
    config = yaml.safe_load(yaml.safe_dump(MINIMAL))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = config
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return config


def rendered(fleet: Fleet, templates: TemplateSet | None = None) -> dict[str, Document]:
    templates = templates or TemplateSet()
    documents = [doc for app in fleet.apps for doc in concourse.render_app(fleet, app, templates)]
    documents += concourse.render_fleet(fleet, templates)
    return {doc.path: doc for doc in documents}


def reparsed(document: Document) -> Any:
    """What Concourse would read: the canonical bytes parsed back."""
    return yaml.safe_load(document.to_bytes())


def job(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    return next(j for j in pipeline["jobs"] if j["name"] == name)


def resource(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in pipeline["resources"] if r["name"] == name)


def step(plan: list[dict[str, Any]], key: str, name: str) -> dict[str, Any]:
    return next(s for s in plan if s.get(key) == name)


def walk(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))


@pytest.fixture(scope="module")
def example() -> Fleet:
    return load(str(EXAMPLE))


@pytest.fixture(scope="module")
def documents(example: Fleet) -> dict[str, Document]:
    return rendered(example)


@pytest.fixture(scope="module")
def pipeline(documents: dict[str, Document]) -> dict[str, Any]:
    return reparsed(documents["concourse/petclinic.yml"])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def meta(documents: dict[str, Document]) -> dict[str, Any]:
    return reparsed(documents["concourse/set-pipelines.yml"])  # type: ignore[no-any-return]


# --- golden files ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["petclinic.yml", "set-pipelines.yml"])
def test_golden_files(documents: dict[str, Document], name: str) -> None:
    data = documents[f"concourse/{name}"].to_bytes()
    golden = GOLDEN / name
    if os.environ.get("SHIPLANE_UPDATE_GOLDEN"):
        golden.write_bytes(data)
    assert data == golden.read_bytes(), f"{name} differs from its golden file; see this module's docstring"


def test_every_rendered_document_is_strictly_valid(documents: dict[str, Document], example: Fleet) -> None:
    for document in documents.values():
        assert document.kind == "concourse-pipeline"
        assert concourse.validate_document(document, example) == []
        assert lint_data(reparsed(document)) == []


def test_rendering_is_deterministic(example: Fleet, documents: dict[str, Document]) -> None:
    again = rendered(example)
    assert {path: doc.to_bytes() for path, doc in again.items()} == {
        path: doc.to_bytes() for path, doc in documents.items()
    }


def test_documents_belong_to_their_app(documents: dict[str, Document]) -> None:
    assert documents["concourse/petclinic.yml"].app == "petclinic"
    assert documents["concourse/set-pipelines.yml"].app is None
    assert documents["concourse/petclinic.yml"].origin == "template concourse/pipeline.yml.j2 (app petclinic)"


# --- the app pipeline: structure ------------------------------------------------------------------------------


def test_resource_types_declare_harbor_image_from_the_config(pipeline: dict[str, Any], example: Fleet) -> None:
    image = example.concourse.harbor_image
    assert image.private  # the example's shiplane project in Harbor is private
    assert pipeline["resource_types"] == [{
        "name": "harbor-image",
        "type": "registry-image",
        "source": {"repository": image.repository, "tag": image.tag, "username": "((harbor-robot-username))",
                   "password": "((harbor-robot-password))"},
    }]


def test_git_resources(pipeline: dict[str, Any], example: Fleet) -> None:
    app = example.app("petclinic")
    source = resource(pipeline, "source")
    assert source["type"] == "git" and source["check_every"] == example.concourse.check_every
    assert source["source"] == {"uri": app.git.uri, "branch": app.git.branch}  # public: no credentials
    release = resource(pipeline, "release-source")
    assert release["type"] == "git"
    # No branch: git-resource then lists tags of every branch (assets/check uses `git tag --merged $branch` only
    # when a branch is set), so a hotfix tag on a maintenance branch is built too.
    assert release["source"] == {"uri": app.git.uri, "tag_regex": app.releases.tag_regex}


def test_release_tags_can_be_limited_to_one_branch() -> None:
    fleet = fleet_from(with_(apps__web__releases={"branch": "main"}))
    release = resource(rendered(fleet)["concourse/web.yml"].content, "release-source")
    assert release["source"]["branch"] == "main"


def test_harbor_image_resources_carry_the_scan_gate(pipeline: dict[str, Any], example: Fleet) -> None:
    harbor = example.harbor
    common = {
        "url": harbor.url,
        "repository": "petclinic/petclinic",
        "username": "((harbor-robot-username))",
        "password": "((harbor-robot-password))",
        "insecure": False,
        "scan": {
            "fail_on": "high",
            "allowlist": [],
            "ignore_unfixed": True,
            "trigger": True,
            "timeout": "10m",
            "enabled": True,
        },
    }
    latest = resource(pipeline, "image-latest")
    assert latest["type"] == "harbor-image" and latest["check_every"] == "never"
    assert latest["source"] == {**common, "tag": "latest"}
    release = resource(pipeline, "image-release")
    assert release["type"] == "harbor-image" and release["check_every"] == "never"
    assert release["source"] == {**common, "semver": True}


def test_every_resource_has_an_icon(pipeline: dict[str, Any], meta: dict[str, Any]) -> None:
    for resource_config in pipeline["resources"] + meta["resources"]:
        assert re.fullmatch(r"[a-z-]+", resource_config["icon"]), resource_config


def test_build_job_builds_every_commit_and_promotes_latest_on_pass(pipeline: dict[str, Any], example: Fleet) -> None:
    build = job(pipeline, "build")
    assert build["serial"] is True
    steps = build["plan"]
    assert [next(iter(s)) for s in steps] == ["get", "load_var", "task", "task", "put"]
    assert steps[0] == {"get": "source", "trigger": True, "version": "every"}
    assert steps[1] == {"load_var": "revision", "file": "source/.git/commit", "format": "trim", "reveal": True}
    maven, image, put = steps[2], steps[3], steps[4]
    _assert_maven(maven, example, ["verify"])
    _assert_jib_build(image, example, version=None)
    assert put == {
        "put": "image-latest",
        "inputs": ["image"],
        # latest (source.tag) and the immutable tag git-<commit> of the build, which the dev trigger fires on
        "params": {"image": "image/image.tar", "version": "git-((.:revision))"},
        "get_params": {"skip_download": True},
    }


def test_release_job_builds_every_release_tag_with_its_version(pipeline: dict[str, Any], example: Fleet) -> None:
    release = job(pipeline, "release")
    steps = release["plan"]
    assert [next(iter(s)) for s in steps] == ["get", "load_var", "load_var", "task", "task", "put"]
    assert steps[0] == {"get": "source", "resource": "release-source", "trigger": True, "version": "every"}
    assert steps[1] == {"load_var": "version", "file": "source/.git/ref", "format": "trim", "reveal": True}
    assert steps[2]["load_var"] == "revision" and steps[2]["file"] == "source/.git/commit"
    _assert_maven(steps[3], example, ["verify"])
    _assert_jib_build(steps[4], example, version="((.:version))")
    assert steps[5] == {
        "put": "image-release",
        "inputs": ["image"],
        "params": {"image": "image/image.tar", "version": "((.:version))"},
        "get_params": {"skip_download": True},
    }


def _assert_maven(task: dict[str, Any], fleet: Fleet, goals: list[str]) -> None:
    image = fleet.concourse.maven_image
    assert task["task"] == "maven" and "privileged" not in task
    config = task["config"]
    assert config["image_resource"] == {"type": "registry-image",
                                        "source": {"repository": image.repository, "tag": image.tag}}
    assert config["inputs"] == [{"name": "source"}] and config["outputs"] == [{"name": "source"}]
    assert config["caches"] == [{"path": ".m2"}]
    run = config["run"]
    assert run["path"] == "sh" and run["args"][0] == "-ec" and run["args"][2:] == ["mvn", *goals]
    script = run["args"][1]
    assert "./mvnw" in script and "--batch-mode" in script
    assert '-Dmaven.repo.local="$MAVEN_USER_HOME/repository"' in script and 'MAVEN_USER_HOME="$PWD/.m2"' in script


def _assert_image_build(task: dict[str, Any], fleet: Fleet, version: str | None, context: str = "source",
                        dockerfile: str = "source/Dockerfile") -> None:
    image = fleet.concourse.oci_build_image
    assert task["task"] == "build-image" and task["privileged"] is True
    config = task["config"]
    assert config["image_resource"]["source"] == {"repository": image.repository, "tag": image.tag}
    assert config["caches"] == [{"path": "cache"}]
    assert config["inputs"] == [{"name": "source"}] and config["outputs"] == [{"name": "image"}]
    assert config["run"] == {"path": "build"}
    params = config["params"]
    assert params["CONTEXT"] == context and params["DOCKERFILE"] == dockerfile
    assert params["LABEL_org.opencontainers.image.revision"] == "((.:revision))"
    assert params.get("LABEL_org.opencontainers.image.version") == version


def _assert_jib_build(task: dict[str, Any], fleet: Fleet, version: str | None) -> None:
    """The example has no Dockerfile: Jib's buildTar by plugin coordinates in the Maven image, no privileges."""
    image = fleet.concourse.maven_image
    assert task["task"] == "build-image" and "privileged" not in task
    config = task["config"]
    assert config["image_resource"]["source"] == {"repository": image.repository, "tag": image.tag}
    assert config["caches"] == [{"path": ".m2"}]
    assert config["inputs"] == [{"name": "source"}] and config["outputs"] == [{"name": "image"}]
    params = config["params"]
    assert params["IMAGE"] == f"harbor.tooling.example.com/petclinic/petclinic:{version or 'latest'}"
    assert params["JIB_VERSION"] == fleet.app("petclinic").build.jib_version
    labels = dict(item.split("=", 1) for item in params["LABELS"].split(","))
    assert labels["org.opencontainers.image.revision"] == "((.:revision))"
    assert labels.get("org.opencontainers.image.version") == version
    script = config["run"]["args"][1]
    assert 'compile "com.google.cloud.tools:jib-maven-plugin:$JIB_VERSION:buildTar"' in script
    assert '-Djib.outputPaths.tar="$out"' in script and 'out="$PWD/image/image.tar"' in script


def test_no_secret_value_is_written(pipeline: dict[str, Any], meta: dict[str, Any]) -> None:
    secret_keys = {"username", "password", "private_key", "access_token", "ca_certs", "webhook_token"}
    seen = set()
    for document in (pipeline, meta):
        for path, value in walk(document):
            if path and path[-1] in secret_keys and not isinstance(value, bool):
                seen.add(path[-1])
                values = value if isinstance(value, list) else [value]
                assert all(re.fullmatch(r"\(\([A-Za-z0-9_.\-/]+\)\)", v) for v in values), (path, value)
    assert {"username", "password", "private_key"} <= seen


# --- the meta pipeline ------------------------------------------------------------------------------------------


def test_meta_pipeline_reconfigures_itself_then_sets_every_app(meta: dict[str, Any], example: Fleet) -> None:
    repo = example.concourse.config_repo
    assert meta["resources"] == [{
        "name": "fleet-config",
        "type": "git",
        "icon": "source-repository",
        "check_every": "1m",
        "source": {"uri": repo.uri, "branch": repo.branch, "paths": ["shiplane.yaml"],
                   "private_key": "((git-private-key))"},
    }]
    self_job = job(meta, "reconfigure-self")
    assert self_job["plan"][0] == {"get": "fleet-config", "trigger": True}
    render = self_job["plan"][1]
    assert render["task"] == "render"
    assert render["config"]["image_resource"]["source"] == {
        "repository": example.concourse.harbor_image.repository,
        "tag": example.concourse.harbor_image.tag,
        "username": "((harbor-robot-username))",
        "password": "((harbor-robot-password))",
    }
    assert render["config"]["run"] == {
        "path": "shiplane", "args": ["render", "fleet-config/shiplane.yaml", "--out", "rendered"]
    }
    assert render["config"]["outputs"] == [{"name": "rendered"}]
    assert self_job["plan"][2] == {"set_pipeline": "self", "file": "rendered/concourse/set-pipelines.yml"}

    apps_job = job(meta, "set-pipelines")
    assert apps_job["plan"][0] == {"get": "fleet-config", "trigger": True, "passed": ["reconfigure-self"]}
    assert apps_job["plan"][1] == render
    assert apps_job["plan"][2] == {
        "across": [{"var": "app", "values": ["petclinic"], "max_in_flight": 10}],
        "set_pipeline": "app",
        "file": "rendered/concourse/((.:app)).yml",
        "instance_vars": {"name": "((.:app))"},
        "team": "petclinic",
    }


def test_meta_pipeline_options() -> None:
    config = with_(
        concourse__config_repo={"uri": "git@git.example.com:platform/fleet.git", "private": True,
                                "path": "fleets/prod.yaml", "templates": "shiplane-templates/"},
        concourse__meta_pipeline={"instance_group": "ship", "max_in_flight": "all"},
    )
    config["apps"]["api"] = {"git": {"uri": "https://git.example.com/api.git"}}
    meta = reparsed(rendered(fleet_from(config))["concourse/set-pipelines.yml"])
    assert meta["resources"][0]["source"]["paths"] == ["fleets/prod.yaml", "shiplane-templates"]
    render = job(meta, "reconfigure-self")["plan"][1]
    assert render["config"]["run"]["args"] == ["render", "fleet-config/fleets/prod.yaml", "--out", "rendered",
                                               "--templates", "fleet-config/shiplane-templates"]
    across = job(meta, "set-pipelines")["plan"][2]
    assert across["across"] == [{"var": "app", "values": ["api", "web"], "max_in_flight": "all"}]
    assert across["set_pipeline"] == "ship"


# --- variants --------------------------------------------------------------------------------------------------


def test_github_releases() -> None:
    config = with_(apps__web__releases={"from": "github-releases", "github": {"owner": "acme", "repository": "web"}},
                   concourse__vars={"github_access_token": "gh-token"})
    pipeline = reparsed(rendered(fleet_from(config))["concourse/web.yml"])
    assert resource(pipeline, "release-source") == {
        "name": "release-source",
        "type": "github-release",
        "icon": "github",
        "check_every": "1m",
        "source": {"owner": "acme", "repository": "web", "access_token": "((gh-token))"},
    }
    steps = job(pipeline, "release")["plan"]
    assert steps[0] == {"get": "release", "resource": "release-source", "trigger": True, "version": "every",
                        "params": {"include_source_tarball": True, "globs": ["none"]}}
    assert steps[1]["file"] == "release/version" and steps[2]["file"] == "release/commit_sha"
    unpack = steps[3]
    assert unpack["task"] == "unpack-source"
    assert unpack["config"]["inputs"] == [{"name": "release"}] and unpack["config"]["outputs"] == [{"name": "source"}]
    assert unpack["config"]["run"] == {
        "path": "tar", "args": ["-xzf", "release/source.tar.gz", "--strip-components=1", "-C", "source"]
    }
    assert [s.get("task") for s in steps[4:6]] == ["maven", "build-image"]
    assert lint_data(pipeline) == []


@pytest.mark.parametrize(
    ("uri", "credentials"),
    [
        ("git@git.example.com:team/web.git", {"private_key": "((git-private-key))"}),
        ("ssh://git@git.example.com/team/web.git", {"private_key": "((git-private-key))"}),
        ("https://git.example.com/team/web.git", {"username": "((git-username))", "password": "((git-password))"}),
    ],
)
def test_private_repositories_get_credentials_as_vars(uri: str, credentials: dict[str, str]) -> None:
    pipeline = reparsed(rendered(fleet_from(with_(apps__web__git={"uri": uri, "private": True})))["concourse/web.yml"])
    for name in ("source", "release-source"):
        source = resource(pipeline, name)["source"]
        assert {key: source[key] for key in credentials} == credentials
        assert not ({"private_key", "username", "password"} - set(credentials)) & set(source)


def test_ssh_uri_without_private_is_rejected() -> None:
    with pytest.raises(ShiplaneError) as caught:
        fleet_from(with_(apps__web__git={"uri": "git@git.example.com:team/web.git"}))
    assert tuple(re.sub(r"^fleet\.yaml:\d+: ", "", p) for p in caught.value.problems) == (
        "apps.web.git.uri: an ssh URI needs a key; set private: true so that the pipeline passes the "
        "private key from the ((git-private-key)) var (or use an https URI for a public repository)",
    )


def test_build_options_and_ca_certs() -> None:
    config = with_(
        apps__web__build={"goals": "clean package -DskipTests", "dockerfile": "docker/app.Dockerfile",
                          "context": "service"},
        harbor__ca_certs_var="harbor-ca",
        harbor__insecure=True,
        harbor__scan={"fail_on": "critical", "allowlist": ["CVE-2024-1"], "enabled": False},
        concourse__check_every="5m",
    )
    fleet = fleet_from(config)
    pipeline = reparsed(rendered(fleet)["concourse/web.yml"])
    steps = job(pipeline, "build")["plan"]
    _assert_maven(steps[2], fleet, ["clean", "package", "-DskipTests"])
    _assert_image_build(steps[3], fleet, None, context="source/service", dockerfile="source/docker/app.Dockerfile")
    latest = resource(pipeline, "image-latest")["source"]
    assert latest["ca_certs"] == ["((harbor-ca))"] and latest["insecure"] is True
    assert latest["scan"] == {"fail_on": "critical", "allowlist": ["CVE-2024-1"], "ignore_unfixed": False,
                              "trigger": True, "timeout": "10m", "enabled": False}
    assert resource(pipeline, "source")["check_every"] == "5m"
    assert lint_data(pipeline) == []


# --- hostile values -------------------------------------------------------------------------------------------

HOSTILE = "\"'`:#{}[],&*!|>%@?-= \\/ü🚀\u2028\t"


def _hostile_config(field: str, text: str) -> dict[str, Any]:
    if field == "tag_regex":
        return with_(apps__web__releases={"tag_regex": text})
    if field == "uri":
        return with_(apps__web__git={"uri": f"https://git.example.com/{text}.git"})
    if field == "branch":
        return with_(apps__web__git={"uri": "https://git.example.com/web.git", "branch": f"feature/{text}"})
    return with_(apps__web__build={"dockerfile": f"d/{text}"})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["tag_regex", "uri", "branch", "dockerfile"]),
    st.text(alphabet=HOSTILE + string.ascii_letters + "\n", min_size=1, max_size=20),
)
def test_hostile_values_are_written_exactly_or_rejected(field: str, text: str) -> None:
    try:
        fleet = fleet_from(_hostile_config(field, text))
    except ShiplaneError as exc:  # rejected by the config, with a message naming the field
        assert all(re.match(r"fleet\.yaml:\d+: apps\.web\.", problem) for problem in exc.problems), exc.problems
        return
    app = fleet.app("web")
    document = rendered(fleet)["concourse/web.yml"]
    pipeline = reparsed(document)
    assert resource(pipeline, "release-source")["source"]["tag_regex"] == app.releases.tag_regex
    assert resource(pipeline, "source")["source"] == {"uri": app.git.uri, "branch": app.git.branch}
    build = step(job(pipeline, "build")["plan"], "task", "build-image")
    assert build["config"]["params"]["DOCKERFILE"] == f"source/{app.build.dockerfile}"
    assert lint_data(pipeline) == []


@pytest.mark.parametrize("value", ["y", "n", "Y", "N", "yes", "off", "1e5", "0755", "1.0", "null", "true",
                                   "2024-01-01", "0x1F", "-1", ".inf"])
def test_strings_that_look_like_other_types_stay_strings(value: str) -> None:
    # Concourse reads pipelines with Go's yaml.v2, where y/n are booleans and 1e5 a number: they must be quoted.
    config = with_(apps__web__git={"uri": "https://git.example.com/web.git", "branch": value})
    document = rendered(fleet_from(config))["concourse/web.yml"]
    text = document.to_bytes().decode()
    assert f"    branch: '{value}'\n" in text
    assert resource(reparsed(document), "source")["source"]["branch"] == value


def test_var_syntax_in_a_value_is_rejected_by_the_config() -> None:
    with pytest.raises(ShiplaneError) as caught:
        fleet_from(with_(apps__web__releases={"tag_regex": "^v((evil))$"}))
    assert tuple(re.sub(r"^fleet\.yaml:\d+: ", "", p) for p in caught.value.problems) == (
        "apps.web.releases.tag_regex: contains '((' which Concourse would read as a ((var)) "
        "reference; remove it (secrets are named under concourse.vars and shiplane writes the references itself)",
    )


def test_credentials_in_a_git_uri_are_rejected() -> None:
    with pytest.raises(ShiplaneError) as caught:
        fleet_from(with_(apps__web__git={"uri": "https://bot:s3cret@git.example.com/web.git"}))
    (problem,) = caught.value.problems
    assert "apps.web.git.uri: contains a password" in problem and "s3cret" not in problem


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("tag_regex", 'it\'s "quoted": #not-a-comment'),
        ("tag_regex", "ü🚀\u2028end"),  # a newline or tab is refused: grep -E reads each line as a pattern
        ("tag_regex", "- [x] {y} & *z | >w"),
        ("uri", 'a"b\'c:#{x}[y]ü'),
        ("branch", "ü'\"#&!@%"),
        ("dockerfile", "it's:#\"x\"ü"),
    ],
)
def test_hostile_examples_are_accepted_and_written_exactly(field: str, text: str) -> None:
    # The same check as the property test, on values the config accepts (so the test cannot pass by rejection).
    fleet = fleet_from(_hostile_config(field, text))
    app = fleet.app("web")
    pipeline = reparsed(rendered(fleet)["concourse/web.yml"])
    assert resource(pipeline, "release-source")["source"]["tag_regex"] == app.releases.tag_regex
    assert resource(pipeline, "source")["source"] == {"uri": app.git.uri, "branch": app.git.branch}
    build = step(job(pipeline, "build")["plan"], "task", "build-image")
    assert build["config"]["params"]["DOCKERFILE"] == f"source/{app.build.dockerfile}"
    assert any(text in value for value in (app.releases.tag_regex, app.git.uri, app.git.branch, app.build.dockerfile))
    assert lint_data(pipeline) == []


def test_public_task_images_are_pulled_anonymously_and_private_ones_with_the_harbor_vars() -> None:
    config = with_(concourse__images={"maven": {"repository": "harbor.example.com/library/maven", "tag": "3"},
                                      "oci_build": {"repository": "harbor.example.com/tools/oci-build",
                                                    "private": True}})
    pipeline = reparsed(rendered(fleet_from(config))["concourse/web.yml"])
    build = job(pipeline, "build")["plan"]
    assert step(build, "task", "maven")["config"]["image_resource"]["source"] == {
        "repository": "harbor.example.com/library/maven", "tag": "3"
    }
    assert step(build, "task", "build-image")["config"]["image_resource"]["source"] == {
        "repository": "harbor.example.com/tools/oci-build",
        "tag": "latest",
        "username": "((harbor-username))",
        "password": "((harbor-password))",
    }
    assert pipeline["resource_types"][0]["source"] == {"repository": "ghcr.io/shiplane/harbor-image", "tag": "0.1.0"}
