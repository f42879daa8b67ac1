"""Pictures of a run of ``accuracy.py`` over the development suite.

- ``<out>_cd_<column>.png``: a critical-difference diagram of the models' ranks over
  the sets (``aeon.visualisation.plot_critical_difference``: Wilcoxon signed-rank
  tests with Holm's correction, alpha 0.1), one per column (clean, white 0.4,
  salt-and-pepper 0.1);
- ``<out>_scatter.png``: per set, sknrnn's accuracy against MiniRocket's, clean and
  perturbed (a point above the diagonal is a set sknrnn wins).

Run::

    python benchmarks/plot_suite.py benchmarks/results/accuracy_0.5.jsonl \
        --out benchmarks/results/accuracy_0.5
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from accuracy import CLASSIFICATION, PERTURBATIONS, per_set, read_logs  # noqa: E402

LABELS = {"sknrnn": "sknrnn", "sknrnn-none": "sknrnn noise='none'", "minirocket": "MiniRocket",
          "logreg": "LogisticRegression"}


def main():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from aeon.visualisation import plot_critical_difference

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("logs", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--models", nargs="+", default=list(LABELS))
    a = p.parse_args()
    rows = read_logs(a.logs)  # a fit that a later log holds again: the later one
    tables = {m: per_set(rows, m) for m in a.models}
    names = [d for d in CLASSIFICATION if all(d in tables[m] for m in a.models)]
    for column in PERTURBATIONS:
        scores = np.array([[np.mean(tables[m][d][column]) for m in a.models] for d in names])
        fig, _ = plot_critical_difference(scores, [LABELS.get(m, m) for m in a.models])
        fig.suptitle(f"{column}, {len(names)} sets", y=1.02)
        fig.savefig(f"{a.out}_cd_{column.replace('&', 'n')}.png", bbox_inches="tight", dpi=90)
        plt.close(fig)
    fig, axes = plt.subplots(1, len(PERTURBATIONS), figsize=(4 * len(PERTURBATIONS), 4))
    for ax, column in zip(axes, PERTURBATIONS):
        x = [np.mean(tables["minirocket"][d][column]) for d in names]
        y = [np.mean(tables["sknrnn"][d][column]) for d in names]
        ax.scatter(x, y, s=14)
        for d, xi, yi in zip(names, x, y):
            ax.annotate(d[:10], (xi, yi), fontsize=6)
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        wins = sum(b > a_ for a_, b in zip(x, y))
        ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="MiniRocket", ylabel="sknrnn",
               title=f"{column}: sknrnn above on {wins} of {len(names)}")
    fig.tight_layout()
    fig.savefig(f"{a.out}_scatter.png", dpi=90)
    print(f"{len(names)} sets: {a.out}_cd_*.png, {a.out}_scatter.png")


if __name__ == "__main__":
    main()
