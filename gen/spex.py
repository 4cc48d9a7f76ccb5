"""``sparseforge spex``: Spex (Hotfilter et al., III-A, Fig. 3) on a trained network.

Searches per-layer Sparse-Blox thresholds for the digits CNN with NSGA-II
(:mod:`sparseforge.sim.sparseblox.spex`), evaluating each threshold set on the whole test set with
the INT8 golden network (:mod:`sparseforge.sim.sparseblox.network`). The blocks are those of the
config's output stage: each layer's output tile, ``B`` channels by its ``ph × pw`` output patch of
``M·A`` pixels (``--form map``, the default), or the authors' ``M·A × B`` blocks of each
consumer's IM2COL matrix (``--form im2col``).

Writes to ``-o DIR``: ``front.json`` (options, every evaluation, the Pareto front),
``front.csv`` (the front), ``front.png`` (accuracy over created blocks, as Fig. 5) and
``thresholds.json`` (the front point with most created blocks within ``--drop`` percentage points
of the unpruned accuracy, in the hardware's Q8.8). This is a command, not an architecture: it
reads a config for its block shapes only.
"""

import os
from pathlib import Path

from .errors import InputError
from .report import Progress, dump_json, table

__all__ = ["add_arguments", "block_shapes", "evaluator", "summarize", "cmd_spex"]

FORM_HELP = ("map: blocks of the stored output map, the config's output tile (default); im2col: "
             "the authors' blocks of each consumer's IM2COL matrix, tile pixels × B columns; "
             "scnn: SCNN's 4x4 blocks of relu(acc + bias) (an SCNN config with sparseblox:, "
             "thresholds in its format, --limit on the accumulator scale)")


