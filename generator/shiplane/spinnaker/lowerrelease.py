"""What a semver environment does with a release lower than the one running: `semver.lower_releases`.

A hotfix tag on a maintenance branch (1.0.1 after 1.1.0) is built and pushed to Harbor like any release, and
Spinnaker's docker trigger fires for every new tag that matches (echo's docker trigger has no version order). With
`lower_releases: skip` (the default) the deploy pipeline starts with two stages and deploys nothing when the
triggering tag is lower than the release running in the environment's first cluster:

    find-running   findArtifactsFromResource: the newest ReplicaSet version of the app on the first cluster of the
                   first wave (orca FindArtifactsFromResourceStage → ResolveTargetManifestTask picks it by cluster
                   and criteria; FindArtifactsFromResourceTask puts its `manifest` into the stage outputs). On the
                   first deploy there is none: the stage fails with `continuePipeline`, and the check passes.
    not-lower      checkPreconditions with one `expression` precondition (orca ExpressionPreconditionTask wraps the
                   expression in ${...}; false → TERMINAL, so the pipeline stops and the team's failure
                   notification fires). Every stage of the first wave waits for it.

The comparison uses major.minor.patch as integers (kork ExpressionsSupport #toInt, then zero-padded with
T(String).format: String is in kork's AllowListTypeLocator, and String methods returning String, String[], int or
boolean pass its ReturnTypeRestrictor); a leading `v` is ignored, and a pre-release
(1.1.0-rc.1) is lower than its release (1.1.0). A manual run has no trigger tag and is never held back: rolling
back by hand stays possible. `lower_releases: deploy` adds nothing (every matching tag deploys).
"""

from __future__ import annotations

from typing import Any

from shiplane.model import App, AppDeployment

FIND_REF = "find-running"
CHECK_REF = "not-lower"
FIND_NAME = "Find running release"


def _key(text: str) -> str:
    """SpEL: a string that orders like the version's (major, minor, patch): each part zero-padded to 9 digits by a
    projection over the split parts, as the List's toString ("[000000001, 000000010, 000000000]")."""
    parts = f"{text}.replaceFirst('^v', '').split('[-+]')[0].split('\\.')"
    return f"{parts}.![T(String).format('%09d', #toInt(#this))].toString()"


def _lower(new: str, running: str) -> str:
    """SpEL: `new` < `running` by (major, minor, patch), then a pre-release below its release."""
    new_key, running_key = _key(new), _key(running)
    return (
        f"({new_key}.compareTo({running_key}) < 0 or ({new_key} == {running_key} and {new}.contains('-') "
        f"and !{running}.contains('-')))"
    )


def expression() -> str:
    """The precondition: true (deploy) unless the trigger's tag is lower than the running image's tag."""
    image = f"#stage('{FIND_NAME}').outputs.manifest.spec.template.spec.containers[0].image"
    running = f"{image}.substring({image}.lastIndexOf(':') + 1)"
    new = "trigger['tag']"
    return f"{new} == null or !#stage('{FIND_NAME}').hasSucceeded or !{_lower(new, running)}"


def guard(pipeline: dict[str, Any], app: App, deployment: AppDeployment) -> dict[str, Any]:
    """`pipeline` with the two guard stages first, when the environment skips lower releases."""
    environment = deployment.environment
    if environment.image_tag != "semver" or environment.semver.lower_releases != "skip" or not deployment.clusters:
        return pipeline
    first = deployment.clusters[0]
    find = {
        "account": first.account,
        "app": app.name,
        "cloudProvider": "kubernetes",
        "cluster": f"replicaSet {app.name}",
        "continuePipeline": True,
        "criteria": "newest",
        "failPipeline": False,
        "kind": "replicaSet",
        "location": deployment.target(first).namespace,
        "mode": "dynamic",
        "name": FIND_NAME,
        "refId": FIND_REF,
        "requisiteStageRefIds": [],
        "type": "findArtifactsFromResource",
    }
    check = {
        "name": "Hold back a release lower than the running one",
        "preconditions": [{"context": {"expression": expression()}, "failPipeline": True, "type": "expression"}],
        "refId": CHECK_REF,
        "requisiteStageRefIds": [FIND_REF],
        "type": "checkPreconditions",
    }
    stages = [
        {**stage, "requisiteStageRefIds": [CHECK_REF]} if not stage.get("requisiteStageRefIds") else stage
        for stage in pipeline["stages"]
    ]
    return {**pipeline, "stages": [find, check, *stages]}
