"""Matplotlib set-up for the reports' plots: the Agg backend, reproducible PNG bytes."""

__all__ = ["pyplot", "save"]


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, path):
    """Save ``fig`` as a PNG without the software-version metadata (same plot, same bytes) and
    close it."""
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    pyplot().close(fig)
