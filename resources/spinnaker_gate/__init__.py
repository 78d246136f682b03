"""A client of Spinnaker's Gate API, shared by ``shiplane plan``/``apply`` and the ``spinnaker-pipeline`` resource.

Standard library only, on :mod:`shiplane_http` (the project's one HTTP stack). Endpoints live in one module per
Gate controller family (applications and pipeline configs for ``shiplane apply``; pipeline triggers and executions
for the resource), all on :class:`~spinnaker_gate.client.Gate`.
"""

from spinnaker_gate.auth import GateAuth
from spinnaker_gate.client import Gate, GateError, GateLog

__all__ = ["Gate", "GateAuth", "GateError", "GateLog"]
