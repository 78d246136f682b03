"""Concourse documents: the template context built from the model, and the rendered pipelines.

The templates never see the model: they get plain dicts of strings, numbers and booleans built here, each key
documented in docs/concourse.md ("Template context"), so that a team overriding a template has
a stable contract. Secrets appear in the context only as `((var))` references built from the var *names* in
`concourse.vars`; shiplane never knows a secret value.
"""

from __future__ import annotations

import re
from typing import Any

from shiplane.documents import Document
from shiplane.errors import ShiplaneError
from shiplane.model import App, Fleet, Image
from shiplane.templates import TemplateSet

PIPELINE_TEMPLATE = "concourse/pipeline.yml.j2"
META_TEMPLATE = "concourse/set-pipelines.yml.j2"
META_PIPELINE_PATH = "concourse/set-pipelines.yml"

# Names inside every app pipeline (resources, artifacts): fixed, so every app's pipeline reads the same.
SOURCE = "source"
"""The get step (artifact) holding the app's source checkout in both jobs."""

_SSH_URI = re.compile(r"^(ssh://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)")


def var(name: str) -> str:
    """A Concourse ((var)) reference to the credential named `name`."""
    return f"(({name}))"


def pipeline_path(app: str) -> str:
    return f"concourse/{app}.yml"


def _image(image: Image, fleet: Fleet) -> dict[str, str]:
    """registry-image `source:` of a task or resource type image; Harbor credentials as ((vars)) when private."""
    source = {"repository": image.repository, "tag": image.tag}
    if image.private:
        source["username"] = var(fleet.concourse.vars.harbor_username)
        source["password"] = var(fleet.concourse.vars.harbor_password)
    return source


def git_source(uri: str, branch: str, private: bool, fleet: Fleet) -> dict[str, str]:
    """git-resource `source:` keys for a repository; credentials as ((vars)) only when the repository is private."""
    source = {"uri": uri, "branch": branch}
    if private:
        names = fleet.concourse.vars
        if _SSH_URI.match(uri):
            source["private_key"] = var(names.git_private_key)
        else:
            source["username"] = var(names.git_username)
            source["password"] = var(names.git_password)
    return source


def harbor_context(fleet: Fleet, app: App) -> dict[str, Any]:
    """The harbor-image `source:` keys shared by both image resources of `app` (tag selection added by the template)."""
    harbor = fleet.harbor
    names = fleet.concourse.vars
    return {
        "url": harbor.url,
        "repository": app.repository,
        "username": var(names.harbor_username),
        "password": var(names.harbor_password),
        "insecure": harbor.insecure,
        "ca_certs": var(harbor.ca_certs_var) if harbor.ca_certs_var else None,
        "scan": harbor.scan.as_source(),
    }


def pipeline_context(fleet: Fleet, app: App) -> dict[str, Any]:
    """Everything `concourse/pipeline.yml.j2` may use, as plain data."""
    concourse = fleet.concourse
    releases = app.releases
    build = app.build
    context_dir = SOURCE if build.context in (".", "") else f"{SOURCE}/{build.context.rstrip('/')}"
    if releases.source == "github-releases":
        release: dict[str, Any] = {
            "from": "github-releases",
            "source": {
                "owner": releases.github_owner,
                "repository": releases.github_repository,
                "access_token": var(concourse.vars.github_access_token),
            },
        }
    else:
        release = {
            "from": "git-tags",
            "source": {
                **git_source(app.git.uri, app.git.branch, app.git.private, fleet),
                "tag_regex": releases.tag_regex,
            },
        }
    return {
        "app": {"name": app.name, "repository": app.repository, "image": app.image_name(fleet.harbor)},
        "check_every": concourse.check_every,
        "git": git_source(app.git.uri, app.git.branch, app.git.private, fleet),
        "release": release,
        "harbor": harbor_context(fleet, app),
        "images": {
            "maven": _image(concourse.maven_image, fleet),
            "oci_build": _image(concourse.oci_build_image, fleet),
            "harbor_image": _image(concourse.harbor_image, fleet),
        },
        "build": {
            "tool": build.tool,
            "goals": build.goals.split(),
            "context": context_dir,
            "dockerfile": f"{SOURCE}/{build.dockerfile}",
            "labels": {"org.opencontainers.image.source": app.git.uri},
        },
        **deploy_context(fleet, app),
    }


