"""Running a study's chunks of replications on a Dask distributed cluster.

A Dask client's executor (`Client.get_executor()`) is a `concurrent.futures.Executor`, so
`parallel.ordered_map` puts its results back in order as it does a process pool's: the output
does not depend on where a chunk ran. Dask is imported only here, and only when a scheduler is
given (`--scheduler ADDRESS` or `DASK_SCHEDULER_ADDRESS`); the workers need shrink installed, at
the same version, to unpickle the tasks.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Executor

from ..errors import UsageError

#: The environment variable Dask itself reads for the scheduler's address.
ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"


def scheduler_address(option: str | None) -> str | None:
    """The scheduler to use: the option's, else the environment's, else None (run locally)."""
    address = option if option is not None else os.environ.get(ADDRESS_ENV, "")
    return address.strip() or None


@contextlib.contextmanager
def dask_executor(address: str, timeout: float = 10.0) -> Iterator[Executor]:
    """An executor sending tasks to the Dask scheduler at `address` (e.g. 'tcp://host:8786'),
    closed afterwards. A missing Dask or an unreachable scheduler is a UsageError, raised
    before any work."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError(
            "needs Dask's distributed scheduler: pip install 'shrinkcli[dask]'", field="scheduler"
        ) from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(
            f"cannot reach a Dask scheduler at {address}: {reason}", field="scheduler"
        ) from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
