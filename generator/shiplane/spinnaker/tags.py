"""Docker trigger tag patterns: built from the environment's policy and tested against tag lists.

Echo fires a docker trigger when `tag.matches(pattern)` (a Java regex, whole-string match). A pattern is only
trusted after it has been run on tags it must and must not fire for; the lists below are the policy in examples.

Environments that follow every build (`image_tag: latest`) trigger on the build's immutable tag
`git-<40 hex commit>`, never on `latest` itself: without clouddriver's `trackDigests` (which drops every OCI tag,
see `shiplane.spinnaker.accounts`) igor only notices tags it has not seen before (igor DockerMonitor.getUpdateType:
"We have seen this tag before and are not tracking digests, so there is nothing to update"), and Echo binds the
artifact as `registry/repo:<tag>`, so a mutable tag would be deployed as a mutable reference.
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

BUILD_TAG_PREFIX = "git-"
"""The immutable tag of every build that passed the gate: `git-` + the full commit id (the Concourse build job's
put applies it next to `latest`, from the `revision` var loaded from git-resource's `.git/commit`)."""
BUILD_TAG_PATTERN = f"^{BUILD_TAG_PREFIX}[0-9a-f]{{40}}$"


def build_tag(revision: str) -> str:
    """The immutable tag of a build of `revision` (a full lowercase commit id)."""
    return f"{BUILD_TAG_PREFIX}{revision}"


@dataclass(frozen=True, slots=True)
class TagPolicy:
    """What an environment deploys: every build (`latest`: by its immutable `git-<commit>` tag), or release
    versions x.y.z (`semver`)."""

    image_tag: Literal["latest", "semver"]
    allow_v_prefix: bool = False
    pre_releases: bool = False

    def pattern(self) -> str:
        """The docker trigger `tag` (Java regex, anchored for readers; Echo matches the whole tag anyway)."""
        if self.image_tag == "latest":
            return BUILD_TAG_PATTERN
        prefix = "v?" if self.allow_v_prefix else ""
        return f"^{prefix}{_CORE}{_PRE_RELEASE if self.pre_releases else ''}$"

    def expectations(self) -> list[tuple[str, bool]]:
        """(tag, whether the trigger must fire) pairs that the pattern must satisfy."""
        if self.image_tag == "latest":
            commit = "0123456789abcdef0123456789abcdef01234567"
            fire = [f"git-{commit}", "git-" + "0" * 40, "git-" + "f" * 40]
            never = ["latest", "1.2.3", "v1.2.3", "1.2.3-rc.1", "Latest", f"git-{commit[:12]}", f"git-{commit}0",
                     f"git-{commit.upper()}", f"{commit}", f"sha-{commit}", f"git-{commit}-dirty",
                     f"xgit-{commit}", "git-", "main", "stable"]
            return [*[(tag, True) for tag in fire], *[(tag, False) for tag in never]]
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
            return "every build's immutable tag git-<commit> (never latest)"
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
        if echo_tag_matches(pattern, "latest"):
            return [f"{pattern!r} fires for latest, a mutable tag: Echo binds the image as <registry>/<repo>:latest, "
                    f"so every ReplicaSet version (and a rollback) runs whatever latest is when a pod starts, and "
                    f"without trackDigests igor never fires for latest again; trigger on an immutable tag per build "
                    f"such as {BUILD_TAG_PATTERN!r} or on releases such as {TagPolicy('semver').pattern()!r}"]
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
