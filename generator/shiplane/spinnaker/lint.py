"""A linter for Spinnaker pipeline JSON: what Orca, Echo and clouddriver do with it at runtime, checked up front.

Spinnaker accepts almost any pipeline JSON (Front50 stores it without looking at the stages) and fails at deploy
time. The rules, by family, with the upstream code each mirrors (spinnaker/spinnaker monorepo):

- this module, pipelines and stages:
  - spin `pipeline save`: `application` and `name` present; `schema` when a `template` is given; Front50 rejects
    a blank application or name;
  - Orca: every stage has a known `type` (orca-core `StageResolver`: NoSuchStageDefinitionBuilderException),
    string `refId`s, unique (Orca does not check), `requisiteStageRefIds` pointing at stages (orca-core
    `StageExecutionImpl`: "Invalid stage relationships found"), an initial stage (orca-queue
    `StartExecutionHandler`: "No initial stages found"), `cloudProvider` set on clouddriver stages (it defaults to
    aws), `spelEvaluator` v3 or v4;
  - manifest sources (orca-clouddriver `ManifestEvaluator.evaluate`/`getManifestsFromArtifact`/
    `getManifestArtifact`): `source` text or artifact ("Unknown ManifestContext.Source"), text manifests present
    ("No text manifest was specified."), a manifest artifact with an account ("No manifest artifact account was
    specified."); an `embedded/base64` default artifact is decoded (`shiplane.spinnaker.manifestartifact`) and its
    manifests are checked like text ones, in the stage's `namespaceOverride`;
  - artifacts (orca-core `ArtifactResolver`: "Unmatched expected artifact"): trigger `expectedArtifactIds` and stage
    `requiredArtifactIds` resolve and can be bound (a trigger, a default or a prior execution); every required
    docker image binds to a container image (clouddriver `Replacer.DOCKER_IMAGE`: the image without tag or digest
    equals the artifact name);
  - Echo (`AbstractOCIRegistryEventHandler.matchTags`): the docker trigger `tag` is a Java regex matched against
    the whole tag (an invalid one silently never fires), fires for exactly the environment's tags when known, and
    never for `latest` (`shiplane.spinnaker.tags`);
  - accounts exist (known from the fleet or a clouddriver config) and manifests stay in the account's namespaces
    (clouddriver `KubernetesCredentials` namespaces); targeted manifest stages (enable/disable/scale/undo) name
    their target (`undoRolloutManifest` does not work on ReplicaSets: no rollout history);
  - every Kubernetes manifest against Kubernetes' OpenAPI schemas (`shiplane.spinnaker.kubeschema`); no Secret
    values in a pipeline;
- `shiplane.spinnaker.trafficrules`: red/black and the Services a workload is attached to (clouddriver);
- `shiplane.spinnaker.podrules`: containers, env, quantities (`shiplane.spinnaker.quantity`, apimachinery
  `ParseQuantity`), image binding, pull secrets and no StatefulSet/PVC in image-triggered shiplane pipelines;
- `shiplane.spinnaker.accountrules`: applications, clouddriver accounts, igor's threshold, the Operator patch.

A finding is `(path, message)`; the message says what happens at runtime and the fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shiplane.spinnaker.accountrules import accounts_from_clouddriver, check_application, check_clouddriver
from shiplane.spinnaker.context import Accounts, Context, Manifest
from shiplane.spinnaker.javaregex import JavaRegexError, compile_java
from shiplane.spinnaker.kubeschema import KubernetesSchemas, Memo
from shiplane.spinnaker.manifestartifact import EMBEDDED_ACCOUNT, EMBEDDED_TYPE, ManifestArtifactError, decode
from shiplane.spinnaker.podrules import (
    bindable_image,
    claim_findings,
    images,
    name_from_reference,
    pod_spec_findings,
    pod_specs,
)
from shiplane.spinnaker.stagetypes import (
    CRITERIA,
    KNOWN_STAGE_TYPES,
    KUBERNETES_MANIFEST_STAGES,
    SPEL_EVALUATORS,
    TARGETED_MANIFEST_STAGES,
)
from shiplane.spinnaker.tags import check_tag_pattern
from shiplane.spinnaker.trafficrules import TrafficRules

Finding = tuple[str, str]

_REGEX_META = re.compile(r"[*+?()\[\]{}|^$\\]")


@dataclass
class _Checker(TrafficRules):
    pipeline: dict[str, Any]
    ctx: Context
    findings: list[Finding] = field(default_factory=list)
    memo: Memo = field(default_factory=dict)
    artifact_ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    resolvable: set[str] = field(default_factory=set)
    services: dict[tuple[str | None, str | None, str], dict[str, Any]] | None = None
    all_stages: list[Any] = field(default_factory=list)
    shared: dict[tuple[Any, ...], list[Finding]] = field(default_factory=dict)
    stage_memo: dict[tuple[Any, ...], list[Finding]] = field(default_factory=dict)
    reusable: bool = True
    decoded: dict[Any, list[Manifest]] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        self.findings.append((path, message))

    # ---- top level -------------------------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        pipeline = self.pipeline
        for key in ("application", "name"):
            value = pipeline.get(key)
            if key not in pipeline:
                self.add(key, f"missing; spin pipeline save refuses a pipeline without '{key}'")
            elif not isinstance(value, str) or not value.strip():
                self.add(key, "must be a non-blank string; Front50 rejects blank pipeline names and applications")
        application = pipeline.get("application")
        if self.ctx.application is not None and isinstance(application, str) and application != self.ctx.application:
            self.add("application", f"is {application!r} but the pipeline belongs to {self.ctx.application!r}")
        template = pipeline.get("template")
        templated = isinstance(template, dict) and bool(template)
        if templated and "schema" not in pipeline:
            self.add("schema", "missing; spin pipeline save needs 'schema' (\"v2\") for a templated pipeline")
        self._types()
        self._expected_artifacts()
        self._triggers()
        stages = pipeline.get("stages")
        if stages is None:
            if not templated:
                self.add("stages", "missing; Orca cannot start a pipeline without stages (\"stages\": [...])")
        elif not isinstance(stages, list):
            self.add("stages", f"must be a list of stages, not {type(stages).__name__}")
        else:
            self._stages(stages)
        return self.findings

    def _types(self) -> None:
        pipeline = self.pipeline
        for key in ("triggers", "expectedArtifacts", "parameterConfig", "notifications"):
            if key in pipeline and not isinstance(pipeline[key], list):
                self.add(key, f"must be a list, not {type(pipeline[key]).__name__}")
        for key in ("keepWaitingPipelines", "limitConcurrent", "disabled"):
            if key in pipeline and not isinstance(pipeline[key], bool):
                self.add(key, f"must be true or false, not {json.dumps(pipeline[key])}")
        evaluator = pipeline.get("spelEvaluator")
        if evaluator is not None and evaluator not in SPEL_EVALUATORS:
            self.add("spelEvaluator", f"{json.dumps(evaluator)} is not supported (v2 is 'DO NOT USE'; unknown values "
                                      f"silently fall back to the default); use \"v4\"")
        parameters = pipeline.get("parameterConfig")
        if isinstance(parameters, list):
            seen: set[str] = set()
            for index, parameter in enumerate(parameters):
                name = parameter.get("name") if isinstance(parameter, dict) else None
                if not isinstance(name, str) or not name:
                    self.add(f"parameterConfig[{index}].name", "missing; every parameter needs a name")
                elif name in seen:
                    self.add(f"parameterConfig[{index}].name", f"parameter {name!r} is defined twice")
                else:
                    seen.add(name)

    # ---- artifacts -------------------------------------------------------------------------------------------

    def _expected_artifacts(self) -> None:
        artifacts = self.pipeline.get("expectedArtifacts")
        if not isinstance(artifacts, list):
            return
        for index, artifact in enumerate(artifacts):
            self._expected_artifact(artifact, f"expectedArtifacts[{index}]")

    def _expected_artifact(self, artifact: Any, path: str) -> None:
        if not isinstance(artifact, dict):
            self.add(path, "must be an expected artifact object")
            return
        artifact_id = artifact.get("id")
        if not isinstance(artifact_id, str) or not artifact_id:
            self.add(f"{path}.id", "missing; stages and triggers refer to expected artifacts by id")
            return
        if artifact_id in self.artifact_ids:
            self.add(f"{path}.id", f"{artifact_id!r} is used by two expected artifacts; ids must be unique")
        self.artifact_ids[artifact_id] = artifact
        match = artifact.get("matchArtifact")
        if not isinstance(match, dict) or not isinstance(match.get("type"), str) or not match.get("type"):
            self.add(f"{path}.matchArtifact", "needs a type (e.g. docker/image); Orca matches artifacts by type")
        else:
            for key in ("name", "version", "location", "reference"):
                value = match.get(key)
                if isinstance(value, str) and value:
                    try:
                        compile_java(value)
                    except JavaRegexError as exc:
                        self.add(f"{path}.matchArtifact.{key}", f"Orca matches it as a Java regex and it is not "
                                                               f"one ({exc})")
            if match.get("type") == "docker/image" and not match.get("name"):
                self.add(f"{path}.matchArtifact.name", "missing; a docker/image artifact binds by image name")
        for key in ("useDefaultArtifact", "usePriorArtifact"):
            if key in artifact and not isinstance(artifact[key], bool):
                self.add(f"{path}.{key}", "must be true or false")
        if artifact.get("useDefaultArtifact") is True:
            default = artifact.get("defaultArtifact")
            if not isinstance(default, dict) or not default.get("type") or not default.get("reference"):
                self.add(f"{path}.defaultArtifact", "useDefaultArtifact needs a defaultArtifact with type and "
                                                    "reference; Orca fails with 'Unmatched expected artifact'")
            self.resolvable.add(artifact_id)
        if artifact.get("usePriorArtifact") is True:
            self.resolvable.add(artifact_id)

    # ---- triggers --------------------------------------------------------------------------------------------

    def _triggers(self) -> None:
        triggers = self.pipeline.get("triggers")
        if not isinstance(triggers, list):
            return
        docker_triggers = 0
        for index, trigger in enumerate(triggers):
            path = f"triggers[{index}]"
            if not isinstance(trigger, dict):
                self.add(path, "must be a trigger object")
                continue
            kind = trigger.get("type")
            if not isinstance(kind, str) or not kind:
                self.add(f"{path}.type", "missing; Echo matches triggers by type")
            if "enabled" in trigger and not isinstance(trigger["enabled"], bool):
                self.add(f"{path}.enabled", "must be true or false")
            ids = trigger.get("expectedArtifactIds", [])
            if not isinstance(ids, list):
                self.add(f"{path}.expectedArtifactIds", "must be a list of expected artifact ids")
                ids = []
            for position, artifact_id in enumerate(ids):
                if artifact_id not in self.artifact_ids:
                    self.add(f"{path}.expectedArtifactIds[{position}]",
                             f"{json.dumps(artifact_id)} is not the id of an expected artifact of this pipeline")
                elif trigger.get("enabled", True) is not False:
                    self.resolvable.add(artifact_id)
            if kind == "docker":
                docker_triggers += 1
                self._docker_trigger(trigger, path)
        if self.ctx.tag_policy is not None and docker_triggers == 0:
            self.add("triggers", f"no docker trigger; the environment deploys {self.ctx.tag_policy.describe()} "
                                 f"when Harbor has them")

    def _docker_trigger(self, trigger: dict[str, Any], path: str) -> None:
        account = trigger.get("account")
        repository = trigger.get("repository")
        if not isinstance(account, str) or not account:
            self.add(f"{path}.account", "missing; Echo only fires docker triggers that name the registry account")
        elif self.ctx.accounts is not None and account not in self.ctx.accounts.docker:
            known = ", ".join(sorted(self.ctx.accounts.docker)) or "(none)"
            self.add(f"{path}.account", f"docker registry account {account!r} does not exist; known: {known}")
        if not isinstance(repository, str) or not repository:
            self.add(f"{path}.repository", "missing; Echo only fires docker triggers that name the repository")
        if self.ctx.docker_repository is not None and (account, repository) != self.ctx.docker_repository:
            want_account, want_repository = self.ctx.docker_repository
            self.add(path, f"watches {account}/{repository} but the app's image is {want_repository} in account "
                           f"{want_account}")
        for message in check_tag_pattern(trigger.get("tag"), self.ctx.tag_policy):
            self.add(f"{path}.tag", message)

    # ---- stages ----------------------------------------------------------------------------------------------

    def _stages(self, stages: list[Any]) -> None:
        ref_ids: dict[str, int] = {}
        self.all_stages = stages
        for index, stage in enumerate(stages):
            if isinstance(stage, dict) and "expectedArtifacts" in stage:
                self._collect_stage_artifacts(stage, f"stages[{index}]")
        for index, stage in enumerate(stages):
            path = f"stages[{index}]"
            if not isinstance(stage, dict):
                self.add(path, "must be a stage object")
                continue
            ref_id = stage.get("refId")
            if isinstance(ref_id, str) and ref_id:
                path = f"stages[{index}]({ref_id})"
                if ref_id in ref_ids:
                    self.add(f"{path}.refId", f"{ref_id!r} is also the refId of stages[{ref_ids[ref_id]}]; Orca does "
                                              f"not check and links the wrong stages")
                else:
                    ref_ids[ref_id] = index
            elif ref_id is None:
                self.add(f"{path}.refId", "missing; stages are linked by refId")
            else:
                self.add(f"{path}.refId", f"must be a non-empty string, not {json.dumps(ref_id)} (Orca casts refIds "
                                          f"to strings, so requisiteStageRefIds must match the string form)")
            self._stage(stage, path)
        self._graph(stages, ref_ids)

    def _collect_stage_artifacts(self, stage: dict[str, Any], path: str) -> None:
        produced = stage.get("expectedArtifacts")
        if isinstance(produced, list):
            for position, artifact in enumerate(produced):
                self._expected_artifact(artifact, f"{path}.expectedArtifacts[{position}]")
                if isinstance(artifact, dict) and isinstance(artifact.get("id"), str):
                    self.resolvable.add(artifact["id"])

    def _stage(self, stage: dict[str, Any], path: str) -> None:
        kind = stage.get("type")
        if not isinstance(kind, str) or not kind:
            self.add(f"{path}.type", "missing; Orca fails the execution on a stage without type")
            return
        if kind not in KNOWN_STAGE_TYPES:
            self.add(f"{path}.type", f"{kind!r} is not a stage type of Orca; the execution fails with "
                                     f"NoSuchStageDefinitionBuilderException (unless a plugin or a preconfigured "
                                     f"webhook provides it)")
            return
        if kind == "deployManifest":
            fingerprint = _fingerprint(stage)
            cached = self.stage_memo.get(fingerprint) if fingerprint is not None else None
            if cached is not None:
                self._emit(path, cached)
            else:
                mark = len(self.findings)
                self.reusable = True
                self._stage_content(stage, path, kind)
                found = self.findings[mark:]
                if fingerprint is not None and self.reusable and all(where.startswith(path) for where, _ in found):
                    self.stage_memo[fingerprint] = [(where[len(path):], message) for where, message in found]
        else:
            self._stage_content(stage, path, kind)
        if kind in KUBERNETES_MANIFEST_STAGES:
            self._per_cluster(stage, path)

    def _stage_content(self, stage: dict[str, Any], path: str, kind: str) -> None:
        """Every check of a stage except those of its account and namespaces (`_per_cluster`)."""
        if kind in KUBERNETES_MANIFEST_STAGES:
            self._clouddriver_stage(stage, path)
        if kind == "deployManifest":
            self._deploy_manifest(stage, path)
        elif kind in TARGETED_MANIFEST_STAGES:
            self._targeted(stage, path, kind)
        elif kind == "manualJudgment":
            inputs = stage.get("judgmentInputs", [])
            if not isinstance(inputs, list) or any(not isinstance(i, dict) or "value" not in i for i in inputs):
                self.add(f"{path}.judgmentInputs", "must be a list of {\"value\": ...} choices")
            if "failPipeline" in stage and not isinstance(stage["failPipeline"], bool):
                self.add(f"{path}.failPipeline", "must be true or false")
        elif kind == "wait":
            wait = stage.get("waitTime")
            if not isinstance(wait, int) and not (isinstance(wait, str) and ("${" in wait or wait.isdigit())):
                self.add(f"{path}.waitTime", "missing; the wait stage needs waitTime in seconds")
        elif kind == "pipeline":
            for key in ("application", "pipeline"):
                if not isinstance(stage.get(key), str) or not stage.get(key):
                    self.add(f"{path}.{key}", "missing; the pipeline stage needs the application and pipeline id")
        elif kind == "runJobManifest":
            self._manifest_source(stage, path, single=True)
        for key in ("requiredArtifactIds",):
            ids = stage.get(key)
            if ids is not None:
                self._artifact_refs(ids, f"{path}.{key}")
        required = stage.get("requiredArtifacts")
        if isinstance(required, list):
            for position, item in enumerate(required):
                artifact_id = item.get("expectedArtifactId") if isinstance(item, dict) else None
                if isinstance(artifact_id, str) and artifact_id:
                    self._artifact_refs([artifact_id], f"{path}.requiredArtifacts[{position}].expectedArtifactId")
                elif not (isinstance(item, dict) and isinstance(item.get("artifact"), dict)):
                    self.add(f"{path}.requiredArtifacts[{position}]", "needs expectedArtifactId or artifact")
        manifest_artifact = stage.get("manifestArtifactId")
        if isinstance(manifest_artifact, str) and manifest_artifact:
            self._artifact_refs([manifest_artifact], f"{path}.manifestArtifactId")

    def _artifact_refs(self, ids: Any, path: str) -> None:
        if not isinstance(ids, list):
            self.add(path, "must be a list of expected artifact ids")
            return
        for position, artifact_id in enumerate(ids):
            where = f"{path}[{position}]" if path.endswith("Ids") else path
            if artifact_id not in self.artifact_ids:
                self.add(where, f"{json.dumps(artifact_id)} is not the id of an expected artifact of this pipeline; "
                                f"the stage fails with 'No artifact with id … could be found'")
            elif artifact_id not in self.resolvable:
                self.add(where, f"expected artifact {artifact_id!r} is listed by no trigger and has neither "
                                f"useDefaultArtifact nor usePriorArtifact, so it is never bound and the stage fails")

    def _clouddriver_stage(self, stage: dict[str, Any], path: str) -> None:
        provider = stage.get("cloudProvider")
        if provider is None:
            self.add(f"{path}.cloudProvider", "missing; Orca sends the operation to the aws provider; set "
                                              "\"kubernetes\"")
        elif provider != "kubernetes":
            self.add(f"{path}.cloudProvider", f"{json.dumps(provider)}: manifest stages run on the kubernetes "
                                              f"provider")
        account = stage.get("account", stage.get("credentials"))
        if not isinstance(account, str) or not account:
            self.add(f"{path}.account", "missing; clouddriver needs the Kubernetes account to deploy with")

    def _per_cluster(self, stage: dict[str, Any], path: str) -> None:
        """The stage's account exists and manages the namespaces its manifests go to."""
        accounts = self.ctx.accounts
        account = stage.get("account", stage.get("credentials"))
        if accounts is None or not isinstance(account, str) or not account or "${" in account:
            return
        if account not in accounts.kubernetes:
            known = ", ".join(sorted(accounts.kubernetes)) or "(none)"
            self.add(f"{path}.account", f"Kubernetes account {account!r} does not exist; known: {known}")
            return
        allowed = accounts.kubernetes[account]
        if allowed is None:
            return
        located: list[tuple[str, Any]] = []
        override = stage.get("namespaceOverride")
        if stage.get("type") == "deployManifest" and isinstance(override, str) and override:
            if override not in allowed:
                located.append((f"{path}.namespaceOverride", override))
        elif stage.get("type") == "deployManifest":
            manifests = stage.get("manifests") if stage.get("source") == "text" else None
            if stage.get("source") == "artifact":
                manifests = [m.body for m in self.decoded.get(stage.get("manifestArtifactId"), [])]
            for index, manifest in enumerate(manifests if isinstance(manifests, list) else ()):
                metadata = manifest.get("metadata") if isinstance(manifest, dict) else None
                namespace = override or (metadata.get("namespace") if isinstance(metadata, dict) else None)
                if namespace not in allowed:
                    located.append((f"{path}.manifests[{index}].metadata.namespace", namespace))
        elif stage.get("location") not in allowed:
            located.append((f"{path}.location", stage.get("location")))
        for where, namespace in located:
            if isinstance(namespace, str) and namespace and "${" not in namespace:
                self.add(where, f"{namespace!r} is not a namespace of account {account!r} (it manages "
                                f"{', '.join(sorted(allowed))}); clouddriver refuses it")

    def _manifest_source(self, stage: dict[str, Any], path: str, *, single: bool = False) -> list[Manifest]:
        source = stage.get("source")
        if source not in ("text", "artifact"):
            self.add(f"{path}.source", f"must be \"text\" or \"artifact\", not {json.dumps(source)}; Orca fails "
                                       f"with 'Unknown ManifestContext.Source'")
            return []
        if source == "artifact":
            return self._artifact_manifests(stage, path)
        key = "manifest" if single and "manifests" not in stage else "manifests"
        raw = stage.get(key)
        manifests = [raw] if key == "manifest" and raw is not None else raw
        if not isinstance(manifests, list) or not manifests:
            self.add(f"{path}.{key}", "source is text but there is no manifest; Orca fails with 'No text manifest "
                                      "was specified'")
            return []
        result = []
        for index, body in enumerate(manifests):
            where = f"{path}.{key}[{index}]" if key == "manifests" else f"{path}.manifest"
            if not isinstance(body, dict):
                self.add(where, "must be a Kubernetes object")
                continue
            result.append(Manifest(index, body, where))
        return result

    def _artifact_manifests(self, stage: dict[str, Any], path: str) -> list[Manifest]:
        """Orca ManifestEvaluator.getManifestArtifact/getManifestsFromArtifact: the bound manifest artifact needs an
        account; an embedded/base64 default artifact is decoded (once per pipeline) and checked like text."""
        artifact_id = stage.get("manifestArtifactId")
        inline = stage.get("manifestArtifact")
        if not artifact_id and not isinstance(inline, dict):
            self.add(f"{path}.manifestArtifactId", "source is artifact but no manifestArtifactId or "
                                                   "manifestArtifact is given; Orca fails with 'No manifest "
                                                   "artifact was specified.'")
            return []
        expected = self.artifact_ids.get(artifact_id) if isinstance(artifact_id, str) else None
        artifact = inline if isinstance(inline, dict) else None
        if expected is not None and expected.get("useDefaultArtifact") is True:
            default = expected.get("defaultArtifact")
            artifact = default if isinstance(default, dict) else None
        if artifact is None:
            return []  # bound at run time (a trigger or a prior execution): its content is unknown here
        if not stage.get("manifestArtifactAccount") and not artifact.get("artifactAccount"):
            self.add(f"{path}.manifestArtifactAccount", (
                f"missing, and the manifest artifact names no artifactAccount; Orca fails with 'No manifest artifact "
                f"account was specified.' (use {EMBEDDED_ACCOUNT!r} for {EMBEDDED_TYPE})"))
        if artifact.get("type") != EMBEDDED_TYPE:
            return []  # fetched by clouddriver at run time
        key = artifact_id if isinstance(artifact_id, str) and expected is not None else id(artifact)
        cached = self.decoded.get(key)
        if cached is None:
            try:
                bodies = decode(artifact.get("reference"))
            except ManifestArtifactError as exc:
                self.decoded[key] = cached = []
                where = f"{path}.manifestArtifact" if expected is None else f"expectedArtifacts[id={artifact_id}]"
                self.add(f"{where}.reference", f"{exc}; Orca cannot parse the manifests")
            else:
                cached = [Manifest(index, body, f"{path}.manifests[{index}]")
                          for index, body in enumerate(bodies) if isinstance(body, dict)]
                if len(cached) != len(bodies):
                    self.add(f"{path}.manifestArtifactId", "the manifest artifact holds something that is not a "
                                                           "Kubernetes object")
                self.decoded[key] = cached
        return [Manifest(m.index, m.body, f"{path}.manifests[{m.index}]") for m in cached]

    # Stages of a multi-cluster pipeline repeat the same manifests with another namespace and account; the checks
    # below that depend only on shared objects are memoised by the identity of those objects (the document keeps
    # them alive while it is checked, so an identity cannot be reused meanwhile). Memoised findings are stored
    # relative to the stage and re-emitted under each stage's path.

    def _memo(self, key: tuple[Any, ...], compute: Callable[..., Iterable[Finding]], *args: Any) -> list[Finding]:
        found = self.shared.get(key)
        if found is None:
            found = self.shared[key] = list(compute(*args))
        return found

    def _emit(self, prefix: str, findings: list[Finding]) -> None:
        for where, message in findings:
            self.add(prefix + where, message)

    def _image_triggered(self) -> bool:
        triggers = self.pipeline.get("triggers")
        return isinstance(triggers, list) and any(
            isinstance(t, dict) and t.get("type") == "docker" and t.get("enabled", True) is not False
            for t in triggers)

    def _deploy_manifest(self, stage: dict[str, Any], path: str) -> None:
        moniker = stage.get("moniker")
        if not isinstance(moniker, dict) or not isinstance(moniker.get("app"), str) or not moniker.get("app"):
            self.add(f"{path}.moniker.app", "missing; clouddriver labels the manifests with the moniker's app and "
                                            "finds old versions by it")
        manifests = self._manifest_source(stage, path)
        if self.ctx.strict and self._image_triggered():
            for manifest in manifests:
                if manifest.kind in ("StatefulSet", "PersistentVolumeClaim"):
                    self.add(f"{manifest.path}.kind", (
                        f"a {manifest.kind} in an image-triggered pipeline: every release re-applies it, so a "
                        f"storage change fails every later release (volumeClaimTemplates are immutable), an image "
                        f"bump restarts the database mid-release and a rollback does not undo it; provision it "
                        f"with its own pipeline"))
        override = stage.get("namespaceOverride") if isinstance(stage.get("namespaceOverride"), str) else None
        for manifest in manifests:
            self._manifest(manifest, override, path)
        traffic = stage.get("trafficManagement")
        if traffic is not None:
            self._traffic(stage, traffic, manifests, override, path)
        self._binding(stage, manifests, path)

    def _manifest(self, manifest: Manifest, override: str | None, stage_path: str) -> None:
        body = manifest.body
        namespace = manifest.namespace(override)
        if self.ctx.strict and namespace is None:
            self.add(f"{manifest.path}.metadata.namespace", "missing; shiplane writes every namespace explicitly")
        spec_id = id(body.get("spec"))
        key = ("content", manifest.index, spec_id, id(body.get("data")), id(body.get("stringData")), manifest.kind)
        self._emit(stage_path, self._memo(key, self._content, manifest))
        schemas = self.ctx.kubernetes
        if schemas is not None:
            shape = _shape(body)
            problems = (
                self._memo(("schema", manifest.index, *shape), self._schema, manifest, schemas)
                if shape is not None
                else list(self._schema(manifest, schemas))
            )
            self._emit(stage_path, problems)

    def _schema(self, manifest: Manifest, schemas: KubernetesSchemas) -> Iterator[Finding]:
        prefix = f".manifests[{manifest.index}]"
        for where, message in schemas.problems(manifest.body, self.memo):
            yield f"{prefix}.{where}" if where else prefix, f"{message} (Kubernetes {schemas.name} schema)"

    def _content(self, manifest: Manifest) -> Iterator[Finding]:
        """Findings that depend only on the manifest's spec and data."""
        body = manifest.body
        prefix = f".manifests[{manifest.index}]"
        if manifest.kind == "Secret" and (body.get("data") or body.get("stringData")):
            yield prefix, ("a Secret with values would be stored in Front50 and in every execution; create the "
                           "Secret outside Spinnaker and refer to it by name (secretKeyRef)")
        for where, spec in pod_specs(body):
            for inner, message in pod_spec_findings(spec, where, pull_secrets=self.ctx.strict):
                yield prefix + inner, message
        for inner, message in claim_findings(body):
            yield prefix + inner, message

    def _binding(self, stage: dict[str, Any], manifests: list[Manifest], path: str) -> None:
        if not manifests or stage.get("enableArtifactBinding") is False:
            return  # nothing known to bind to (an artifact fetched at run time)
        ids = stage.get("requiredArtifactIds")
        required = [("requiredArtifactIds", i, a) for i, a in enumerate(ids)] if isinstance(ids, list) else []
        items = stage.get("requiredArtifacts")
        if isinstance(items, list):
            required += [("requiredArtifacts", i, item.get("expectedArtifactId"))
                         for i, item in enumerate(items) if isinstance(item, dict)]
        if not required:
            return
        key = ("binding", *(a if isinstance(a, str) else id(a) for _, _, a in required),
               *(id(m.body.get("spec")) for m in manifests), *(m.kind == "Pod" for m in manifests))
        self._emit(path, self._memo(key, self._bind, required, manifests))

    def _bind(self, required: list[tuple[str, int, Any]], manifests: list[Manifest]) -> Iterator[Finding]:
        """clouddriver's docker image binding (match-name-and-tag): every required image must replace one."""
        found = [image for m in manifests for _, spec in pod_specs(m.body) for image in images(spec)]
        for key, position, artifact_id in required:
            artifact = self.artifact_ids.get(artifact_id) if isinstance(artifact_id, str) else None
            match = artifact.get("matchArtifact") if artifact else None
            if not isinstance(match, dict) or match.get("type") != "docker/image":
                continue
            name = match.get("name")
            if not isinstance(name, str) or not name or _REGEX_META.search(name):
                continue  # a pattern: the bound artifact's name is only known at runtime
            if not any(name_from_reference(image) == name for image in found):
                shown = ", ".join(f"{image} (compared as {name_from_reference(image)})" for image in found) or \
                    "no container image"
                yield f".{key}[{position}]", (
                    f"docker image {name} binds to no container: clouddriver strips the tag or digest from each "
                    f"image and compares it with the artifact name; found {shown}; write the image as {name}")

    def _targeted(self, stage: dict[str, Any], path: str, kind: str) -> None:
        if not isinstance(stage.get("location"), str) or not stage.get("location"):
            self.add(f"{path}.location", "missing; the namespace of the manifest to act on")
        mode = stage.get("mode", "static")
        target_kind: str | None = None
        if mode == "static":
            name = stage.get("manifestName")
            if not isinstance(name, str) or not re.fullmatch(r"\S+ \S+", name):
                self.add(f"{path}.manifestName", "missing or not '<kind> <name>' (static mode)")
            else:
                target_kind = name.split(" ")[0]
        elif mode == "dynamic":
            cluster = stage.get("cluster")
            if not isinstance(cluster, str) or not re.fullmatch(r"\S+ \S+", cluster):
                self.add(f"{path}.cluster", "missing or not '<kind> <name>' (dynamic mode picks a version of this "
                                            "cluster)")
            if stage.get("criteria") not in CRITERIA:
                self.add(f"{path}.criteria", f"{json.dumps(stage.get('criteria'))} is not one of "
                                             f"{', '.join(sorted(CRITERIA))}")
            if not isinstance(stage.get("app"), str) or not stage.get("app"):
                self.add(f"{path}.app", "missing; clouddriver looks the cluster up in this application")
            target = stage.get("kind")
            if not isinstance(target, str) or not target:
                self.add(f"{path}.kind", "missing; the kind of the cluster's manifests, e.g. replicaSet")
            else:
                target_kind = target
        elif mode == "label":
            if kind not in {"deleteManifest", "scaleManifest"}:
                self.add(f"{path}.mode", f"label selection is not supported by {kind}")
            if not stage.get("labelSelectors") or not stage.get("kinds"):
                self.add(f"{path}.labelSelectors", "label mode needs kinds and labelSelectors")
        else:
            self.add(f"{path}.mode", f"{json.dumps(mode)} is not static, dynamic or label")
        if kind == "undoRolloutManifest" and target_kind is not None and target_kind.lower() == "replicaset":
            self.add(path, "undoRolloutManifest does not work on ReplicaSets (only Deployments, DaemonSets and "
                           "StatefulSets keep a rollout history); roll back red/black with enableManifest "
                           "(criteria second_newest) and disableManifest (criteria newest)")
        if kind == "scaleManifest" and "replicas" not in stage:
            self.add(f"{path}.replicas", "missing; the number of replicas to scale to")

    # ---- graph -----------------------------------------------------------------------------------------------

    def _graph(self, stages: list[Any], ref_ids: dict[str, int]) -> None:
        edges: dict[str, list[str]] = {}
        for index, stage in enumerate(stages):
            if not isinstance(stage, dict) or not isinstance(stage.get("refId"), str):
                continue
            ref_id = stage["refId"]
            requisites = stage.get("requisiteStageRefIds")
            if requisites is None:
                requisites = []
            if not isinstance(requisites, list):
                self.add(f"stages[{index}]({ref_id}).requisiteStageRefIds", "must be a list of refIds")
                continue
            if not requisites or (
                all(type(r) is str for r in requisites)
                and ref_id not in requisites
                and ref_ids.keys() >= set(requisites)
            ):
                valid = requisites
            else:
                valid = []
                for position, requisite in enumerate(requisites):
                    where = f"stages[{index}]({ref_id}).requisiteStageRefIds[{position}]"
                    if not isinstance(requisite, str):
                        self.add(where, f"{json.dumps(requisite)} must be a string refId")
                    elif requisite == ref_id:
                        self.add(where, "a stage cannot wait for itself")
                    elif requisite not in ref_ids:
                        self.add(where, f"{requisite!r} is not the refId of a stage; Orca fails with 'Invalid stage "
                                        f"relationships found'")
                    else:
                        valid.append(requisite)
            if ref_ids.get(ref_id) == index:
                edges[ref_id] = valid
        if edges and all(requisites for requisites in edges.values()):
            self.add("stages", "no stage can start: every stage waits for another; Orca fails with 'No initial "
                               "stages found'")
            return
        # Kahn's algorithm: whatever cannot be ordered is on a cycle.
        waiting = {ref: len(set(requisites)) for ref, requisites in edges.items()}
        dependants: dict[str, list[str]] = {}
        for ref, requisites in edges.items():
            for requisite in set(requisites):
                dependants.setdefault(requisite, []).append(ref)
        ready = [ref for ref, count in waiting.items() if count == 0]
        while ready:
            ref = ready.pop()
            for dependant in dependants.get(ref, ()):
                waiting[dependant] -= 1
                if waiting[dependant] == 0:
                    ready.append(dependant)
        blocked = {ref for ref, count in waiting.items() if count > 0}
        for cycle in _cycles({ref: [r for r in edges[ref] if r in blocked] for ref in blocked}):
            self.add("stages", f"stages {', '.join(cycle)} wait for each other in a cycle; Orca fails with 'Invalid "
                               f"stage relationships found'")


