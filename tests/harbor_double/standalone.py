"""Run the double outside pytest, e.g. from `benchmarks/` scripts:

sys.path.insert(0, str(ROOT / "tests"))
from harbor_double.standalone import running_double

with running_double() as harbor:                 # API only; registry=True adds a real docker-registry
    harbor.seed("team", "app", 10_000, scan=Outcome.severity("Low"))
    ...                                          # point the code at harbor.url; read harbor.requests
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fixtures.registry import Registry
from fixtures.tls import make_ca

from .double import HarborDouble


@contextlib.contextmanager
def running_double(workdir: Path | None = None, *, registry: bool = False, tls: bool = False) -> Iterator[HarborDouble]:
    """A started double (plus a real registry when `registry`, HTTPS when `tls`), stopped on exit."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="harbor-double-")))
        upstream = None
        if registry:
            upstream = Registry(workdir / "registry")
            upstream.start()
            stack.callback(upstream.stop)
        ca = make_ca(workdir / "ca") if tls else None
        double = HarborDouble(upstream, ca=ca)
        double.start()
        stack.callback(double.stop)
        yield double
