"""The architecture registry: every architecture described once, and the only place that lists them.

An architecture (``sta``, ``accel``, ``scnn``, ...) is one :class:`Architecture` descriptor, defined
in its own package ``sparseforge.gen.<name>`` as ``ARCH``: its config class and parser, presets,
top-level component, golden and cycle models, cocotb regression, ``run`` options and runner, and
the designs the test suite runs. ``generate``, ``lint``, ``synth``, ``test``, ``run``, ``presets``,
the manifest, the simulation builds and the benchmarks look an architecture up here and nowhere
else; adding one means adding its folders (``hdl/<name>``, ``sim/<name>``, ``tb/<name>``,
``gen/<name>``) and its name in :data:`BUILTIN`.

An architecture that lives outside sparseforge (a user's own, or the test suite's) is registered
with :func:`register`, or named in the ``SPARSEFORGE_ARCHS`` environment variable (module names,
comma-separated, each defining ``ARCH``) so that the simulator processes started by
:mod:`sparseforge.tb.runner` find it too.

Modules named by a descriptor are dotted strings (``"package.module"`` or
``"package.module:attribute"``), imported only when used: reading a config or a preset never
imports Amaranth or cocotb.
"""

import importlib
import os
from dataclasses import dataclass, field
from typing import Callable, Mapping

__all__ = ["Architecture", "RunOption", "BUILTIN", "register", "architectures", "get", "of",
           "plugin_modules", "resolve", "unregister"]

#: The architectures shipped with sparseforge, in the order ``presets`` lists them: each is the
#: package ``sparseforge.gen.<name>`` defining ``ARCH``.
BUILTIN = ("sta", "accel", "scnn", "ccr", "sparsecore")

#: Environment variable naming extra architecture modules (comma-separated).
ENV_VAR = "SPARSEFORGE_ARCHS"


@dataclass(frozen=True)
class RunOption:
    """An option of ``sparseforge run`` that an architecture adds to the shared ones.

    ``flags`` and ``kwargs`` are what :meth:`argparse.ArgumentParser.add_argument` takes; the
    option's ``dest`` is derived from the first long flag. Options must default to ``None`` or
    ``False`` so the CLI can tell which ones a user gave.
    """

    flags: tuple
    kwargs: Mapping = field(default_factory=dict)

    @property
    def dest(self):
        long = next(f for f in self.flags if f.startswith("--"))
        return self.kwargs.get("dest", long[2:].replace("-", "_"))


