"""Reproduce the committed digits CNN: ``python -m sparseforge.sim.network.train [--out PATH]``.

Trains the float network (:mod:`.model`) on the 1,347 training images for :data:`EPOCHS` epochs
from seed :data:`SEED`, quantizes it to INT8 calibrated on the same images (:mod:`.quantize`),
and writes float and INT8 weights with their accuracies to ``data/digits_cnn.npz`` (about 30 KB).
Pruned networks are derived from these float weights at run time (:func:`network`): a few seconds
of fine-tuning each.
"""

import argparse
import time
from functools import lru_cache
from pathlib import Path

from . import data, model, prune, quantize

__all__ = ["EPOCHS", "SEED", "WEIGHTS", "train_float", "load_trained", "network", "main"]

EPOCHS = 20
SEED = 1
WEIGHTS = Path(__file__).resolve().parent / "data" / "digits_cnn.npz"


def train_float(epochs=EPOCHS, seed=SEED):
    """Float params trained from ``seed`` for ``epochs`` epochs."""
    digits = data.load()
    params = model.init_params(seed)
    return model.train(params, digits.train_x, digits.train_y, epochs=epochs, seed=seed + 1)


@lru_cache(maxsize=1)
def load_trained():
    """``(qnet, params, meta)`` of the committed network."""
    return quantize.load(WEIGHTS)


@lru_cache(maxsize=32)
def network(scheme="dense"):
    """``(qnet, params, masks)``: the committed network pruned to ``scheme`` (a
    :class:`.prune.Scheme` or its text), fine-tuned (seeded) and quantized. ``dense`` gives the
    committed INT8 network itself."""
    scheme = prune.parse_scheme(str(scheme))
    qnet, params, _ = load_trained()
    if scheme.kind == "dense":
        return qnet, params, {}
    digits = data.load()
    pruned, masks = prune.prune_and_finetune(params, scheme, digits.train_x, digits.train_y,
                                             seed=SEED + 100)
    return quantize.quantize(pruned, digits.train_x), pruned, masks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    digits = data.load()
    start = time.perf_counter()
    params = train_float(args.epochs, args.seed)
    seconds = time.perf_counter() - start
    qnet = quantize.quantize(params, digits.train_x)
    acc_float = model.accuracy(params, digits.test_x, digits.test_y)
    acc_int8 = quantize.accuracy(qnet, digits.test_x, digits.test_y)
    quantize.save(args.out, qnet, params, {"epochs": args.epochs, "seed": args.seed,
                                           "test_accuracy_float": acc_float,
                                           "test_accuracy_int8": acc_int8,
                                           "train_seconds": seconds})
    print(f"trained {args.epochs} epochs in {seconds:.1f} s: test accuracy float "
          f"{acc_float:.4f}, INT8 {acc_int8:.4f} ({len(digits.test_y)} images) -> {args.out}")


if __name__ == "__main__":
    main()
