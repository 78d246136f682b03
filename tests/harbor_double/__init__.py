"""A Harbor v2.15.2 test double in front of a real registry (see README.md in this directory)."""

from .auth import ROBOT_CI_ACCESS, Robot, User
from .clock import Clock, fmt_time
from .double import ADMIN_PASSWORD, ADMIN_USERNAME, HarborDouble, HttpReply, SeededArtifact
from .errors import HarborError
from .faults import Fault
from .scanner import GENERIC_MIME, NATIVE_MIME, Outcome, Scanner, Vulnerability
from .server import LoggedRequest
from .state import Artifact, ImmutableRule, Project, Repository, Tag

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_USERNAME",
    "GENERIC_MIME",
    "NATIVE_MIME",
    "ROBOT_CI_ACCESS",
    "Artifact",
    "Clock",
    "Fault",
    "HarborDouble",
    "HarborError",
    "HttpReply",
    "ImmutableRule",
    "LoggedRequest",
    "Outcome",
    "Project",
    "Repository",
    "Robot",
    "Scanner",
    "SeededArtifact",
    "Tag",
    "User",
    "Vulnerability",
    "fmt_time",
]
