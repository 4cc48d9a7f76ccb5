"""Validation of config mappings: the checks every architecture's parser shares.

Each function reads one key of a YAML mapping and raises
:class:`~sparseforge.gen.errors.ConfigError` naming the dotted field, the value found and what is
allowed, so every architecture reports a bad config in the same one line.
"""

import re

from .errors import ConfigError, short_repr

__all__ = ["check_keys", "int_field", "bool_field", "name_field", "pow2_at_least", "bits_for"]

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_KEY_RE = re.compile(r"[A-Za-z0-9_]{1,40}\Z")


def _where(path, key):
    """The dotted field of ``key`` in ``path``; a key that is not a plain word (a number, a
    list, text with spaces or newlines) is shown as its short ``repr``, so the message stays
    one line."""
    text = key if isinstance(key, str) and _KEY_RE.match(key) else short_repr(key)
    return f"{path}.{text}" if path else text


def check_keys(section, path, allowed):
    """Raise unless ``section`` is a mapping whose keys are all in ``allowed``."""
    if not isinstance(section, dict):
        raise ConfigError(path or "config", section, "a mapping")
    for key in section:
        if key not in allowed:
            raise ConfigError(_where(path, key), section[key],
                              f"no such key here (allowed keys: {', '.join(allowed)})")


def int_field(section, key, path, lo, hi, default=None):
    """The integer ``section[key]`` in ``lo..hi``; ``default`` when absent (required if None)."""
    where = _where(path, key)
    if key not in section:
        if default is None:
            raise ConfigError(where, None, f"an integer from {lo} to {hi} (this key is required)")
        return default
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(where, value, f"an integer from {lo} to {hi}")
    return value


def bool_field(section, key, path, default):
    """The boolean ``section[key]``, ``default`` when absent."""
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(_where(path, key), value, "true or false")
    return value


def name_field(value, where="name"):
    """A design name: a Verilog identifier of at most 64 characters."""
    if not isinstance(value, str) or not _NAME_RE.match(value) or len(value) > 64:
        raise ConfigError(where, value,
                          "a Verilog identifier of at most 64 characters (letters, digits, '_'; "
                          "not starting with a digit)")
    return value


def pow2_at_least(n):
    """The smallest power of two ≥ ``n`` (1 for ``n`` ≤ 1)."""
    return 1 << max(0, (n - 1).bit_length())


def bits_for(n):
    """Bits of an unsigned counter or index with ``n`` distinct values (at least 1)."""
    return max(1, (n - 1).bit_length())
