"""A sweep specification: a base design, the axes to vary, the workload and the metrics to collect.

A spec is a YAML mapping::

    base: {arch: sta, kind: vdbb, tpe: {a: 2, b: 8, c: 4}, array: {m: 2, n: 2}}
    axes:
      array.m: [1, 2]          # any config key, dotted
      tpe.c: [2, 4]
      workload.nnz: [2, 8]     # any `run` option, under workload.
    metrics: [cells, cycles]
    workload: {gemm: [16, 64, 16], nnz: [2, 8]}

``base`` is a config mapping or a preset name. ``workload`` holds ``sparseforge run`` options by
name (``gemm``, ``conv``, ``layer``, ``network``, ``nnz``, ``act_density``, ``km``, ...); a list
given to an option that takes one number or one name is an axis too, so ``nnz: [2, 8]`` above
sweeps two densities. ``gemm`` and ``conv`` take one shape (``[16, 64, 16]`` or ``"16,64,16"``) or
a list of shapes. The points are the Cartesian product of every axis, in the order written.
"""

import itertools
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..config import config_to_dict, parse_config
from ..errors import ConfigError, InputError
from ..presets import presets
from ..schema import check_keys

__all__ = ["METRICS", "Point", "SweepSpec", "load_spec", "parse_spec"]

#: metric → (job kind, one line saying what it is). Synthesis metrics depend on the design only;
#: the others on the design and the workload.
METRICS = {
    "cells": ("generic", "Yosys generic gates (black-boxed SRAMs excluded)"),
    "flops": ("generic", "flip-flop bits"),
    "area": ("liberty", "OSU 0.18 um logic area plus SRAM macros, um2"),
    "logic_area": ("liberty", "OSU 0.18 um logic area, um2"),
    "luts": ("ecp5", "ECP5 LUT4s after place and route"),
    "fmax": ("ecp5", "ECP5 Fmax of clk, MHz"),
    "cycles": ("model", "cycles of the workload, from the cycle model"),
    "utilization": ("model", "useful work over capacity, from the cycle model"),
    "rtl": ("rtl", "the workload simulated on the RTL: mismatches and cycles against the model"),
    "energy": ("power", "gate-level energy of the workload, pJ (architectures with a power flow)"),
}

#: ``run`` options that take a shape (a list of integers) rather than one value.
SHAPE_OPTIONS = ("gemm", "conv")
SPEC_KEYS = ("base", "axes", "metrics", "workload")


@dataclass(frozen=True)
class Point:
    """One design and workload of a sweep.

    ``config`` is the validated design (its mapping in :attr:`raw`), ``workload`` the ``run``
    options as ``((name, value), ...)``, ``values`` the axis values that made it
    (``{axis: value}``), in the spec's order.
    """

    index: int
    raw: dict
    workload: tuple
    values: dict

    @property
    def config(self):
        return parse_config(self.raw)


@dataclass(frozen=True)
class SweepSpec:
    base: dict
    axes: tuple          # ((axis name, (values...)), ...)
    metrics: tuple
    workload: tuple      # ((option, value), ...) fixed for every point

    @property
    def kinds(self):
        """The job kinds the metrics need, in a stable order."""
        return tuple(dict.fromkeys(METRICS[m][0] for m in self.metrics))

    def points(self):
        """Every point: the Cartesian product of the axes applied to the base."""
        names = [name for name, _ in self.axes]
        out = []
        for index, combo in enumerate(itertools.product(*(vals for _, vals in self.axes))):
            raw = _copy(self.base)
            workload = dict(self.workload)
            for name, value in zip(names, combo):
                if name.startswith("workload."):
                    workload[name.removeprefix("workload.")] = value
                else:
                    _set(raw, name, value)
            try:
                cfg = parse_config(raw, default_name=raw.get("name", "sweep"))
            except ConfigError as e:
                where = ", ".join(f"{n}={v}" for n, v in zip(names, combo))
                raise InputError(f"axes: the point {where} is not a valid design: {e}") from None
            raw = config_to_dict(cfg)
            out.append(Point(index, raw, tuple(sorted(workload.items())), dict(zip(names, combo))))
        return out


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _set(raw, dotted, value):
    keys = dotted.split(".")
    node = raw
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise InputError(f"axes: {dotted!r} is not allowed; {key!r} of the base is not a "
                             "mapping")
        node = child
    node[keys[-1]] = value


