"""Harbor administration for ``shiplane plan``/``apply``: projects, metadata, CVE allowlists, immutable tag rules
and robot accounts, through Harbor's v2.0 API on :mod:`shiplane_http` (the project's one HTTP stack).

A package of its own beside the resource's client (``harbor_image.harbor``), not inside it: the resource's
``check`` must stay small and fast to import, and administration needs a Harbor administrator (or project admin)
while the resource runs with a robot account. Both share the transport and Harbor's error-body reading.
"""

from harbor_admin.client import HarborAdmin, HarborAdminError, RobotCreated

__all__ = ["HarborAdmin", "HarborAdminError", "RobotCreated"]
