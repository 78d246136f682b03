"""The Gate client core: one :class:`Gate` per command, errors carrying Gate's own message.

Gate answers errors through kork-web (``GenericExceptionHandlers`` → ``GenericErrorController``, i.e. Spring Boot's
error attributes): ``{"timestamp", "status", "error", "message", ...}``. :func:`gate_error_text` turns that (or any
other body) into one line; :meth:`Gate.fail` adds what to do for 401/403 (Fiat).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from shiplane_http import ClientLog, Redactor, Response, Transport, TransportError

from spinnaker_gate.auth import GateAuth

USER_AGENT = "shiplane-gate-client/0.1"


class GateError(Exception):
    """A fatal, user-facing Gate problem: one line naming the request, Gate's answer and the fix. No secrets."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


GateLog = ClientLog  # what the client needs of a logger: debug lines and secret registration (redaction)


def gate_error_text(body: bytes, limit: int = 300, redactor: Redactor | None = None) -> str:
    """Gate's ``message`` (or ``error``) from a kork-web error body, else the raw text, on one line.

    With ``redactor`` the whole raw body is redacted first, then collapsed, escaped and cut
    (:meth:`Redactor.one_line`), so a secret Gate echoes is never printed, not even its first characters at the cut.
    """
    raw = body.decode("utf-8", "replace")
    if redactor is not None:
        raw = redactor.redact(raw)
    text = raw
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if isinstance(document, dict):
        parts = [str(document[key]) for key in ("error", "message") if isinstance(document.get(key), str | int)]
        if parts:
            text = ": ".join(dict.fromkeys(parts))
    if redactor is not None:
        return redactor.one_line(text, limit) or "(empty body)"
    flat = " ".join(text.split()) or "(empty body)"
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Gate:
    """Requests to one Gate (``url``, e.g. ``https://gate.example.com:8084``), authenticated by ``auth``.

    ``deadline`` is a ``time.monotonic()`` value bounding every request and retry. ``url_field``/``ca_field`` name
    the settings a user fixes in messages (``source.url`` for the resource, ``--gate-url`` for the CLI).
    """

    def __init__(
        self,
        url: str,
        auth: GateAuth,
        log: GateLog,
        deadline: float,
        *,
        insecure: bool = False,
        ca_certs: list[str] | None = None,
        url_field: str = "the Gate URL",
        ca_field: str = "the Gate CA certificates",
        **transport_options: Any,
    ) -> None:
        self.url = url.rstrip("/")
        self.auth = auth
        self.log = log
        # Gate's error bodies are redacted here, before they are cut, as well as by the log when printed
        self.redactor = Redactor()
        for secret in auth.secrets():
            log.add_secret(secret)
            self.redactor.add(secret)
        if auth.username is not None and auth.password is not None:
            log.add_secret(auth.password, auth.username)
            self.redactor.add(auth.password, auth.username)
        parts = urlsplit(self.url)
        # Gate behind a reverse proxy at a path (https://spinnaker.example.com/gate): that prefix goes on every path
        self._prefix = parts.path.rstrip("/")
        self.transport = Transport(
            f"{parts.scheme}://{parts.netloc}",
            log,
            deadline,
            service="Gate",
            url_field=url_field,
            ca_field=ca_field,
            auth_header=auth.header(),
            insecure=insecure,
            ca_certs=ca_certs,
            client_cert=auth.client_cert,
            client_key=auth.client_key,
            user_agent=USER_AGENT,
            **transport_options,
        )

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (retries included)."""
        return self.transport.requests

    def close(self) -> None:
        self.transport.close()

    def request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One call (``path`` from Gate's root, e.g. ``/applications/x``); whatever final status Gate gave."""
        try:
            return self.transport.request(method, self._prefix + path, query, body, headers)
        except TransportError as problem:
            raise GateError(str(problem)) from None

    @staticmethod
    def json(response: Response) -> Any:
        """The answer's JSON body; GateError when it is not JSON."""
        try:
            return response.json("Gate")
        except TransportError as problem:
            raise GateError(str(problem), response.status) from None

    def fail(self, response: Response, what: str) -> GateError:
        """The GateError for an unexpected answer, with Gate's message and what to do."""
        detail = gate_error_text(response.body, redactor=self.redactor)
        status = response.status
        if status == 401:
            hint = (
                "check the credentials (basic/LDAP user and password, the bearer token or the x509 certificate)"
                if self.auth.header() or self.auth.client_cert
                else "Gate requires authentication; give credentials"
            )
            return GateError(f"{what}: Gate refused the credentials (401 {detail}); {hint}", status)
        if status == 403:
            return GateError(
                f"{what}: forbidden (403 {detail}); the user needs the Fiat permission for this (READ to read, "
                "WRITE to save pipelines, EXECUTE to trigger) on the application",
                status,
            )
        return GateError(f"{what}: Gate answered {status} ({detail})", status)
