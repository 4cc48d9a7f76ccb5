"""Configs: one frozen, validated object per design feeds the RTL, models, tests and flows.

A config is written in YAML (or taken from a preset, see :mod:`sparseforge.gen.presets`) and parsed
once by :func:`parse_config`, which reads ``arch`` and ``name`` and hands the rest to that
architecture's parser (:mod:`sparseforge.gen.registry`). Every check lives in those parsers, so the
hardware generators, the golden and cycle models and the CLI can trust the values they receive.
Pure Python: the models in ``sim/`` use configs without importing Amaranth.
"""

import json
import os
import re
from pathlib import Path

import yaml

from . import registry
from .errors import ConfigError, InputError
from .schema import name_field

__all__ = ["parse_config", "load_config_file", "config_to_dict", "default_name_for",
           "config_from_env", "CONFIG_ENV"]

#: libyaml's safe loader when PyYAML was built with it: five times faster on large files, and it
#: refuses nesting deeper than 1,000 levels at once (the pure-Python loader recurses until Python's
#: limit, which takes seconds). Both build the same objects.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Environment variable that carries a config (as JSON) into cocotb simulator processes.
CONFIG_ENV = "SPARSEFORGE_CONFIG"


def parse_config(raw, default_name="design"):
    """Validate a config mapping (as loaded from YAML) and return its frozen config object.

    Raises
    ------
    ConfigError
        On the first key that is missing, unknown, of the wrong type or out of range.
    """
    if not isinstance(raw, dict):
        raise ConfigError("config", raw, "a YAML mapping of keys to values")
    archs = registry.architectures()
    arch = raw.get("arch")
    if not isinstance(arch, str) or arch not in archs:
        raise ConfigError("arch", arch, "one of " + ", ".join(archs))
    name = name_field(raw.get("name", default_name))
    return archs[arch].parse(raw, name)


def default_name_for(path):
    """A Verilog-safe module name from a file name (``my-design.yaml`` → ``my_design``)."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", Path(path).stem) or "design"
    return stem if not stem[0].isdigit() else "d_" + stem


def load_config_file(path):
    """Read and validate a YAML config file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(f"config: cannot read {str(path)!r}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"config: {str(path)!r} is not a text file (expected YAML)") from None
    try:
        raw = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"config: {str(path)!r} is not valid YAML{where}") from None
    except RecursionError:
        raise InputError(f"config: {str(path)!r} is nested too deeply; expected a YAML mapping "
                         "of keys to values") from None
    if raw is None:
        raise ConfigError("config", str(path), "a YAML mapping of keys to values (the file is "
                          "empty)")
    return parse_config(raw, default_name=default_name_for(path))


def config_to_dict(config):
    """The config as a plain mapping in YAML form (round-trips through :func:`parse_config`)."""
    arch = getattr(config, "arch", None)
    archs = registry.architectures()
    if not isinstance(arch, str) or arch not in archs or \
            not isinstance(config, archs[arch].config):
        raise TypeError(f"Not a sparseforge config: {config!r}")
    return archs[arch].to_dict(config)


def config_from_env():
    """The config a simulator process was started with (``$SPARSEFORGE_CONFIG``, JSON)."""
    return parse_config(json.loads(os.environ[CONFIG_ENV]))