def add_arguments(p):
    p.add_argument("--model", default="digits_cnn", help="the trained network (digits_cnn)")
    p.add_argument("--config", default="accel_small", metavar="CONFIG",
                   help="accelerator config or preset whose output tiles are the blocks "
                        "(default accel_small)")
    p.add_argument("--form", default="map", help=FORM_HELP)
    p.add_argument("--population", type=int, default=15, help="NSGA-II population (default 15)")
    p.add_argument("--generations", type=int, default=25, help="generations (default 25)")
    p.add_argument("--limit", type=float, default=32.0, metavar="T",
                   help="largest threshold, a block's |mean| in INT8 activation units; the "
                        "genes are 0..100 on a linear grid up to it (default 32)")
    p.add_argument("--min-accuracy", type=float, metavar="A",
                   help="constraint: accuracy at least A (0 to 1)")
    p.add_argument("--drop", type=float, default=1.0, metavar="P",
                   help="the thresholds file takes the front point with most created blocks "
                        "within P percentage points of the unpruned accuracy (default 1)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="evaluate in N processes (default 1)")
    p.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    p.add_argument("-o", "--out", default="out/spex", metavar="DIR",
                   help="output folder (default out/spex)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def _check(args):
    from .run_network import parse_model

    parse_model(args.model)
    if args.form not in ("map", "im2col", "scnn"):
        raise InputError(f"--form: {args.form!r} is not allowed; expected map, im2col or scnn")
    for flag, value, low in (("--population", args.population, 2),
                             ("--generations", args.generations, 1),
                             ("--workers", args.workers, 1)):
        if value < low:
            raise InputError(f"{flag}: {value} is not allowed; expected an integer of at least "
                             f"{low}")
    if args.form != "scnn" and not 0 < args.limit < 256:
        raise InputError(f"--limit: {args.limit:g} is not allowed; expected a threshold above 0 "
                         "and below 256 (Q8.8)")
    if args.min_accuracy is not None and not 0 <= args.min_accuracy <= 1:
        raise InputError(f"--min-accuracy: {args.min_accuracy:g} is not allowed; expected 0 to 1")
    if not 0 <= args.drop <= 100:
        raise InputError(f"--drop: {args.drop:g} is not allowed; expected 0 to 100 "
                         "(percentage points)")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"-o: {args.out!r} is a file, not a directory")
    parent = out if out.exists() else out.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise InputError(f"-o: directory {str(parent)!r} is not writable")


def block_shapes(cfg, qnet, form):
    """Per convolution, its block: ``(B, ph, pw)`` of its output tile (map form) or ``(M·A, B)``
    of its consumer's IM2COL matrix (im2col form), from the config's layer plans."""
    from . import registry

    if form == "scnn":
        # SCNN's blocks are 4x4 of a PE tile: a config with PE tiles and a sparseblox: section.
        if not hasattr(cfg, "tile_w") or getattr(cfg, "sparseblox", None) is None:
            raise InputError(f"--form scnn: {cfg.name} (arch {cfg.arch}) is not an SCNN config "
                             "with a sparseblox: section (e.g. scnn_digits_blox)")
        if cfg.tile_w % 4 or cfg.tile_h % 4:
            raise InputError(f"--form scnn: {cfg.name}'s {cfg.tile_w}x{cfg.tile_h} PE tiles are "
                             "not multiples of the 4x4 block; expected tiles whose blocks tile "
                             "the map from its origin")
        return [(1, 4, 4)] * len(qnet.layers)
    arch = registry.of(cfg)
    infos = registry.resolve(arch.network)(cfg).plan(qnet) if arch.network else None
    if not infos or "patch" not in infos[0]:
        raise InputError(f"--config: {cfg.name} (arch {cfg.arch}) has no output tiles of pixels × "
                         "channels; Spex takes its blocks from an accelerator config "
                         "(e.g. accel_small)")
    if form == "map":
        return [(info["block"], *info["patch"]) for info in infos]
    return [(info["patch"][0] * info["patch"][1], info["block"]) for info in infos]


def evaluator(cfg, qnet, form, images=None):
    """The :class:`~sparseforge.sim.sparseblox.network.NetworkPruning` of the test set (its
    first ``images``) with ``cfg``'s blocks."""
    from ..sim.network import data
    from ..sim.sparseblox.network import NetworkPruning

    digits = data.load()
    x, y = digits.test_x, digits.test_y
    if images is not None:
        x, y = x[:images], y[:images]
    if form == "scnn":
        return NetworkPruning(qnet, x, y, form, block_shapes(cfg, qnet, form),
                              frac_bits=cfg.sparseblox.fmt.frac_bits, acc_bits=cfg.acc_width)
    return NetworkPruning(qnet, x, y, form, block_shapes(cfg, qnet, form),
                          elems_per_word=cfg.block)


def summarize(ev, raw):
    """Accuracy and counters of thresholds ``raw``: per layer and total, shares of blocks, the
    network's MACs and the activation transfers."""
    res = ev.run(raw)
    total = res.total
    words = total.words_total * (1 if ev.form == "im2col" else 2)   # stored: written, read back
    return {
        "accuracy": res.accuracy, "raw": list(raw),
        "blocks_total": total.blocks_total, "blocks_zero_before": total.blocks_zero_before,
        "blocks_created": total.blocks_pruned, "blocks_sparse_after": total.blocks_cached,
        "created_share": total.blocks_pruned / total.blocks_total,
        "sparse_share": total.blocks_cached / total.blocks_total,
        "macs_network": ev.macs_network, "macs_skipped": total.macs_skipped,
        "macs_saved_share": total.macs_skipped / ev.macs_network,
        "transfers_total": words, "transfers_saved": total.act_words_saved,
        "transfers_saved_share": total.act_words_saved / words if words else 0.0,
        "layers": {name: c.to_dict() for name, c in zip(res.layers, res.counts)},
    }


def cmd_spex(args):
    from . import cli
    from ..sim.network import train
    from ..sim.sparseblox.spex import (
        SpexOptions, plot_front, run_spex, save_thresholds, write_front_csv, write_front_json)
    from ..sim.sparseblox.threshold import Q8_8


    _check(args)
    cfg = cli.resolve_config(args.config)
    progress = Progress(not args.quiet and not args.json)
    qnet, _, _ = train.load_trained()
    block_shapes(cfg, qnet, args.form)                 # refuses a config without the blocks
    fmt = cfg.sparseblox.fmt if args.form == "scnn" else Q8_8
    if not 0 < args.limit <= fmt.to_value(fmt.max_raw):
        raise InputError(f"--limit: {args.limit:g} is not allowed; expected a threshold above 0 "
                         f"and at most {fmt.to_value(fmt.max_raw):g} ({fmt.name})")
    ev = evaluator(cfg, qnet, args.form)
    options = SpexOptions(limit=args.limit, pop_size=args.population,
                          generations=args.generations, min_accuracy=args.min_accuracy,
                          seed=args.seed, workers=args.workers, fmt=fmt)
    progress(f"spex: {args.model} on {cfg.name}, {args.form} blocks "
             f"{', '.join('×'.join(map(str, b)) for b in ev.blocks)}, {len(ev.labels)} test "
             f"images, population {args.population} × {args.generations} generations")
    state = {"gen": 0}

    def report(generation, done, e):
        if generation != state["gen"]:
            state["gen"] = generation
            progress(f"generation {generation}/{args.generations} done: {done} evaluated")

    result = run_spex(ev, ev.layers, options, report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_front_json(result, out / "front.json")
    write_front_csv(result, out / "front.csv")
    plot_front(result, out / "front.png",
               title=f"Spex: {args.model}, {cfg.name} {args.form} blocks")
    best = result.best_within(args.drop / 100)
    chosen = summarize(ev, best.raw) if best else None
    if best:
        save_thresholds(out / "thresholds.json", ev.layers, best.raw, fmt)
    doc = {"model": args.model, "config": cfg.name, "form": args.form,
           "blocks": [list(b) for b in ev.blocks], "images": len(ev.labels),
           "evaluations": len(result.evaluations), "baseline_accuracy": result.baseline.accuracy,
           "front": [{"accuracy": e.accuracy, "created": e.created, "total": e.total,
                      "raw": list(e.raw)} for e in result.front],
           "drop_points": args.drop, "chosen": chosen, "out": str(out)}
    if args.json:
        dump_json(doc)
        return 0
    progress(f"done: {len(result.evaluations)} evaluations -> {out}/")
    rows = [(f"{100 * e.accuracy:.1f} %", e.created, f"{100 * e.created_share:.1f} %",
             " ".join(f"{r / 256:g}" for r in e.raw)) for e in result.front]
    print(table(rows, ("accuracy", "created", "created %", "thresholds " + " ".join(ev.layers))))
    print(f"unpruned accuracy {100 * result.baseline.accuracy:.1f} %")
    if chosen:
        print(f"within {args.drop:g} points: {100 * chosen['accuracy']:.1f} %, "
              f"{100 * chosen['created_share']:.1f} % blocks created, "
              f"{100 * chosen['macs_saved_share']:.1f} % MACs and "
              f"{100 * chosen['transfers_saved_share']:.1f} % activation transfers saved "
              f"-> {out / 'thresholds.json'}")
    else:
        print(f"no front point within {args.drop:g} points: no thresholds file written")
    return 0