def deploy_context(fleet: Fleet, app: App) -> dict[str, Any]:
    """``deploys`` and ``spinnaker_gate`` of the pipeline context: one entry per environment of ``app`` whose deploy
    Concourse triggers (``concourse_deploy.enabled``); empty lists/None when none does (the default)."""
    settings = fleet.concourse_deploy
    deploys = []
    smoke = settings.smoke_test(app.name)
    for deployment in app.deployments:
        environment = deployment.environment
        if not settings.enabled(environment.name):
            continue
        job = "build" if environment.image_tag == "latest" else "release"
        deploys.append({
            "environment": environment.name,
            "resource": f"deploy-{environment.name}",
            "pipeline": f"deploy-{environment.name}",
            "job": job,
            "image_resource": "image-latest" if job == "build" else "image-release",
            "registry": fleet.harbor.registry,
            "timeout": settings.timeout(environment.name),
            "namespaces": sorted({cluster.namespace for cluster in deployment.clusters}),
            "smoke_test": None if smoke is None else {
                "job": f"smoke-test-{environment.name}",
                "command": smoke.command,
                "image": _image(smoke.image or fleet.concourse.maven_image, fleet),
            },
        })
    gate = None
    if deploys:
        gate = {
            "url": settings.gate_url,
            "deck_url": settings.deck_url,
            "username": var(settings.username_var),
            "password": var(settings.password_var),
            "image": _image(settings.image, fleet),
        }
    return {"deploys": deploys, "spinnaker_gate": gate}


def meta_context(fleet: Fleet) -> dict[str, Any]:
    """Everything `concourse/set-pipelines.yml.j2` may use, as plain data."""
    concourse = fleet.concourse
    repo = concourse.config_repo
    paths = [repo.path] + ([repo.templates.rstrip("/")] if repo.templates else [])
    render_args = ["render", f"fleet-config/{repo.path}", "--out", "rendered"]
    if repo.templates:
        render_args += ["--templates", f"fleet-config/{repo.templates.rstrip('/')}"]
    return {
        "team": concourse.team,
        "check_every": concourse.check_every,
        "config_repo": {**git_source(repo.uri, repo.branch, repo.private, fleet), "paths": paths},
        "render_args": render_args,
        "images": {"harbor_image": _image(concourse.harbor_image, fleet)},
        "apps": [app.name for app in fleet.apps],
        "instance_group": concourse.meta_pipeline.instance_group,
        "max_in_flight": concourse.meta_pipeline.max_in_flight,
        "pipeline_file": "rendered/concourse/((.:app)).yml",
        "self_file": f"rendered/{META_PIPELINE_PATH}",
    }


def _document(
    templates: TemplateSet, template: str, context: dict[str, Any], *, path: str, what: str, app: str | None
) -> Document:
    content = templates.render_data(template, context, what)
    origin = f"{templates.describe(template)} ({what})"
    if not isinstance(content, dict):
        raise ShiplaneError(f"{origin}: renders {type(content).__name__}, not a pipeline mapping; fix the template")
    return Document(path=path, kind="concourse-pipeline", content=content, origin=origin, app=app)


def pipeline(fleet: Fleet, app: App, templates: TemplateSet) -> Document:
    """`concourse/<app>.yml`: build on every commit, release on every release tag."""
    context = pipeline_context(fleet, app)
    return _document(
        templates, PIPELINE_TEMPLATE, context, path=pipeline_path(app.name), what=f"app {app.name}", app=app.name
    )


def meta_pipeline(fleet: Fleet, templates: TemplateSet) -> Document:
    """`concourse/set-pipelines.yml`: renders the fleet config and sets every app's pipeline (and itself)."""
    context = meta_context(fleet)
    return _document(templates, META_TEMPLATE, context, path=META_PIPELINE_PATH, what="the meta pipeline", app=None)