def _shape(option, value):
    """One shape as the CLI writes it (``"16,64,16"``), or None if ``value`` is not one."""
    if isinstance(value, str) and value and all(p.strip().isdigit() for p in value.split(",")):
        return value.replace(" ", "")
    if (isinstance(value, list) and value
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return ",".join(str(v) for v in value)
    return None


def _workload_values(option, value):
    """The values one workload entry takes: one (fixed) or several (an axis)."""
    field = f"workload.{option}"
    if option in SHAPE_OPTIONS:
        one = _shape(option, value)
        if one is not None:
            return [one]
        if isinstance(value, list) and value:
            shapes = [_shape(option, v) for v in value]
            if all(s is not None for s in shapes):
                return shapes
        raise ConfigError(field, value, "a shape such as [16, 64, 16] or '16,64,16', or a list "
                          "of shapes")
    if isinstance(value, list):
        if not value or any(isinstance(v, (list, dict)) for v in value):
            raise ConfigError(field, value, "a value or a non-empty list of values")
        return value
    if isinstance(value, dict):
        raise ConfigError(field, value, "a value or a non-empty list of values")
    return [value]


def parse_spec(raw):
    """Validate a spec mapping; :class:`~sparseforge.gen.errors.InputError` on the first fault."""
    if not isinstance(raw, dict):
        raise ConfigError("spec", raw, "a YAML mapping with base, axes, metrics, workload")
    check_keys(raw, "", SPEC_KEYS)
    base = raw.get("base")
    if isinstance(base, str):
        table = presets()
        if base not in table:
            raise ConfigError("base", base, "a config mapping or a preset name (see "
                              "'sparseforge presets')")
        base = {**table[base][2], "name": base}
    if not isinstance(base, dict):
        raise ConfigError("base", base, "a config mapping or a preset name")
    parse_config(_copy(base), default_name=base.get("name", "sweep"))    # the base itself is valid

    metrics = raw.get("metrics")
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list) or not metrics:
        raise ConfigError("metrics", metrics, "a non-empty list of " + ", ".join(METRICS))
    for metric in metrics:
        if metric not in METRICS:
            raise ConfigError("metrics", metric, "one of " + ", ".join(METRICS))
    metrics = tuple(dict.fromkeys(metrics))

    workload = raw.get("workload") or {}
    if not isinstance(workload, dict):
        raise ConfigError("workload", workload, "a mapping of run options to values")
    needs_workload = any(METRICS[m][0] in ("model", "rtl", "power") for m in metrics)

    axes = raw.get("axes") or {}
    if not isinstance(axes, dict):
        raise ConfigError("axes", axes, "a mapping of config keys to lists of values")
    axis_list = []
    for name, values in axes.items():
        if not isinstance(name, str) or not name or any(not p for p in str(name).split(".")):
            raise ConfigError("axes", name, "a dotted config key such as array.m, or "
                              "workload.<run option>")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"axes.{name}", values, "a non-empty list of values")
        if name.startswith("workload."):
            option = name.removeprefix("workload.")
            values = [v for value in values for v in _workload_values(option, value)]
        axis_list.append((name, tuple(values)))
    fixed = []
    for option, value in workload.items():
        if not isinstance(option, str) or not option.replace("_", "").isalnum():
            raise ConfigError("workload", option, "run option names such as gemm, conv, nnz")
        values = _workload_values(option, value)
        if len(values) == 1:
            fixed.append((option, values[0]))
        elif f"workload.{option}" in axes:
            raise ConfigError(f"workload.{option}", value, "one value when axes also sweeps it")
        else:
            axis_list.append((f"workload.{option}", tuple(values)))
    if needs_workload and not any(n.startswith("workload.") for n, _ in axis_list) and not fixed:
        raise ConfigError("workload", None, "run options (gemm, conv, layer, network, ...) for "
                          "the metrics " + ", ".join(m for m in metrics
                                                     if METRICS[m][0] != "generic"))
    spec = SweepSpec(base, tuple(axis_list), metrics, tuple(fixed))
    spec.points()           # every point must be a valid design: say so before any work starts
    return spec


def load_spec(path):
    """Read and validate a spec file."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or "not UTF-8 text"
        raise InputError(f"spec: cannot read {str(path)!r}: {reason}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"spec: {str(path)!r} is not valid YAML{where}") from None
    return parse_spec(raw)
