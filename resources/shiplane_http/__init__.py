"""shiplane's one HTTP stack: a JSON-over-HTTP(S) client on the standard library.

Shared by every client of the project (the ``harbor-image`` resource's Harbor client, the Spinnaker Gate client of
``shiplane apply`` and of the ``spinnaker-pipeline`` resource, Harbor administration in ``shiplane apply``), so that
deadlines, retries, TLS and redaction behave the same everywhere. Standard library only: the resources' ``check``
runs every minute for every resource of a Concourse cluster and must start fast.
"""

from shiplane_http.redact import Redactor
from shiplane_http.transport import ClientLog, Response, Transport, TransportError, TransportLog

__all__ = ["ClientLog", "Redactor", "Response", "Transport", "TransportError", "TransportLog"]
