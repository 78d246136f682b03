"""The stage types Orca knows, and what each needs at runtime.

Orca resolves a stage's `type` to a StageDefinitionBuilder bean; an unknown type fails the whole execution with
NoSuchStageDefinitionBuilderException. The list is every built-in StageDefinitionBuilder of Orca (its
`PIPELINE_CONFIG_TYPE` or the class name without `Stage`, first letter lower-cased), plus the CI stages and
`runJobManifest`, Deck's name for Kubernetes run-job stages.
"""

from __future__ import annotations

KNOWN_STAGE_TYPES = frozenset(
    {
        "acaTask", "applySourceServerGroupCapacity", "associateElasticIp", "awsCodeBuild", "bake",
        "bakeCloudFoundryManifest", "bakeManifest", "bulkDestroyServerGroup", "bulkQuickPatch", "bulkUpsertEntityTags",
        "canary", "canaryDestroyCluster", "canaryDisableCluster", "captureSourceServerGroupCapacity",
        "checkPreconditions", "cleanupCanaryClusters", "cloneServerGroup", "cloudFoundryCreateServiceBindings",
        "cloudFoundryDeleteServiceBindings", "clouddriverClearAltTablespace", "concourse", "copyAmazonLoadBalancer",
        "copyLastAsg", "copySecurityGroup", "createApplication", "createPipelineTemplate", "createServerGroup",
        "createServiceKey", "createV2PipelineTemplate", "deleteApplication", "deleteCloudFormation",
        "deleteDeliveryConfig", "deleteEntityTags", "deleteImage", "deleteLaunchConfiguration", "deleteLaunchTemplate",
        "deleteLoadBalancer", "deleteManifest", "deletePipeline", "deletePipelineTemplate", "deletePluginInfo",
        "deleteProject", "deleteScalingPolicy", "deleteSecurityGroup", "deleteServiceKey", "deleteSnapshot",
        "deleteTencentCloudScheduledAction", "deleteV2PipelineTemplate", "dependsOnExecution", "deploy",
        "deployAppEngineConfiguration", "deployAppengineConfiguration", "deployCanary", "deployCanaryServerGroups",
        "deployCloudFormation", "deployCloudrunManifest", "deployManifest", "deployService",
        "deregisterInstancesFromLoadBalancer", "destroyJob", "destroyServerGroup", "destroyService", "detachInstances",
        "determineTargetServerGroup", "disableAsg", "disableCluster", "disableInstancesInDiscovery", "disableManifest",
        "disableServerGroup", "enableInstancesInDiscovery", "enableManifest", "enableServerGroup", "evaluateArtifacts",
        "evaluateDeploymentHealth", "evaluateVariables", "findArtifactFromExecution", "findArtifactFromResource",
        "findArtifactsFromResource", "findImage", "findImageFromCluster", "findImageFromTags", "gcb", "getProperties",
        "googleCloudBuild", "gremlin", "importDeliveryConfig", "jenkins", "jira", "kayentaCanary", "lambdaDelete",
        "lambdaDeployment", "lambdaFunction", "lambdaInvoke", "lambdaTrafficRouting", "lambdaUpdateCode",
        "loadPluginRelease", "manualJudgment", "mapLoadBalancers", "modifyAsg", "modifyAwsScalingProcess",
        "modifyGceAutoscalingPolicy", "modifyScalingGroup", "modifyWarmPool", "monitorCanary", "monitorPipeline",
        "notifyDeployCompleted", "notifyDeployStarting", "pageApplicationOwner", "parallelDeploy", "patchManifest",
        "pauseRolloutManifest", "pinServerGroup", "pipeline", "preconfiguredJob", "quickPatch", "rebootInstances",
        "registerInstancesWithLoadBalancer", "reorderPipelines", "resizeServerGroup", "restoreSnapshot",
        "restrictExecutionDuringTimeWindow", "resumeRolloutManifest", "rollbackCluster", "rollbackServerGroup",
        "rollingPush", "rollingRestartManifest", "runCanary", "runCanaryIntervals", "runCanaryPipeline", "runJob",
        "runJobManifest", "runMultiplePipelines", "savePipeline", "savePipelinesFromArtifact", "saveSnapshot",
        "scaleManifest", "script", "serverGroupForceCacheRefresh", "setPreferredPluginRelease", "setStatefulDisk",
        "shareService", "shrinkCluster", "startAppEngineServerGroup", "startServerGroup", "statefullyUpdateBootImage",
        "stopAppEngineServerGroup", "stopServerGroup", "terminateInstanceAndDecrementServerGroup", "terminateInstances",
        "travis", "undoRolloutManifest", "unmapLoadBalancers", "unshareService", "updateJobProcesses",
        "updateLaunchConfig", "updateLaunchTemplate", "updatePipeline", "updatePipelineTemplate",
        "updateSecurityGroupsForServerGroup", "updateV2PipelineTemplate", "upsertAmazonDNS", "upsertAmazonLoadBalancer",
        "upsertAppEngineLoadBalancers", "upsertApplication", "upsertAsgScheduledActions", "upsertCloudrunLoadBalancers",
        "upsertDeliveryConfig", "upsertDisruptionBudget", "upsertEntityTags", "upsertImageTags", "upsertLoadBalancer",
        "upsertLoadBalancers", "upsertPluginInfo", "upsertProject", "upsertScalingPolicy", "upsertSecurityGroup",
        "upsertServerGroupTags", "upsertTencentCloudScheduledActions", "wait", "waitForCondition", "waitUntil",
        "webhook", "wercker",
    }
)

TARGETED_MANIFEST_STAGES = frozenset(
    {
        "deleteManifest",
        "enableManifest",
        "disableManifest",
        "patchManifest",
        "scaleManifest",
        "undoRolloutManifest",
        "pauseRolloutManifest",
        "resumeRolloutManifest",
        "rollingRestartManifest",
        "findArtifactsFromResource",
    }
)
"""Stages that act on an existing manifest picked by name (static), by cluster + criteria (dynamic) or labels."""

KUBERNETES_MANIFEST_STAGES = TARGETED_MANIFEST_STAGES | {"deployManifest", "runJobManifest"}
"""Stages that talk to clouddriver: they need `account` and `cloudProvider` (Orca defaults the provider to aws)."""


CRITERIA = frozenset({"newest", "second_newest", "oldest", "largest", "smallest"})
"""clouddriver ManifestController.Criteria."""

STRATEGIES = frozenset({"redblack", "bluegreen", "highlander", "none"})
"""Orca DeployManifestContext.TrafficManagement.ManifestStrategyType (bluegreen since Spinnaker 1.30)."""

TRAFFIC_KINDS = frozenset(
    {"pod", "replicaset", "deployment", "statefulset", "daemonset", "replicationcontroller"}
)
"""Kinds whose clouddriver handler is CanReceiveTraffic: trafficManagement attaches every one of them."""

SPEL_EVALUATORS = frozenset({"v3", "v4"})
"""v2 is `DO NOT USE`; an unknown value silently falls back to the default."""