@dataclass(frozen=True)
class Architecture:
    """One architecture, described once.

    Parameters
    ----------
    name : str
        The value of ``arch:`` in a config.
    summary : str
        One line saying what it is (shown in errors and listings).
    config : type
        The frozen config dataclass; its instances have ``name``, ``arch`` (= ``name``) and
        ``notation`` (a short string in the paper's notation).
    parse : callable
        ``parse(raw, name) -> config``: validate a mapping (its ``arch`` and ``name`` keys already
        read), raising :class:`~sparseforge.gen.errors.ConfigError` on the first bad key.
    to_dict : callable
        ``to_dict(config) -> mapping`` that ``parse`` accepts again (the manifest's config).
    presets : mapping
        ``{name: (one-line description, config mapping)}``.
    top : str
        ``"module:Class"`` of the top-level ``wiring.Component``; ``Class(config)`` elaborates
        the design. It may define ``manifest_details()`` (extra manifest keys),
        ``memory_macros(config)`` (a classmethod or staticmethod listing its SRAM macros as
        ``[{"module", "words", "width"}]``) and ``PROBES`` (``{name: dotted signal path}`` that
        the benches read).
    golden, cycles : str
        Modules of the golden model and of the cycle model (``sim/<name>``).
    regression : str
        The cocotb module ``sparseforge test`` runs (``tb/<name>/regression.py``).
    run : str
        ``"module:function"``: ``function(config, args) -> RunOutput`` (its figures, whether
        they are bit- and cycle-exact, its text; :mod:`sparseforge.gen.run_result`) for
        :func:`sparseforge.gen.api.run` and ``sparseforge run``, which prints them; ``args``
        holds every ``run`` option, those this architecture does not accept unset.
    run_options : tuple
        The ``run`` options it accepts beyond the ones every architecture has (``--sim``,
        ``--seed``, ``--json``, ``--quiet``, ``--out``): ``dest`` names of the shared options of
        :mod:`sparseforge.gen.run_options`, or :class:`RunOption` objects of its own.
    regression_designs : mapping
        ``{design name: (config mapping, simulators)}``: the designs the test suite runs the
        regression on (small ones: the suite must stay within its time budget).
    demo : str or None
        ``"module:function"`` of ``sparseforge demo``'s tour, for architectures that have one.
    network : str or None
        ``"module:function"``: ``function(config)`` gives the
        :class:`~sparseforge.gen.run_network.Target` that runs a trained network's layers on the
        architecture (``run --model``), for architectures that can.
    soak : str or None
        The cocotb module of its soak (``tb/<name>/soak.py``, :mod:`sparseforge.tb.soak`): many
        random jobs on one build, run by ``benchmarks/soak.py`` on its first regression design.
    power : str or None
        ``"module:attribute"`` of its :class:`~sparseforge.gen.power.job.EnergyHooks`: the
        workload of ``sparseforge power``, its clock-gated registers, the components and actions
        of its energy model and the small design they are calibrated on. ``None``: no power
        analysis or energy model yet.
    """

    name: str
    summary: str
    config: type
    parse: Callable
    to_dict: Callable
    presets: Mapping
    top: str
    golden: str
    cycles: str
    regression: str
    run: str
    run_options: tuple = ()
    regression_designs: Mapping = field(default_factory=dict)
    demo: str | None = None
    network: str | None = None
    power: str | None = None
    soak: str | None = None

    def top_class(self):
        return resolve(self.top)

    def build_top(self, cfg):
        """The top-level component of ``cfg``."""
        return self.top_class()(cfg)

    def memory_macros(self, cfg):
        """The design's SRAM macros, ``[{"module", "words", "width"}]`` (may be empty)."""
        top = self.top_class()
        return top.memory_macros(cfg) if hasattr(top, "memory_macros") else []

    def probes(self):
        """``{name: dotted path}`` of the signals the benches probe below the top."""
        return dict(getattr(self.top_class(), "PROBES", {}))

    def run_function(self):
        return resolve(self.run)

    def own_options(self):
        """The :class:`RunOption` objects this architecture adds to ``run``."""
        return [opt for opt in self.run_options if isinstance(opt, RunOption)]

    def option_names(self):
        """``dest`` names of every ``run`` option it accepts beyond the common ones."""
        return {opt.dest if isinstance(opt, RunOption) else opt for opt in self.run_options}


def resolve(target):
    """Import ``"module"`` or ``"module:attribute"`` and return it."""
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


_REGISTRY = {}
_PLUGINS = []           # modules of architectures registered from outside sparseforge
_loaded = False


def register(arch, module=None):
    """Add an architecture; ``module`` names where its ``ARCH`` lives (for simulator processes).

    Raises
    ------
    TypeError
        ``arch`` is not an :class:`Architecture`.
    ValueError
        Another architecture of that name, or one of its presets' names, is registered already.
    """
    if not isinstance(arch, Architecture):
        raise TypeError(f"An architecture must be an Architecture descriptor, not {arch!r}")
    existing = _REGISTRY.get(arch.name)
    if existing is arch:
        return arch
    if existing is not None:
        raise ValueError(f"An architecture named {arch.name!r} is registered already")
    taken = {name for other in _REGISTRY.values() for name in other.presets}
    clash = sorted(taken & set(arch.presets))
    if clash:
        raise ValueError(f"Preset names {clash} of {arch.name!r} are taken by another "
                         "architecture")
    _REGISTRY[arch.name] = arch
    if module is not None and module not in _PLUGINS:
        _PLUGINS.append(module)
    return arch


def unregister(name):
    """Remove an architecture registered with :func:`register` (tests use it to clean up)."""
    arch = _REGISTRY.pop(name)
    for module in list(_PLUGINS):
        if getattr(importlib.import_module(module), "ARCH", None) is arch:
            _PLUGINS.remove(module)


def _load():
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in BUILTIN:
        register(importlib.import_module(f"sparseforge.gen.{name}").ARCH)
    for module in filter(None, (m.strip() for m in os.environ.get(ENV_VAR, "").split(","))):
        register(importlib.import_module(module).ARCH, module=module)


def architectures():
    """``{name: Architecture}`` of every registered architecture, built-ins first."""
    _load()
    return dict(_REGISTRY)


def get(name):
    """The architecture called ``name``; ``KeyError`` if there is none."""
    _load()
    return _REGISTRY[name]


def of(cfg):
    """The architecture of a config object."""
    return get(cfg.arch)


def plugin_modules():
    """Modules of the architectures registered from outside sparseforge (for subprocesses)."""
    _load()
    return list(_PLUGINS)
