"""Shared fixtures: a real registry, test images, a test CA and the Harbor double (see tests/harbor_double/README.md).

Everything starts lazily, once per session, only for tests that ask for it. `harbor` / `harbor_tls` hand each test a
freshly reset double (state, scanner, faults, request log, clock) on a session-scoped server.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator

import pytest
from fixtures.images import Images
from fixtures.registry import Registry
from fixtures.tls import TestCA, make_ca
from harbor_double import HarborDouble
from hypothesis import settings

# No per-example deadline: Hypothesis' default (200 ms) is a timed unit test, and on 2 shared cores (CI runs two
# fresh-machine passes at once) an example fails for load, not for a bug ("Unreliable test timings"). Speed is
# measured by benchmarks/, never asserted in tests. A test that needs a bound sets its own @settings(deadline=...).
# In CI (CI=true) the examples are derandomized: the same inputs on every run, so CI fails for a change, never for a
# lucky draw. Developers' runs keep exploring new inputs (and replay failures from .hypothesis/) — that is how the
# property tests find new counterexamples; add each one as an @example.
settings.register_profile("shiplane", deadline=None, derandomize=os.environ.get("CI") == "true")
settings.load_profile("shiplane")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A running `docker-registry` on 127.0.0.1 with htpasswd auth (url, host, username, password, data_dir)."""
    server = Registry(tmp_path_factory.mktemp("registry"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    """Builds test images with umoci (cached for the session): `images.build(seed)`, `.oci_archive()`, …"""
    return Images(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A CA made with openssl for this session (`ca_pem`, `ca_file`, `cert_dir`) and a 127.0.0.1 server cert."""
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def harbor_server(registry: Registry) -> Iterator[HarborDouble]:
    double = HarborDouble(registry)
    double.start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture(scope="module")
def harbor_api() -> Iterator[HarborDouble]:
    """The Harbor double without a registry, for one test module: the API only (projects, metadata, allowlists,
    immutable rules, robots). Not reset between tests: each test calls ``harbor_api.reset()`` when it needs to."""
    double = HarborDouble(None)
    double.start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture(scope="session")
def harbor_tls_server(registry: Registry, test_ca: TestCA) -> Iterator[HarborDouble]:
    double = HarborDouble(registry, ca=test_ca)
    double.start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture
def harbor(harbor_server: HarborDouble) -> Iterator[HarborDouble]:
    """The plain-HTTP Harbor double, reset for this test (the resource needs `insecure: true` for it)."""
    harbor_server.reset()
    yield harbor_server
    harbor_server.check_healthy()


@pytest.fixture
def harbor_tls(harbor_tls_server: HarborDouble) -> Iterator[HarborDouble]:
    """The HTTPS Harbor double, reset for this test; trust it with `harbor_tls.ca_pem` (or `ca.cert_dir`)."""
    harbor_tls_server.reset()
    yield harbor_tls_server
    harbor_tls_server.check_healthy()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    """When a test that used the registry fails, attach the registry's log and the double's own errors."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    registry = funcargs.get("registry")
    if isinstance(registry, Registry):
        report.sections.append(("docker-registry log (tail)", registry.log_tail()))
    for name in ("harbor_server", "harbor_tls_server"):
        double = funcargs.get(name)
        if isinstance(double, HarborDouble) and (double.internal_errors or double.upstream_errors):
            text = "\n".join(double.internal_errors + double.upstream_errors)
            report.sections.append((f"{name}: errors inside the double", text))
