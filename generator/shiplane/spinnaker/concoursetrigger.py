"""The deploy pipeline of an environment with ``concourse_deploy``: triggered by Concourse, not by Harbor pushes.

Concourse's ``spinnaker-pipeline`` put triggers the pipeline through Gate (``POST /pipelines/{app}/{name}``) with a
docker/image artifact pinned by digest and ``expectedArtifactIds`` naming the pipeline's expected image artifact,
which orca's ArtifactUtils.resolveArtifacts binds (it binds only listed ids). So the pipeline keeps its expected
artifact and drops the docker trigger: Echo would otherwise start a second execution for the same push (with the
tag, not the digest). Manual runs from Deck still work: the expected artifact's default (``latest``) or prior
artifact is used, as before.
"""

from __future__ import annotations

from typing import Any

from shiplane.model import AppDeployment, Fleet


def concourse_triggered(fleet: Fleet, deployment: AppDeployment) -> bool:
    return fleet.concourse_deploy.enabled(deployment.environment.name)


def apply(fleet: Fleet, deployment: AppDeployment, pipeline: dict[str, Any]) -> dict[str, Any]:
    """``pipeline`` unchanged, or without its docker trigger when Concourse triggers this environment."""
    if not concourse_triggered(fleet, deployment):
        return pipeline
    description = str(pipeline.get("description", ""))
    head, _, rest = description.partition("; red/black")
    return {
        **pipeline,
        "description": (
            f"Deploys {pipeline['application']} to {deployment.environment.name} when Concourse's "
            "spinnaker-pipeline resource triggers it with an image pinned by digest (no docker trigger)"
            + (f"; red/black{rest}" if rest else "")
        ) if head else description,
        "triggers": [],
        "expectedArtifacts": [_any_version(expected) for expected in pipeline.get("expectedArtifacts", [])],
    }


def _any_version(expected: dict[str, Any]) -> dict[str, Any]:
    """The image's expected artifact without the docker trigger's tag pattern (``git-<sha>``).

    Concourse sends the digest-pinned reference with the tag harbor-image applied as ``version``, and kork-artifacts
    ExpectedArtifact.matches compares every field set in ``matchArtifact`` (regex or equal), so a pattern made for
    Harbor's tags must not filter it."""
    match = expected.get("matchArtifact")
    if not isinstance(match, dict) or match.get("type") != "docker/image" or "version" not in match:
        return expected
    return {**expected, "matchArtifact": {key: value for key, value in match.items() if key != "version"}}
