"""Gate endpoint and credentials the way `spin` users have them: spin's config file.

Read like spin/cmd/gateclient/client.go `userConfig` + `InitializeHTTPClient` (spin/config/config.go,
spin/config/auth/*): `--spin-config FILE`, else the content of `$SHIPLANE_SPIN_CONFIG` (for CI: a credential-manager
((var)) holding the file), else `~/.spin/config` when it exists (no file: anonymous, like spin). `$VAR` and `${VAR}`
are expanded from the environment first (Go's os.ExpandEnv: unset is empty). Keys are checked strictly (spin uses
yaml.UnmarshalStrict). The endpoint is `gate.endpoint` (`--gate-url` overrides it; default
`http://localhost:8084`, spin's). Credentials count only with `auth.enabled: true`:

* `auth.basic.username`/`password` — HTTP Basic on every request;
* `auth.x509.certPath`/`keyPath` (`~` expanded) or inline PEM `cert`/`key` — the TLS client certificate;
* `auth.oauth2.cachedToken.access_token` — a Bearer token (spin's cached OAuth2 login);
* `auth.ignoreCertErrors` — TLS without verification.

LDAP form login, IAP, Google service accounts and API tokens need flows shiplane does not run: they are refused
with a message naming the setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from spinnaker_gate import GateAuth

from shiplane.errors import ShiplaneError

DEFAULT_ENDPOINT = "http://localhost:8084"
ENV_CONTENT = "SHIPLANE_SPIN_CONFIG"
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
KNOWN: dict[str, set[str]] = {
    "": {"gate", "auth"},
    "gate": {"endpoint", "retryTimeout"},
    "auth": {"enabled", "ignoreRedirects", "ignoreCertErrors", "x509", "oauth2", "basic", "iap", "ldap",
             "apiToken", "google_service_account"},
    "auth.basic": {"username", "password"},
    "auth.x509": {"certPath", "keyPath", "cert", "key"},
}


@dataclass(frozen=True)
class GateSettings:
    url: str
    auth: GateAuth
    insecure: bool
    source: str
    """Where the settings came from, for messages (a path or the variable's name; never the content)."""


def expand_env(text: str, env: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)


def _check_keys(section: Any, where: str, source: str) -> None:
    if section is None:
        return
    if not isinstance(section, dict):
        raise ShiplaneError(f"{source}: {where or 'the file'} must be a mapping")
    known = KNOWN.get(where)
    if known is None:
        return
    for key in section:
        if key not in known:
            field = f"{where}.{key}" if where else str(key)
            raise ShiplaneError(f"{source}: unknown setting {field} (spin reads its config strictly); remove it")
        child = f"{where}.{key}" if where else str(key)
        if isinstance(section[key], dict):
            _check_keys(section[key], child, source)


def _read(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as problem:
        raise ShiplaneError(f"{source}: cannot read it ({problem.strerror}); give spin's config file") from None


def _file_text(value: str, field: str, source: str) -> str:
    path = Path(value).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as problem:
        raise ShiplaneError(f"{source}: {field} {value}: cannot read it ({problem.strerror})") from None


def load(spin_config: str | None, gate_url: str | None, env: Mapping[str, str], home: Path | None = None
         ) -> GateSettings:
    """The Gate URL, credentials and TLS mode; ShiplaneError naming the setting when they are unusable."""
    if spin_config is not None:
        source = spin_config
        text: str | None = _read(Path(spin_config).expanduser(), f"--spin-config {spin_config}")
    elif env.get(ENV_CONTENT):
        source = f"${ENV_CONTENT}"
        text = env[ENV_CONTENT]
    else:
        default = (home or Path.home()) / ".spin" / "config"
        source = str(default)
        text = _read(default, source) if default.is_file() else None
    data: dict[str, Any] = {}
    if text is not None:
        try:
            loaded = yaml.safe_load(expand_env(text, env))
        except yaml.YAMLError as problem:
            mark = getattr(problem, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ShiplaneError(f"{source}: not valid YAML{where}; fix the spin config") from None
        _check_keys(loaded, "", source)
        data = loaded or {}
    endpoint = gate_url or str((data.get("gate") or {}).get("endpoint") or "") or DEFAULT_ENDPOINT
    field = "--gate-url" if gate_url else f"{source}: gate.endpoint"
    if "@" in endpoint:  # user:password@host: never echoed, and spin keeps credentials under auth
        raise ShiplaneError(f"{field}: must not contain credentials (user:password@); give them in the spin "
                            "config's auth.basic")
    if not re.match(r"^https?://[^/\s]+", endpoint):
        raise ShiplaneError(f"{field}: {endpoint!r} is not an http(s) URL; give Gate's URL, e.g. https://gate:8084")
    auth_section = data.get("auth") or {}
    if not auth_section.get("enabled"):
        return GateSettings(endpoint, GateAuth(), bool(auth_section.get("ignoreCertErrors")), source)
    for unsupported, how in (("ldap", "use auth.basic (Gate's basic/LDAP user and password)"),
                             ("iap", "use auth.x509 or auth.basic"),
                             ("google_service_account", "use auth.x509 or auth.basic"),
                             ("apiToken", "use auth.x509, auth.basic or auth.oauth2")):
        if auth_section.get(unsupported):
            raise ShiplaneError(f"{source}: auth.{unsupported} is not supported by shiplane; {how}")
    username = password = token = cert = key = None
    basic = auth_section.get("basic") or {}
    if basic:
        username, password = basic.get("username"), basic.get("password")
        if not username or password is None:
            raise ShiplaneError(f"{source}: auth.basic needs username and password")
        username, password = str(username), str(password)
    x509 = auth_section.get("x509") or {}
    if x509:
        if x509.get("certPath") and x509.get("keyPath"):
            cert = _file_text(str(x509["certPath"]), "auth.x509.certPath", source)
            key = _file_text(str(x509["keyPath"]), "auth.x509.keyPath", source)
        elif x509.get("cert") and x509.get("key"):
            cert, key = str(x509["cert"]), str(x509["key"])
        else:
            raise ShiplaneError(f"{source}: auth.x509 must give certPath and keyPath, or cert and key (PEM)")
    oauth2 = auth_section.get("oauth2") or {}
    cached = oauth2.get("cachedToken") if isinstance(oauth2, dict) else None
    if isinstance(cached, dict) and cached.get("access_token"):
        token = str(cached["access_token"])
    elif oauth2:
        raise ShiplaneError(f"{source}: auth.oauth2 has no cachedToken.access_token; log in with spin first "
                            f"(shiplane does not run the OAuth2 browser flow)")
    return GateSettings(endpoint, GateAuth(username, password, token, cert, key),
                        bool(auth_section.get("ignoreCertErrors")), source)
