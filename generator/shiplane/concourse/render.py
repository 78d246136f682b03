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
from shiplane.model import App, Build, Fleet, Image
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


def git_source(uri: str, branch: str | None, private: bool, fleet: Fleet) -> dict[str, str]:
    """git-resource `source:` keys for a repository; credentials as ((vars)) only when the repository is private.

    Without `branch`, git-resource follows the remote HEAD and, with `tag_regex`, lists the tags of every branch
    (concourse/git-resource assets/check: `git tag --merged $branch` only when a branch is set).
    """
    source = {"uri": uri}
    if branch is not None:
        source["branch"] = branch
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
                **git_source(app.git.uri, releases.branch, app.git.private, fleet),
                "tag_regex": releases.tag_regex,
            },
        }
    labels = {"org.opencontainers.image.source": app.git.uri}
    images = {
        "maven": _image(concourse.maven_image, fleet),
        "oci_build": _image(concourse.oci_build_image, fleet),
        "harbor_image": _image(concourse.harbor_image, fleet),
        "gradle": _image(concourse.gradle_image, fleet),
    }
    return {
        "app": {
            "name": app.name,
            "repository": app.repository,
            "image": app.image_name(fleet.harbor),
            "team": app.concourse_team,
        },
        "check_every": concourse.check_every,
        "git": git_source(app.git.uri, app.git.branch, app.git.private, fleet),
        "release": release,
        "harbor": harbor_context(fleet, app),
        "images": images,
        "build": {
            "tool": build.tool,
            "goals": build.goals.split(),
            "context": context_dir,
            "dockerfile": f"{SOURCE}/{build.dockerfile}",
            "labels": labels,
            "test_task": _test_task(build),
            "test_command": build.test_command,
            "test_image": _image(build.test_image, fleet) if build.test_image is not None else None,
            "cache": TOOL_CACHES.get(build.tool),
            "image_builder": build.image_builder,
            "jib": {"version": build.jib_version, "from_image": build.jib_from_image},
            "jib_labels": ",".join(f"{name}={value}" for name, value in sorted(labels.items())),
        },
        "notify": notify_context(fleet, app),
        **deploy_context(fleet, app),
    }


TOOL_CACHES = {"maven": ".m2", "gradle": ".gradle"}
"""The task cache of each build tool (Maven's local repository and wrapper downloads; GRADLE_USER_HOME)."""


def _test_task(build: Build) -> str | None:
    """Name of the task that tests the app (the tool's name, `test` for a plain test command), None: no such task."""
    if build.test_image is None:
        return None
    return build.tool if build.tool != "none" else "test"


def notify_context(fleet: Fleet, app: App) -> dict[str, Any] | None:
    """Resources that tell the app's team about failed and errored builds; None when the team has no target.

    Slack: arbourd/concourse-slack-alert-resource (`source.url` the webhook, `params.alert_type` failed/errored;
    its message links the build from Concourse's resource metadata). E-mail: pivotal-cf/email-resource
    (`source.smtp` with `port` as a string, `to` a list; `subject_text`/`body_text` expand ${BUILD_*} and
    ${ATC_EXTERNAL_URL} in out/out.go). Credentials only as ((vars)).
    """
    notifications = app.notifications
    if not notifications.enabled:
        return None
    names = fleet.concourse.vars
    context: dict[str, Any] = {"slack": None, "email": None}
    if notifications.slack_channel is not None:
        slack: dict[str, Any] = {"url": var(names.slack_webhook_url), "channel": f"#{notifications.slack_channel}"}
        if fleet.concourse.external_url:
            slack["concourse_url"] = fleet.concourse.external_url
        context["slack"] = {"image": _image(fleet.concourse.slack_alert_image, fleet), "source": slack}
    smtp = fleet.concourse.smtp
    if notifications.email and smtp is not None:
        server: dict[str, Any] = {"host": smtp.host, "port": str(smtp.port)}
        if smtp.anonymous:
            server["anonymous"] = True
        else:
            server["username"] = var(names.smtp_username)
            server["password"] = var(names.smtp_password)
        context["email"] = {
            "image": _image(fleet.concourse.email_image, fleet),
            "source": {"smtp": server, "from": smtp.sender, "to": list(notifications.email)},
        }
    return context


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
        "team_apps": team_apps(fleet),
        "instance_group": concourse.meta_pipeline.instance_group,
        "max_in_flight": concourse.meta_pipeline.max_in_flight,
        "pipeline_file": "rendered/concourse/((.:app)).yml",
        "self_file": f"rendered/{META_PIPELINE_PATH}",
        "reconcile": reconcile_context(fleet),
    }


def reconcile_context(fleet: Fleet) -> dict[str, Any] | None:
    """The plan and apply jobs' commands and ((var)) params, or None when `meta_pipeline.reconcile` is off.

    plan exits 2 when something would change; the job runs it through `sh` so that only 1 (an error) fails it.
    """
    settings = fleet.concourse.meta_pipeline.reconcile
    if not settings.enabled:
        return None
    repo = fleet.concourse.config_repo
    common = [f"fleet-config/{repo.path}", "--prune"]
    for target in settings.targets:
        common += ["--target", target]
    if repo.templates:
        common += ["--templates", f"fleet-config/{repo.templates.rstrip('/')}"]
    params: dict[str, str] = {}
    if "spinnaker" in settings.targets:
        params["SHIPLANE_SPIN_CONFIG"] = var(settings.spin_config_var)
    if "harbor" in settings.targets:
        params["HARBOR_USERNAME"] = var(settings.harbor_username_var)
        params["HARBOR_PASSWORD"] = var(settings.harbor_password_var)
    return {
        "plan_args": ["-c", 'shiplane plan "$@" || test "$?" -eq 2', "shiplane-plan", *common],
        "apply_args": ["apply", *common],
        "params": params,
        "apply_trigger": settings.apply == "automatic",
    }


def team_apps(fleet: Fleet) -> list[dict[str, Any]]:
    """`[{team, apps}]`: the apps whose pipelines are set in each Concourse team, teams sorted, the meta pipeline's
    own team first. Setting another team's pipeline needs the meta pipeline in `main` (checked by the loader)."""
    grouped: dict[str, list[str]] = {}
    for app in fleet.apps:
        grouped.setdefault(app.concourse_team, []).append(app.name)
    own = fleet.concourse.team
    order = sorted(grouped, key=lambda team: (team != own, team))
    return [{"team": team, "apps": grouped[team]} for team in order]


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