_PER_CLUSTER = frozenset({"refId", "name", "requisiteStageRefIds", "account", "credentials"})


def _fingerprint(stage: dict[str, Any]) -> tuple[Any, ...] | None:
    """A deployManifest stage without what differs between its per-cluster copies.

    Left out: refId, name, requisiteStageRefIds and the account (only their type and emptiness are kept), and the
    namespaces, of which only the pattern is kept (which ones are equal, which are missing). Containers are taken
    by identity, strings by value, other scalars by type and value (True and 1 differ). Two stages with the same
    fingerprint get the same findings apart from those of `_per_cluster`. Runs once per stage: kept flat."""
    slots: dict[Any, int] = {}
    parts: list[Any] = []
    append = parts.append
    containers = _CONTAINERS
    for key, value in stage.items():
        append(key)
        kind = type(value)
        if key == "manifests" and kind is list:
            for manifest in value:
                if type(manifest) is not dict:
                    return None
                for part, item in manifest.items():
                    append(part)
                    kind = type(item)
                    if part == "metadata" and kind is dict:
                        for name, field_value in item.items():
                            append(name)
                            kind = type(field_value)
                            if name == "namespace":
                                append((kind, slots.setdefault(field_value, len(slots)) if kind is str else None))
                            else:
                                append(field_value if kind is str else id(field_value) if kind in containers else
                                       (kind, field_value))
                        append(_END)
                    else:
                        append(item if kind is str else id(item) if kind in containers else (kind, item))
                append(_END)
        elif key in _PER_CLUSTER:
            append((kind, not value))
        elif key == "trafficManagement" and kind is dict:
            for part, item in value.items():
                append(part)
                kind = type(item)
                if part == "options" and kind is dict:
                    for name, option in item.items():
                        append(name)
                        kind = type(option)
                        if name == "namespace":
                            append((kind, slots.setdefault(option, len(slots)) if kind is str else None))
                        else:
                            append(option if kind is str else id(option) if kind in containers else (kind, option))
                    append(_END)
                else:
                    append(item if kind is str else id(item) if kind in containers else (kind, item))
        elif key == "namespaceOverride":
            append((kind, slots.setdefault(value, len(slots)) if kind is str else None))
        else:
            append(value if kind is str else id(value) if kind in containers else (kind, value))
    return tuple(parts)


