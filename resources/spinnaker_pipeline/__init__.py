"""The ``spinnaker-pipeline`` Concourse resource type: trigger a Spinnaker pipeline with a digest-pinned image
(put), watch its executions (check) and report what they deployed (get). Gate through ``spinnaker_gate``."""
