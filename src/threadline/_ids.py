"""Sortable ids threadline generates, and validation of ids users supply.

Generated ids are ``<prefix>_<26 chars>``: a 48-bit millisecond timestamp and 80 random
bits in Crockford base32 (the ULID layout), monotonic within one process, so ids sort
by creation time as plain strings.
"""

from __future__ import annotations

import os
import re
import threading
import time

from .errors import ValidationError

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RANDOM_BITS = 80
_lock = threading.Lock()
_last_ms = -1
_last_random = 0

MAX_ID_LENGTH = 128
# Letters, digits and a few separators. No slashes, backslashes, whitespace, control
# characters, NULs or "..": an id may become part of a key, a file name or a URL path.
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+=-]*")


# Every 10-bit value as two digits: 13 lookups encode 130 bits. (base64.b32encode is
# pure Python on 3.11 and cost 17 µs an id, a tenth of a whole echo turn.)
_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]
_SHIFTS = range(120, -1, -10)


def _encode(value: int) -> str:
    """128 bits as 26 Crockford base32 digits (the two top bits are zero)."""
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in _SHIFTS])


def new_id(prefix: str) -> str:
    """A new time-sortable id such as ``ses_01jd3…``."""
    global _last_ms, _last_random
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            # Same millisecond (or a clock step back): keep order by counting up.
            now_ms = _last_ms
            _last_random = (_last_random + 1) % (1 << _RANDOM_BITS)
        else:
            _last_ms = now_ms
            _last_random = int.from_bytes(os.urandom(10), "big") >> 1
        value = (now_ms << _RANDOM_BITS) | _last_random
    return f"{prefix}_{_encode(value)}"


def validate_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a safe id, else raise `ValidationError`.

    Safe means: a non-empty string of at most 128 characters from ``[A-Za-z0-9_.:@+=-]``,
    starting with a letter or digit, without ``..``.
    """
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a string, not {type(value).__name__}")
    if not value:
        raise ValidationError(f"{what} must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise ValidationError(f"{what} is longer than {MAX_ID_LENGTH} characters")
    if not _ID_PATTERN.fullmatch(value) or ".." in value:
        raise ValidationError(
            f"{what} {value[:40]!r} may only hold letters, digits and _ . : @ + = - "
            "(starting with a letter or digit, no '..')"
        )
    return value
