"""``sparseforge run CONFIG --model digits_cnn``: a trained network classified by the RTL.

Every convolution of the network (:mod:`sparseforge.sim.network`) runs through the generated RTL
of the config; pooling and the classifier run on the host. Each layer's output is compared,
element by element and for every image, with the integer golden network, and the RTL's classes
give its accuracy. ``--model-only`` gives the whole test set's accuracy and cycles from the golden
and cycle models without simulating.

What is shared by every architecture lives here (options, the golden run, the report); each
architecture supplies a :class:`Target`: how its layers are planned and counted, and how they run
on its RTL.
"""

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .report import Progress, table
from .run_result import RunOutput, Text

__all__ = ["MODELS", "Target", "parse_model", "parse_prune", "check_images", "golden_run",
           "load_thresholds", "run_model", "print_report", "run_cli", "check_not_model",
           "target_for"]

MODELS = ("digits_cnn",)


def parse_model(name):
    if name not in MODELS:
        raise InputError(f"--model: {name!r} is not allowed; expected one of {', '.join(MODELS)}")
    return name


def parse_prune(text, allowed_kinds=("dense", "vdbb", "km", "density")):
    """The pruning scheme of ``--prune`` (default dense), refused with one line if impossible or
    not one the architecture runs."""
    from ..sim.network import prune

    if text is None or text is True:
        text = "dense"
    try:
        scheme = prune.parse_scheme(text)
    except ValueError as e:
        raise InputError(f"--prune: {e}") from None
    if scheme.kind not in allowed_kinds:
        raise InputError(f"--prune: {text} is not allowed here; expected one of "
                         f"{', '.join(k if k == 'dense' else k + ':…' for k in allowed_kinds)}")
    return scheme


def check_images(images, available):
    if images is None:
        return None
    if not 1 <= images <= available:
        raise InputError(f"--images: {images} is not allowed; expected 1 to {available} (the "
                         "test set)")
    return images


@dataclass
class Target:
    """What an architecture supplies to run the network.

    Attributes
    ----------
    arch : str
    acc_bits : int
        Its accumulator width (the golden network wraps to it).
    plan : callable
        ``plan(qnet) -> [layer info dict]`` one per convolution (``name``, ``macs``, anything
        the runner needs); raises :class:`InputError` if a layer cannot run.
    model_cycles : callable
        ``model_cycles(infos, layer_inputs) -> [[cycles per image] per layer]`` from the cycle
        model; ``layer_inputs[i]`` holds layer ``i``'s INT8 input maps (N×C×H×W).
    run_rtl : callable
        ``run_rtl(qnet, infos, images, simulator, progress) -> (outputs, cycles)``: every
        layer's INT8 output before pooling (N×K×H×W) and its measured cycles (N), per layer.
    reference : callable, optional
        ``reference(qnet, infos, layer_inputs) -> [N×K×H×W per layer]``: what the RTL's
        outputs are compared with, when they are not the INT8 outputs before pooling.
    schemes : tuple
        Pruning kinds it runs.
    pooled : bool
        ``run_rtl``'s outputs are after the layer's 2×2 max-pool where the layer pools (pooling
        on chip); they are compared with the golden outputs pooled likewise.
    prune : callable, optional
        ``prune(info, y, raw, acc) -> PruneResult``: Sparse-Blox on one INT8 output map y
        (K×H×W) of a layer at raw threshold ``raw``, as the architecture's hardware prunes it
        (its block shape, the values it sums — ``acc`` is the map's wrapped accumulators before
        bias and requantization — and its cache), for ``--thresholds``; ``data`` is the pruned
        INT8 map. With it, :meth:`plan`'s infos get
        ``threshold_raw`` (``None``: the layer does not prune) before ``model_cycles`` and
        ``run_rtl`` see them, and ``run_rtl`` may return a third list: per layer, the RTL's
        ``{"cached": [per image], "refused": [per image]}`` counters.
    blox_format : str, optional
        The threshold format its hardware holds (e.g. ``Q8.8``).
    notes : dict
        Extra report fields.
    """

    arch: str
    acc_bits: int
    plan: object
    model_cycles: object
    run_rtl: object
    reference: object = None
    schemes: tuple = ("dense", "vdbb", "km", "density")
    pooled: bool = False
    notes: dict = field(default_factory=dict)
    prune: object = None
    blox_format: str = None


