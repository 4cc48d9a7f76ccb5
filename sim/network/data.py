"""The digits data set (scikit-learn's copy of the UCI handwritten digits) and its fixed split.

1,797 grey-scale 8×8 images, pixel values 0…16, ten classes. They ship inside the scikit-learn
wheel (``sklearn/datasets/data/digits.csv.gz``), so nothing is downloaded at run time.

The split is fixed: a permutation of the 1,797 indices by ``numpy.random.default_rng(0)``
(PCG64, stable across NumPy versions); its first 1,347 images train, the last 450 test (the
75 % / 25 % split scikit-learn's ``train_test_split`` defaults to).
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["Digits", "load", "SPLIT_SEED", "TRAIN_COUNT", "TEST_COUNT"]

SPLIT_SEED = 0
TRAIN_COUNT = 1347
TEST_COUNT = 450


@dataclass(frozen=True)
class Digits:
    """Images as float32 N×1×8×8 in 0…1 (pixel / 16) and labels as int64 N."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


@lru_cache(maxsize=1)
def load():
    """The fixed train/test split of the digits (see the module docstring)."""
    from sklearn.datasets import load_digits

    raw = load_digits()
    images = (raw.images.astype(np.float32) / 16.0)[:, None]
    labels = raw.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    train, test = order[:TRAIN_COUNT], order[TRAIN_COUNT:]
    assert len(test) == TEST_COUNT
    for a in (images, labels):
        a.setflags(write=False)
    return Digits(images[train], labels[train], images[test], labels[test])
