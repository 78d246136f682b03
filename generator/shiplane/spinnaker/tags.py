"""Docker trigger tag patterns: built from the environment's policy and tested against tag lists.

Echo fires a docker trigger when `tag.matches(pattern)` (a Java regex, whole-string match). A pattern is only
trusted after it has been run on tags it must and must not fire for; the lists below are the policy in examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shiplane.spinnaker.javaregex import JavaRegexError, compile_java, echo_tag_matches

# Semantic Versioning 2.0.0 without build metadata (`+` is not allowed in a docker tag). `[0-9]`, never `\d`.
_NUMBER = "(?:0|[1-9][0-9]*)"
_IDENTIFIER = "(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_CORE = rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}"
_PRE_RELEASE = rf"(?:-{_IDENTIFIER}(?:\.{_IDENTIFIER})*)?"


@dataclass(frozen=True, slots=True)
class TagPolicy:
    """What an environment deploys: `latest` only, or release versions x.y.z."""

    image_tag: Literal["latest", "semver"]
    allow_v_prefix: bool = False
    pre_releases: bool = False

    def pattern(self) -> str:
        """The docker trigger `tag` (Java regex, anchored for readers; Echo matches the whole tag anyway)."""
        if self.image_tag == "latest":
            return "^latest$"
        prefix = "v?" if self.allow_v_prefix else ""
        return f"^{prefix}{_CORE}{_PRE_RELEASE if self.pre_releases else ''}$"

    def expectations(self) -> list[tuple[str, bool]]:
        """(tag, whether the trigger must fire) pairs that the pattern must satisfy."""
        if self.image_tag == "latest":
            never = ["1.2.3", "v1.2.3", "1.2.3-rc.1", "Latest", "LATEST", "latest-1", "latest.1", "alatest",
                     "main", "stable", "sha-0123abc"]
            return [("latest", True), *[(tag, False) for tag in never]]
        releases = ["0.0.0", "0.1.0", "1.2.3", "10.20.30", "2024.10.1"]
        pre = ["1.2.3-rc.1", "1.2.3-alpha", "1.2.3-beta.2", "1.0.0-0.3.7", "1.0.0-x-y-z.-"]
        never = ["latest", "1.2", "1", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3-rc..1",
                 "1.2.3-01", "release-1.2.3", "1.2.3_rc1", "V1.2.3", "vv1.2.3", "1.2.3rc1", "a1.2.3"]
        expected = [(tag, True) for tag in releases]
        expected += [(tag, self.pre_releases) for tag in pre]
        expected += [(f"v{tag}", self.allow_v_prefix) for tag in releases[:3]]
        expected += [(f"v{tag}", self.allow_v_prefix and self.pre_releases) for tag in pre[:2]]
        expected += [(tag, False) for tag in never]
        return expected

    def describe(self) -> str:
        if self.image_tag == "latest":
            return "only the tag latest"
        extras = []
        if self.allow_v_prefix:
            extras.append("an optional leading v")
        extras.append("pre-releases" if self.pre_releases else "no pre-releases")
        return f"release versions x.y.z ({', '.join(extras)})"


def check_tag_pattern(pattern: object, policy: TagPolicy | None) -> list[str]:
    """Problems of a docker trigger `tag`: Java validity and, given a policy, behaviour on the policy's tags."""
    if pattern is None or (isinstance(pattern, str) and not pattern.strip()):
        if policy is None:
            return []
        return [f"is blank, which Echo treats as every tag except latest; the environment deploys "
                f"{policy.describe()}: use {policy.pattern()!r}"]
    if not isinstance(pattern, str):
        return [f"must be a string (a Java regular expression), not {type(pattern).__name__}"]
    try:
        compile_java(pattern.strip())
    except JavaRegexError as exc:
        return [f"is not a Java regular expression Echo can use ({exc}); Echo never fires on an invalid pattern"]
    if policy is None:
        if echo_tag_matches(pattern, "latest") and echo_tag_matches(pattern, "1.2.3"):
            return [f"{pattern!r} fires for latest and for release tags such as 1.2.3 alike, so every push deploys; "
                    f"use '^latest$' for an environment that follows latest or a release pattern such as "
                    f"{TagPolicy('semver').pattern()!r}"]
        return []
    wrong_fire = [tag for tag, fire in policy.expectations() if fire and not echo_tag_matches(pattern, tag)]
    wrong_skip = [tag for tag, fire in policy.expectations() if not fire and echo_tag_matches(pattern, tag)]
    problems = []
    if wrong_fire:
        problems.append(f"{pattern!r} does not fire for {', '.join(map(repr, wrong_fire))}; the environment deploys "
                        f"{policy.describe()}: use {policy.pattern()!r}")
    if wrong_skip:
        problems.append(f"{pattern!r} fires for {', '.join(map(repr, wrong_skip))}; the environment deploys "
                        f"{policy.describe()}: use {policy.pattern()!r}")
    return problems