_END = object()


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """The cycles of a graph: its strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(edges[successor])))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


_CONTAINERS = (dict, list)


def _shape(body: dict[str, Any]) -> tuple[Any, ...] | None:
    """What a manifest's schema validity depends on, by identity of its parts, without metadata.namespace (a plain
    string or null in every Kubernetes schema: only its type matters). None for an unusual manifest."""
    metadata = body.get("metadata")
    if type(metadata) is not dict:
        return None
    parts: list[Any] = []
    for key, value in body.items():
        if key != "metadata":
            parts.append(key)
            parts.append(id(value) if type(value) in _CONTAINERS else (type(value), value))
    for key, value in metadata.items():
        parts.append(("metadata", key))
        if key == "namespace":
            parts.append(type(value))
        else:
            parts.append(id(value) if type(value) in _CONTAINERS else (type(value), value))
    return tuple(parts)


def check_pipeline(pipeline: Any, ctx: Context) -> list[Finding]:
    """Every finding of one pipeline."""
    if not isinstance(pipeline, dict):
        return [("", f"a pipeline is a JSON object, not {type(pipeline).__name__}")]
    return _Checker(pipeline, ctx).run()




__all__ = [
    "Accounts",
    "Context",
    "Finding",
    "accounts_from_clouddriver",
    "bindable_image",
    "check_application",
    "check_clouddriver",
    "check_pipeline",
]
