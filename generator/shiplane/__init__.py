"""shiplane: render Concourse and Spinnaker pipelines for a fleet of apps and clusters."""
