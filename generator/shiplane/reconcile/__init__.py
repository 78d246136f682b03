"""`shiplane plan` / `shiplane apply`: reconcile Spinnaker (through Gate) and Harbor (through its API) with the fleet
config. Modules: `run` (the commands), `apply` (carrying a plan out), `spinnaker` and `harbor` (desired state, plan
and apply per system), `changes` (the plan's objects), `diff` (JSON paths), `spinconfig` (spin's config file)."""
