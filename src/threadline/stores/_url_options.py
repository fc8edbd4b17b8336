"""Store URL options and password hiding, shared by the Postgres and Redis stores.

A server store is named by one URL that carries the server's own parameters and
threadline's options (``pool_max=20``, ``key_prefix=app``) in its query. This module
splits the two, reads our options with clear `ConfigurationError` messages, and keeps
passwords out of everything a user may see: error messages, reprs and logs quote the
URL with its password replaced by ``***``, and `Secrets.scrub` removes a password a
driver message might echo.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from ..errors import ConfigurationError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Secrets:
    """The passwords a URL carries, to be scrubbed from any text shown to a user."""

    values: tuple[str, ...]

    def scrub(self, text: str) -> str:
        for secret in self.values:
            if secret:
                text = text.replace(secret, "***")
        return text


@dataclass(frozen=True)
class StoreUrl:
    """A server store URL: the part for the driver, our options, a printable form."""

    driver_url: str
    options: dict[str, str]
    shown: str
    secrets: Secrets


def parse_store_url(url: str, schemes: Collection[str], ours: Collection[str]) -> StoreUrl:
    """Split ``url`` into the driver's URL (without our options) and our options."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ConfigurationError(f"expected a {' or '.join(sorted(schemes))}:// URL")
    query = parse_qsl(parts.query, keep_blank_values=True)
    secrets = [v for k, v in query if k == "password"]
    if parts.password:
        secrets += [parts.password, unquote(parts.password)]
    options: dict[str, str] = {}
    rest: list[tuple[str, str]] = []
    for key, value in query:
        if key in ours:
            options[key] = value
        else:
            rest.append((key, value))
    driver_url = urlunsplit(parts._replace(query=urlencode(rest)))
    # Longest first, so that a password containing another is replaced whole.
    found = Secrets(tuple(sorted(set(secrets), key=len, reverse=True)))
    return StoreUrl(driver_url, options, redact(url), found)


def redact(url: str) -> str:
    """``url`` with its password (in the netloc or a ``password=`` option) as ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:***@{hostinfo}"
    query = [
        (k, "***" if k == "password" else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*")))


def int_option(options: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"store option {name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"store option {name} must be at least {minimum}")
    return value


def float_option(options: Mapping[str, str], name: str, default: float | None) -> float | None:
    """A positive number of seconds; ``0`` or ``none`` means no limit (None)."""
    raw = options.get(name)
    if raw is None:
        return default
    if raw.lower() in ("0", "none"):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"store option {name} must be seconds, not {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"store option {name} must be positive (or 0 for none)")
    return value


def bool_option(options: Mapping[str, str], name: str, default: bool) -> bool:
    raw = options.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigurationError(f"store option {name} must be true or false, not {raw!r}")


def choice_option(
    options: Mapping[str, str], name: str, choices: Collection[str], default: str
) -> str:
    raw = options.get(name, default)
    if raw not in choices:
        raise ConfigurationError(
            f"store option {name} must be one of {', '.join(choices)}, not {raw!r}"
        )
    return raw
