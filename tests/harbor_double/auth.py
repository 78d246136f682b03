"""Who is calling and what they may do: users, project roles, robot accounts and registry bearer tokens.

Permissions follow src/common/rbac/project/rbac_role.go (only the resources the resource type touches) and the
public-project policy of rbac_util.go. Bad credentials make the caller anonymous (Harbor's basic-auth generator
falls through), so a private project answers 401 and a public one still allows pulls and reads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

Permission = tuple[str, str]  # (resource, action)

_READ = {
    ("self", "read"),
    ("scanner", "read"),
    ("repository", "list"),
    ("repository", "pull"),
    ("repository", "read"),
    ("artifact", "list"),
    ("artifact", "read"),
    ("artifact-addition", "read"),
    ("scan", "read"),
    ("tag", "list"),
}
_DEVELOPER = _READ | {
    ("repository", "create"),
    ("repository", "push"),
    ("repository", "update"),
    ("artifact", "create"),
    ("tag", "create"),
}
_MAINTAINER = _DEVELOPER | {
    ("repository", "delete"),
    ("artifact", "delete"),
    ("tag", "delete"),
    ("scan", "create"),
    ("scan", "stop"),
}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "projectAdmin": frozenset(_MAINTAINER),
    "maintainer": frozenset(_MAINTAINER),
    "developer": frozenset(_DEVELOPER),  # note: a developer may push but not trigger a scan (scan:create)
    "guest": frozenset(_READ),
    "limitedGuest": frozenset(_READ),
}

PUBLIC_PERMISSIONS: frozenset[Permission] = frozenset(
    {
        ("self", "read"),
        ("scanner", "read"),
        ("repository", "list"),
        ("repository", "pull"),
        ("scan", "read"),
        ("tag", "list"),
        ("artifact", "read"),
        ("artifact", "list"),
        ("artifact-addition", "read"),
    }
)

# What a CI robot for the resource needs — exactly the permissions it uses (docs/harbor-image.md): project:read
# (the pull policy), repository:read (update_time), repository:pull/push (skopeo), artifact:list/read (listings),
# artifact-addition:read (vulnerability reports) and scan:create (scan requests). Tags are applied by pushing the
# manifest (repository:push), never through the tag API, and scans are never stopped or their logs read.
ROBOT_CI_ACCESS: tuple[Permission, ...] = (
    ("project", "read"),
    ("repository", "read"),
    ("repository", "pull"),
    ("repository", "push"),
    ("artifact", "list"),
    ("artifact", "read"),
    ("scan", "create"),
    ("artifact-addition", "read"),
)
# A project-level robot permission on the resource "project" is the project namespace itself
# (common/security/robot/context.go getPolicyResource: "/project/1", not "/project/1/project").
ROBOT_RESOURCE_ALIASES: dict[Permission, Permission] = {("project", "read"): ("self", "read")}

# Registry token scopes (src/core/service/token/creator.go actionScopeMap).
TOKEN_ACTIONS = ("pull", "push", "delete", "scanner-pull")
REGISTRY_ACTION_PERMISSION = {
    "pull": ("repository", "pull"),
    "push": ("repository", "push"),
    "delete": ("repository", "delete"),
    "scanner-pull": ("repository", "scanner-pull"),
}

ROBOT_PREFIX = "robot$"


@dataclass(frozen=True)
class Principal:
    """The security context of one request."""

    name: str = ""
    sysadmin: bool = False
    robot_project: str | None = None
    robot_access: frozenset[Permission] = frozenset()
    # set for a registry bearer token: project name -> granted actions (v2token/context.go keys by project)
    token_access: dict[str, frozenset[str]] | None = None

    @property
    def authenticated(self) -> bool:
        return bool(self.name)

    @property
    def is_robot(self) -> bool:
        return self.robot_project is not None


ANONYMOUS = Principal()


@dataclass
class Robot:
    name: str  # full name: robot$project+name
    secret: str
    project: str
    access: frozenset[Permission]
    disabled: bool = False
    # what the robot API (admin_api.py) keeps besides: id, description, duration (days, -1 never), creation time
    id: int = 0
    description: str = ""
    duration: int = -1
    created: datetime | None = None


@dataclass
class User:
    name: str
    password: str
    sysadmin: bool = False


@dataclass
class Token:
    subject: str
    access: dict[str, frozenset[str]]  # project -> actions
    expires_at: datetime


@dataclass
class Accounts:
    """Users, memberships, robots and issued registry tokens."""

    users: dict[str, User] = field(default_factory=dict)
    members: dict[tuple[str, str], str] = field(default_factory=dict)  # (project, user) -> role
    robots: dict[str, Robot] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    token_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def authenticate(self, username: str, password: str) -> Principal:
        """A basic-auth login; ANONYMOUS when the credentials are wrong (Harbor does not reject them here)."""
        robot = self.robots.get(username)
        if robot is not None:
            if not robot.disabled and hmac.compare_digest(robot.secret, password):
                return Principal(name=robot.name, robot_project=robot.project, robot_access=robot.access)
            return ANONYMOUS
        user = self.users.get(username)
        if user is not None and hmac.compare_digest(user.password, password):
            return Principal(name=user.name, sysadmin=user.sysadmin)
        return ANONYMOUS

    def permissions(self, principal: Principal, project: str, public: bool) -> frozenset[Permission]:
        """What `principal` may do in `project` (a project that exists)."""
        granted: set[Permission] = set(PUBLIC_PERMISSIONS) if public else set()
        if principal.sysadmin:
            return frozenset(ROLE_PERMISSIONS["projectAdmin"] | {("repository", "scanner-pull")})
        if principal.robot_project is not None:
            if principal.robot_project == project:
                granted |= {ROBOT_RESOURCE_ALIASES.get(p, p) for p in principal.robot_access}
            return frozenset(granted)
        role = self.members.get((project, principal.name)) if principal.authenticated else None
        if role is not None:
            granted |= ROLE_PERMISSIONS[role]
        return frozenset(granted)

    def issue_token(self, subject: str, access: list[tuple[str, frozenset[str]]], now: datetime, ttl: int) -> str:
        """A JWT-shaped bearer token for the registry (opaque to clients, validated by lookup).

        `access` is (repository, actions) per requested scope; like Harbor's token context the grant is kept per
        project (the last scope of a project wins).
        """
        header = {"alg": "HS256", "typ": "JWT", "kid": "shiplane-test"}
        claims = {
            "iss": "harbor-token-issuer",
            "sub": subject,
            "aud": "harbor-registry",
            "exp": int(now.timestamp()) + ttl,
            "iat": int(now.timestamp()),
            "jti": secrets.token_hex(8),
            "access": [{"type": "repository", "name": name, "actions": sorted(actions)} for name, actions in access],
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self.token_key, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64(signature)}"
        by_project = {name.split("/", 1)[0]: actions for name, actions in access}
        self.tokens[token] = Token(subject=subject, access=by_project, expires_at=now + timedelta(seconds=ttl))
        return token

    def bearer(self, token: str, now: datetime) -> Principal | None:
        """The principal of a valid, unexpired token; None otherwise (Harbor then treats the caller as anonymous)."""
        issued = self.tokens.get(token)
        if issued is None or issued.expires_at <= now:
            return None
        return Principal(name=issued.subject, token_access=issued.access)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parse_basic(header: str) -> tuple[str, str] | None:
    """(username, password) from an `Authorization: Basic …` header, or None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return username, password
