"""A test double of Spinnaker's Gate (and, behind it, the Front50/Orca/Echo behaviour its callers see).

Routes live in one module per Gate controller family and register themselves on :data:`routes.ROUTER`; each cites
the upstream controller it follows. The core here is the HTTP server, authentication (basic, bearer, x509), fault
injection and the request log. See ``GateDouble`` for the fixture API.
"""

from .double import GateDouble, LoggedRequest
from .state import GateState

__all__ = ["GateDouble", "GateState", "LoggedRequest"]
