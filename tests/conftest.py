"""Suite-wide guard: no test may reach the network.

Every socket connection and name lookup outside loopback and Unix sockets is refused
with an error, and recorded: a test that attempted one fails at teardown even if the
code under test caught the error (SDKs turn it into their own connection errors).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

# The Postgres and Redis servers the store tests run on (tests/_servers.py).
pytest_plugins = ["_servers"]

# No per-example time limit in property tests: the machines that run the suite are
# shared and noisy, and a deadline is a timing threshold that fails for that alone.
settings.register_profile("threadline", deadline=None)
settings.load_profile("threadline")

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}
_attempts: list[str] = []


class NetworkBlockedError(OSError):
    """A test tried to reach the network."""


def _is_local(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str) or host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> NetworkBlockedError:
    _attempts.append(what)
    return NetworkBlockedError(f"network access blocked in tests: {what}")


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        raise _refuse(f"connect {address!r}")
    return _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        raise _refuse(f"connect {address!r}")
    return _connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_local(host):
        raise _refuse(f"resolve {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo


def pytest_unconfigure(config: pytest.Config) -> None:
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo


@pytest.fixture(autouse=True)
def _network_guard() -> Iterator[None]:
    """Fail the test if it tried to reach the network, even if the error was swallowed."""
    del _attempts[:]
    yield
    if _attempts:
        attempts = ", ".join(_attempts)
        del _attempts[:]
        pytest.fail(f"test tried to reach the network: {attempts}")


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries record their waits here instead of sleeping."""
    from threadline import _concurrency

    waits: list[float] = []

    async def fake_asleep(seconds: float) -> None:
        waits.append(seconds)

    def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(_concurrency, "asleep", fake_asleep)
    monkeypatch.setattr(_concurrency, "sleep", fake_sleep)
    return waits


@pytest.fixture
def move_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``move_clock(timedelta)``: threadline's clock (``utcnow`` wherever it is imported)
    jumps ahead by that much, for expiry tests that must not sleep."""
    import sys
    from datetime import timedelta

    from threadline import messages

    real = messages.utcnow
    offset = [timedelta(0)]

    def shifted() -> Any:
        return real() + offset[0]

    for name, module in list(sys.modules.items()):
        if name.startswith("threadline") and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", shifted)

    def move(delta: timedelta) -> None:
        offset[0] += delta

    return move
