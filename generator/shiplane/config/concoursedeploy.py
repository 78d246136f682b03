"""The fleet config's concourse_deploy settings as one :class:`~shiplane.model.ConcourseDeploy`.

``environments.<env>.concourse_deploy``, ``apps.<app>.smoke_test``, ``spinnaker.gate`` and
``concourse.images.spinnaker_pipeline`` (defaults already filled in by the schema). Raises
:class:`~shiplane.errors.ShiplaneError` naming the key when an environment opts in without ``spinnaker.gate.url``.
"""

from __future__ import annotations

from typing import Any

from shiplane.errors import ShiplaneError
from shiplane.model import ConcourseDeploy, Image, SmokeTest


def _image(raw: dict[str, Any]) -> Image:
    return Image(repository=raw["repository"], tag=raw["tag"], private=raw.get("private", False))


def load(config: dict[str, Any]) -> ConcourseDeploy:
    gate = config["spinnaker"].get("gate", {})
    timeouts = tuple(
        (name, raw["concourse_deploy"]["timeout"])
        for name, raw in config["environments"].items()
        if raw.get("concourse_deploy", {}).get("enabled")
    )
    if timeouts and not gate.get("url"):
        raise ShiplaneError(
            f"spinnaker.gate.url: required because environments.{timeouts[0][0]}.concourse_deploy.enabled is true; "
            "give Gate's URL as Concourse workers reach it (e.g. https://gate.example.com:8084)"
        )
    smoke_tests = tuple(
        (name, SmokeTest(raw["smoke_test"]["command"],
                         _image(raw["smoke_test"]["image"]) if "image" in raw["smoke_test"] else None))
        for name, raw in sorted(config["apps"].items())
        if "smoke_test" in raw
    )
    return ConcourseDeploy(
        gate_url=gate.get("url").rstrip("/") if gate.get("url") else None,
        deck_url=gate.get("deck_url").rstrip("/") if gate.get("deck_url") else None,
        username_var=gate.get("username_var", "spinnaker-username"),
        password_var=gate.get("password_var", "spinnaker-password"),
        image=_image(config["concourse"]["images"]["spinnaker_pipeline"]),
        timeouts=timeouts,
        smoke_tests=smoke_tests,
    )
