"""Fixtures of the harbor-image black-box tests (helpers in resource_helpers.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from resource_helpers import Resource, Team, make_team


@pytest.fixture
def resource(tmp_path: Path) -> Iterator[Resource]:
    """Runs harbor-image-check/in/out as Concourse does; one check cache per test (a reused check container)."""
    cache = tmp_path / "check-cache"
    yield Resource(cache)
    shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture
def team(harbor: Any, resource: Resource) -> Team:
    """The plain-HTTP double with project team and robot$team+ci (the README's recommended permissions)."""
    return make_team(harbor, resource)


@pytest.fixture
def team_tls(harbor_tls: Any, resource: Resource) -> Team:
    """The HTTPS double (trusted through source.ca_certs) with project team and robot$team+ci."""
    return make_team(harbor_tls, resource)