def golden_run(qnet, x, acc_bits, prune=None):
    """The integer network on float images ``x``: each layer's INT8 input, its INT8 output before
    pooling, and the classes.

    ``prune(i, y, acc) -> y``: what becomes of layer ``i``'s output maps (N×K×H×W; ``acc``
    their accumulators) before the next layer (or the classifier) reads them — Sparse-Blox's
    pruned blocks zeroed; the outputs returned are the pruned ones."""
    from ..sim import quant
    from ..sim.network import quantize

    maps = quantize.quantize_input(qnet, x)
    inputs, outputs = [], []
    for i, layer in enumerate(qnet.layers):
        inputs.append(maps)
        _, acc = quantize.conv_layer(layer, maps, acc_bits)
        y = quant.requantize(acc, layer.bias, layer.mult, layer.shift, relu=True, axis=1)
        if prune is not None:
            y = prune(i, y, acc)
        outputs.append(y)
        maps = np.stack([quant.max_pool2(m) for m in y]) if layer.pool else y
    return inputs, outputs, quantize.classify(qnet, maps)[1]


def load_thresholds(path, target, layer_names):
    """Per-layer raw Sparse-Blox thresholds (``None``: the layer does not prune) from a thresholds
    file (what ``sparseforge spex`` writes), refused with one line if it cannot apply."""
    from ..sim.sparseblox.spex import load_thresholds as read

    if target.prune is None:
        raise InputError("--thresholds: not allowed: the design has no Sparse-Blox (add a "
                         "sparseblox: section to the config, or use the preset accel_small_blox)")
    try:
        fmt, raws = read(path)
    except OSError as e:
        raise InputError(f"--thresholds: {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise InputError(f"--thresholds: {e}") from None
    if fmt.name != target.blox_format:
        raise InputError(f"--thresholds: {path}: format = {fmt.name} is not allowed; the design "
                         f"holds {target.blox_format} thresholds")
    for name in raws:
        if name not in layer_names:
            raise InputError(f"--thresholds: {path}: layer {name!r} is not allowed; expected "
                             f"one of {', '.join(layer_names)}")
    return [raws.get(name) for name in layer_names]


def _weight_density(qnet):
    """Fraction of non-zero INT8 weights in the pruned convolutions (all but the first)."""
    ws = [layer.w for layer in qnet.layers[1:]]
    return sum(int(np.count_nonzero(w)) for w in ws) / sum(w.size for w in ws)


def _network(scheme):
    from ..sim.network import train

    return train.network(str(scheme))


def run_model(cfg, target, args, progress):
    """Run ``--model`` on ``cfg``; return ``(report, ok)``."""
    from ..sim import quant
    from ..sim.network import data

    from ..sim.network.model import LAYERS

    parse_model(args.model)
    scheme = parse_prune(args.prune, target.schemes)
    thresholds = getattr(args, "thresholds", None)
    if thresholds is not None:
        raws = load_thresholds(thresholds, target, [spec.name for spec in LAYERS])
    digits = data.load()
    images = check_images(args.images, len(digits.test_y))
    if images is None:
        images = len(digits.test_y) if args.model_only else 10
    progress(f"preparing {args.model} pruned to {scheme} (fine-tuning, seeded)")
    qnet, _, _ = _network(scheme)
    infos = target.plan(qnet)
    x, labels = digits.test_x[:images], digits.test_y[:images]
    blox = None
    if thresholds is not None:
        for info, raw in zip(infos, raws):
            info["threshold_raw"] = raw
        blox = [[] for _ in infos]

        def prune(i, y, acc):
            if raws[i] is None:
                return y
            results = [target.prune(infos[i], m, raws[i], a) for m, a in zip(y, acc)]

            blox[i] = [r.counts for r in results]
            return np.stack([r.data for r in results])

        _, _, unpruned = golden_run(qnet, x, target.acc_bits)
        inputs, golden, classes = golden_run(qnet, x, target.acc_bits, prune)
    else:
        inputs, golden, classes = golden_run(qnet, x, target.acc_bits)
    model = target.model_cycles(infos, inputs)
    report = {
        "model": args.model, "prune": str(scheme), "config": cfg.name, "arch": target.arch,
        "images": images,
        "accuracy_golden": float(np.mean(classes == labels)),
        "weight_density": _weight_density(qnet),
        "layers": [{k: v for k, v in info.items() if not k.startswith("_")} for info in infos],
        "model_cycles": {info["name"]: int(np.sum(c)) for info, c in zip(infos, model)},
        **target.notes,
    }
    report["model_cycles"]["total"] = sum(report["model_cycles"].values())
    if blox is not None:
        report.update(_blox_report(infos, blox, target.blox_format,
                                   float(np.mean(unpruned == labels))))
    ok = True
    if not args.model_only:
        outputs, cycles, *rest = target.run_rtl(qnet, infos, inputs, args.sim, progress)
        if target.reference is not None:
            golden = target.reference(qnet, infos, inputs)
        elif target.pooled:
            golden = [np.stack([quant.max_pool2(m) for m in gold]) if layer.pool else gold
                      for layer, gold in zip(qnet.layers, golden)]
        mismatches = {info["name"]: int(np.count_nonzero(out != gold))
                      for info, out, gold in zip(infos, outputs, golden)}
        mismatches["total"] = sum(mismatches.values())
        final = outputs[-1]
        if target.reference is not None:       # raw outputs: the host requantizes
            last = qnet.layers[-1]
            final = quant.requantize(final, 0, last.mult, last.shift, relu=True, axis=1)
        if qnet.layers[-1].pool and not target.pooled:
            final = np.stack([quant.max_pool2(m) for m in final])
        from ..sim.network import quantize
        rtl_classes = quantize.classify(qnet, final)[1]
        report.update({
            "simulator": args.sim,
            "accuracy": float(np.mean(rtl_classes == labels)),
            "mismatches": mismatches,
            "cycles": {info["name"]: int(np.sum(c)) for info, c in zip(infos, cycles)},
        })
        report["cycles"]["total"] = sum(report["cycles"].values())
        ok = mismatches["total"] == 0 and report["cycles"] == report["model_cycles"] and \
            report["accuracy"] == report["accuracy_golden"]
        if blox is not None and rest:
            for row, counters in zip(report["blox"], rest[0]):
                if counters is not None and "cached" in counters:
                    row["rtl_blocks_cached"] = int(np.sum(counters["cached"]))
                    row["rtl_blocks_refused"] = int(np.sum(counters["refused"]))
                    ok = ok and row["rtl_blocks_cached"] == row["blocks_cached"] and \
                        row["rtl_blocks_refused"] == row["blocks_refused"]
                if counters is not None and "steps_dropped" in counters:
                    row["rtl_steps_dropped"] = int(np.sum(counters["steps_dropped"]))
                    ok = ok and row["rtl_steps_dropped"] == row.get("steps_dropped")
    return report, ok


def _blox_report(infos, blox, fmt, accuracy_unpruned):
    """The report's Sparse-Blox fields: per layer, its threshold and the counts of its output
    maps summed over the images (:class:`~sparseforge.sim.sparseblox.BlockCounts`)."""
    from ..sim.sparseblox import ThresholdFormat

    fmt = ThresholdFormat.parse(fmt)
    rows = []
    for info, counts in zip(infos, blox):
        raw = info["threshold_raw"]
        row = {"layer": info["name"], "threshold": None if raw is None else fmt.to_value(raw),
               "threshold_raw": raw}
        if counts:
            total = sum(counts[1:], counts[0])
            row.update({k: total.to_dict()[k] for k in (
                "blocks_total", "blocks_zero_before", "blocks_pruned", "blocks_cached",
                "blocks_refused", "words_not_written", "words_not_read", "act_words_saved")})
        # The host's model of what the next layer's engine skips (where it has one).
        row.update(info.get("_blox_extra", {}))
        rows.append(row)
    created = sum(r.get("blocks_pruned", 0) for r in rows)
    total = sum(r.get("blocks_total", 0) for r in rows)
    extra = {key: sum(r.get(key, 0) for r in rows)
             for key in ("steps_dropped", "macs_skipped", "cycles_saved")
             if any(key in r for r in rows)}
    return {"threshold_format": fmt.name, "blox": rows, "accuracy_unpruned": accuracy_unpruned,
            "blocks_pruned": created, "blocks_total": total,
            "blocks_pruned_share": created / total if total else 0.0, **extra}



#: ``run`` options that mean something else than a network run.
_OTHER = ("gemm", "conv", "layer", "network", "rtl_layers", "nnz", "weight_density",
          "act_density", "act", "weights", "shift", "relu", "out")


def target_for(cfg):
    """The :class:`Target` of ``cfg``'s architecture (its descriptor's ``network``)."""
    from . import registry

    arch = registry.of(cfg)
    if arch.network is None:
        raise InputError(f"--model: not allowed for arch {arch.name} ({arch.summary}): it runs "
                         "no trained networks")
    return registry.resolve(arch.network)(cfg)


def check_not_model(args):
    """Refuse the ``--model`` options in a run without ``--model``."""
    if getattr(args, "images", None) is not None:
        raise InputError("--images: applies with --model (e.g. --model digits_cnn --images 10)")
    if getattr(args, "thresholds", None) is not None:
        raise InputError("--thresholds: applies with --model (e.g. --model digits_cnn "
                         "--thresholds out/spex/thresholds.json); one layer takes --threshold T")
    if isinstance(getattr(args, "prune", None), str):
        raise InputError(f"--prune: a scheme ({args.prune}) applies with --model; alone, --prune "
                         "prunes --weights to the design's bound")


def run_cli(cfg, args, target=None):
    """``sparseforge run CONFIG --model NAME``: a ``RunOutput``, ``ok`` when every layer of every
    image is bit-exact, the cycles equal the model's and the RTL's accuracy the golden one."""
    for dest in _OTHER:
        if getattr(args, dest, None) not in (None, False):
            flag = "--" + dest.replace("_", "-")
            raise InputError(f"{flag}: not allowed with --model (it takes --prune SCHEME, "
                             "--images N, --model-only, --thresholds FILE)")
    if args.prune is True:
        raise InputError("--prune: give a scheme with --model: dense, vdbb:N/8, km:k/m or "
                         "density:d")
    progress = Progress(not args.quiet and not args.json)
    report, ok = run_model(cfg, target or target_for(cfg), args, progress)
    write = Text()
    print_report(write, report)
    if "cycles" in report:
        write("bit-exact in every layer, cycles equal to the model" if ok else
              "MISMATCH: see the mismatches and cycles above")
    return RunOutput(report, ok, str(write))


def print_report(write, report):
    rtl = "cycles" in report
    write(f"{report['model']} ({report['prune']}, conv2-4 weight density "
          f"{report['weight_density']:.3f}) on {report['config']}"
          + (f" ({report['simulator']})" if rtl else " (golden and cycle models)")
          + f", {report['images']} test images")
    rows = []
    for layer in report["layers"]:
        name = layer["name"]
        row = (name, layer["macs"], report["model_cycles"][name])
        rows.append(row + ((report["cycles"][name], report["mismatches"][name]) if rtl else ()))
    total = ("total", sum(r[1] for r in rows), report["model_cycles"]["total"])
    rows.append(total + ((report["cycles"]["total"], report["mismatches"]["total"]) if rtl
                         else ()))
    headers = ("layer", "MACs/image", "model cycles") + (("RTL cycles", "mismatches") if rtl
                                                         else ())
    write(table(rows, headers))
    if "blox" in report:
        write(f"Sparse-Blox ({report['threshold_format']} thresholds), every image:")
        keys = ("blocks_total", "blocks_zero_before", "blocks_pruned", "blocks_refused",
                "act_words_saved")
        skips = "cycles_saved" in report
        write(table([(r["layer"], "-" if r["threshold"] is None else f"{r['threshold']:g}")
                     + tuple(r.get(k, 0) for k in keys)
                     + ((f"{r['rtl_blocks_cached']}/{r['rtl_blocks_refused']}"
                         if "rtl_blocks_cached" in r else "-",) if rtl else ())
                     + ((r.get("steps_dropped", 0), r.get("cycles_saved", 0)) if skips else ())
                     for r in report["blox"]],
                    ("layer", "threshold", "blocks", "zero before", "pruned", "refused",
                     "words saved") + (("RTL cached/refused",) if rtl else ())
                    + (("steps dropped", "cycles saved") if skips else ())))
        write(f"blocks pruned: {report['blocks_pruned']} of {report['blocks_total']} "
              f"({report['blocks_pruned_share'] * 100:.1f} %); accuracy without pruning "
              f"{report['accuracy_unpruned'] * 100:.1f} %")
    line = f"accuracy: golden {report['accuracy_golden'] * 100:.1f} %"
    if rtl:
        line += f", RTL {report['accuracy'] * 100:.1f} %"
    write(line)
