"""When may check trust a cached listing? Harbor's version and the bounds on every shortcut.

``update_time`` of a repository (``GET …/repositories/{name}``) is check's only cheap change signal, and whether it
moves depends on Harbor's version (verified in goharbor/harbor at the release tags):

* **v2.15.2** bumps it on artifact create/delete (controller/artifact/controller.go ``ensureArtifact`` and
  ``deleteDeeply`` call ``touchRepo``), on tag create/move/delete (controller/tag/controller.go ``Ensure``, ``Create``,
  ``Delete`` call ``touchRepo``) and on pulls (pkg/repository/dao/dao.go ``AddPullCount``). ``touchRepo`` landed
  in v2.15.2 only (goharbor/harbor#23225, cherry-picked as #23292); v2.15.0, v2.15.1 and every v2.14.x and older
  release have no ``touchRepo``.
* **older releases** bump it only on pulls and repository edits (``AddPullCount``, ``Update``): a push by a tool
  that does not pull afterwards never moves it, so a cached listing can hide a release forever. check lists every
  artifact on every check there.

Even on v2.15.2 the repository record is served through Harbor's Redis cache (pkg/cached/repository/redis/
manager.go: ``GetByName`` saves what it read from the database for ``CACHE_EXPIRE_HOURS``, ``Touch`` deletes the
entry): a read that races a ``Touch`` can put the old ``update_time`` back for hours. So a full listing runs at
least every :data:`FULL_LISTING_INTERVAL` seconds whatever the version.

``harbor_version`` comes from ``GET /systeminfo`` (``v2.15.2-080b0220``: controller/systeminfo ``GetInfo`` formats
ReleaseVersion-GitCommit; only authenticated callers get it, handler/systeminfo.go ``GetSystemInfo``). It is read
at most every :data:`VERSION_TTL` seconds, on a check that lists anyway.
"""

from __future__ import annotations

import re

FULL_LISTING_INTERVAL = 300.0  # seconds: the longest a cached listing is trusted, whatever update_time says
VERSION_TTL = 3600.0  # seconds between /systeminfo reads
POLICY_TTL = 300.0  # seconds: the project's pull policy is re-read on the first listing after this
POLICY_MAX_AGE = 900.0  # seconds: older than this, a check that needs the policy reads it whatever it costs
TOUCH_REPO_SINCE = (2, 15, 2)  # the first release whose update_time moves on pushes and tag changes

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``v2.15.2-080b0220`` → (2, 15, 2); None for anything else (``dev``, empty)."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def update_time_reliable(harbor_version: str) -> bool:
    """Does this Harbor bump a repository's update_time on pushes and tag changes (v2.15.2 and later)?"""
    parsed = parse_version(harbor_version)
    return parsed is not None and parsed >= TOUCH_REPO_SINCE
