"""Named designs shipped with sparseforge, from every registered architecture.

Each preset is a config mapping (the YAML a user would write) plus one line saying what it is; it is
validated by the same :func:`~sparseforge.gen.config.parse_config` as a user's file. The presets
live beside each architecture's config (``gen/<arch>/presets.py``) and reach this list through
:mod:`sparseforge.gen.registry`.
"""

from . import registry
from .config import parse_config
from .errors import InputError

__all__ = ["DEFAULT_PRESET", "presets", "preset_names", "load_preset"]

DEFAULT_PRESET = "vdbb_2x8x4_2x2"


def presets():
    """``{name: (architecture, description, config mapping)}`` of every shipped design."""
    return {name: (arch.name, desc, raw) for arch in registry.architectures().values()
            for name, (desc, raw) in arch.presets.items()}


def preset_names():
    return list(presets())


def load_preset(name):
    """The validated config of a shipped preset (its name becomes the module name)."""
    table = presets()
    if name not in table:
        raise InputError(f"config: {name!r} is neither a file nor a preset "
                         f"(run 'sparseforge presets' to list them)")
    raw = dict(table[name][2])
    raw.setdefault("name", name)
    return parse_config(raw, default_name=name)
