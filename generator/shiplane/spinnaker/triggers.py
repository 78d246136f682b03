"""How a deploy pipeline gets its image: the trigger variants, swappable per environment.

A variant returns the pipeline's image expected artifact and its triggers. The stages only refer to the artifact
by id (`requiredArtifactIds`), so a variant changes nothing else in the pipeline. Variants by name are in
`VARIANTS`; `variant_of` picks one per environment (today every environment uses `docker`).

`docker`: igor polls the registry account that lists the app's repository, Echo fires on a new tag that matches
`tag` (Java regex, whole-string match: echo `DockerEventMonitor`/`TriggerMatchers`) and binds the artifact
`docker/image` `<registry>/<repository>:<tag>` (version = the tag). Every environment triggers on immutable tags
only (see `shiplane.spinnaker.tags`), so the bound reference never changes meaning. A manual run without an image
redeploys the prior execution's artifact (`usePriorArtifact`), matched by the same tag pattern, never `latest`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shiplane.model import App, AppDeployment, Fleet
from shiplane.spinnaker.accounts import docker_account_of
from shiplane.spinnaker.tags import TagPolicy


def tag_policy(deployment: AppDeployment) -> TagPolicy:
    environment = deployment.environment
    return TagPolicy(
        image_tag=environment.image_tag,
        allow_v_prefix=environment.semver.allow_v_prefix,
        pre_releases=environment.semver.pre_releases,
    )


def image_artifact_id(app: App, deployment: AppDeployment) -> str:
    return f"{app.name}-image-{deployment.environment.name}"


@dataclass(frozen=True, slots=True)
class ImageTrigger:
    expected_artifact: dict[str, Any]
    """The image's expected artifact (id `image_artifact_id`)."""
    triggers: list[dict[str, Any]]
    describe: str
    """When the pipeline runs, for its description."""


TriggerVariant = Callable[[Fleet, App, AppDeployment], ImageTrigger]


def docker_trigger(fleet: Fleet, app: App, deployment: AppDeployment) -> ImageTrigger:
    image = app.image_name(fleet.harbor)
    image_id = image_artifact_id(app, deployment)
    policy = tag_policy(deployment)
    every_build = deployment.environment.image_tag == "latest"
    return ImageTrigger(
        expected_artifact={
            "displayName": f"{app.name} image",
            "id": image_id,
            "matchArtifact": {"name": image, "type": "docker/image", "version": policy.pattern()},
            "useDefaultArtifact": False,
            "usePriorArtifact": True,
        },
        triggers=[{
            "account": docker_account_of(fleet, app.repository),
            "enabled": True,
            "expectedArtifactIds": [image_id],
            "organization": app.harbor_project,
            "registry": fleet.harbor.registry,
            "repository": app.repository,
            "tag": policy.pattern(),
            "type": "docker",
        }],
        describe=(
            "when a build that passed Harbor's scan gate pushes its immutable git-<commit> tag"
            if every_build else "when Harbor has a new release x.y.z that passed the scan gate"
        ),
    )


VARIANTS: dict[str, TriggerVariant] = {"docker": docker_trigger}


def variant_of(deployment: AppDeployment) -> str:
    """The trigger variant of an environment (a per-environment config switch plugs in here)."""
    return "docker"


def image_trigger(fleet: Fleet, app: App, deployment: AppDeployment) -> ImageTrigger:
    return VARIANTS[variant_of(deployment)](fleet, app, deployment)
