"""How a client authenticates to Gate, as ``spin`` users have it (spin/config/auth/authconfig.go).

* basic — ``auth.basic.username``/``password`` (Gate's basic or LDAP login): ``Authorization: Basic …`` on every
  request (spin/cmd/gateclient/client.go sets ``BasicAuth`` on its context; no session cookie is kept).
* x509 — a client certificate and unencrypted key (``auth.x509.cert``/``key`` PEM, or ``certPath``/``keyPath``):
  presented in the TLS handshake to Gate's x509 port (spin/config/auth/x509/config.go).
* bearer token — ``Authorization: Bearer …`` (an OAuth2 access token; spin's oauth2 ``cachedToken``, client.go).
"""

from __future__ import annotations

from base64 import b64encode
from dataclasses import dataclass


@dataclass(frozen=True)
class GateAuth:
    """Credentials for Gate; any combination of basic, x509 and bearer (x509 works beside either header).

    ``client_cert``/``client_key`` are PEM strings. ``secrets()`` lists every value that must never be printed.
    """

    username: str | None = None
    password: str | None = None
    token: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def header(self) -> str | None:
        """The ``Authorization`` header value, or None (x509-only or anonymous)."""
        if self.token:
            return f"Bearer {self.token}"
        if self.username is not None and self.password is not None:
            return "Basic " + b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return None

    def secrets(self) -> list[str]:
        """Values to redact from every line: the password, the token, the private key."""
        return [value for value in (self.password, self.token, self.client_key) if value]
