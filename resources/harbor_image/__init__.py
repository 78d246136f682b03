"""harbor-image: a Concourse resource type for Harbor images with scan gating."""
