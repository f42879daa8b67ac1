"""
Robustness curves of the noisy and the noiseless model
======================================================

Each 8x8 image of scikit-learn's digits is read pixel by pixel as a sequence of
64 steps. sknrnn's defaults (a noisy RNN: mixed noise of level 0.2 in training)
and the deterministic Lipschitz RNN (the same with ``noise_type="none"``) are
trained on the same clean data with the same seed. The example prints their
accuracy on clean and perturbed test sequences (white noise, multiplicative
noise, salt-and-pepper, the PGD attack) and draws their robustness curves under
white noise on one axes: the noisy model's curve should fall more slowly.

Run::

    python examples/plot_robustness.py --output robustness.png   # make demo
    python examples/plot_robustness.py --fast   # a smaller run in seconds

The gallery runs the small setting (``--fast``: 600 training sequences, 30 epochs);
``make demo`` runs the full one (the defaults' budget on 1257 sequences).
"""

# %%
# Settings: ``--fast`` (or ``SKNRNN_EXAMPLES_FAST=1``, which the documentation's
# build sets) trains small models on a subset, in seconds.
import argparse
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknrnn import NoisyRNNClassifier, RobustnessCurveDisplay, robustness_score

parser = argparse.ArgumentParser(description="Robustness of a noisy RNN against a noiseless one")
parser.add_argument("--output", help="where to save the figure (default: not saved)")
parser.add_argument("--fast", action="store_true", help="small models on a subset, in seconds")
args, _ = parser.parse_known_args()  # tolerant: a notebook's kernel passes arguments of its own
FAST = args.fast or os.environ.get("SKNRNN_EXAMPLES_FAST") == "1"
torch.set_num_threads(1)

# %%
# The data: 1797 digits, each row a 64-step univariate sequence.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
if FAST:
    X_train, y_train, X_test, y_test = X_train[:600], y_train[:600], X_test[:200], y_test[:200]

# %%
# Two models that differ only by the noise injected in training. The defaults
# train for about 2000 optimizer steps; the small setting for 30 epochs.
common = dict(max_iter=30, hidden_size=16) if FAST else {}
models = {
    "NRNN (defaults)": NoisyRNNClassifier(random_state=0, **common),
    "Lipschitz RNN (no noise)": NoisyRNNClassifier(noise_type="none", random_state=0, **common),
}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    print(f"fitted {name} in {time.perf_counter() - start:.1f} s")

# %%
# Accuracy on clean and perturbed test sequences. Levels are relative to the
# standard deviation of X (salt-and-pepper: the fraction of entries replaced);
# PGD is a gradient attack of that size per entry.
PERTURBATIONS = [
    ("white_noise", 0.5),
    ("white_noise", 1.0),
    ("multiplicative_noise", 0.5),
    ("salt_and_pepper", 0.1),
    ("pgd", 0.05),
    ("pgd", 0.1),
]
n_repeats = 1 if FAST else 3
header = ["model", "clean"] + [f"{p} {lvl:g}" for p, lvl in PERTURBATIONS]
print("| " + " | ".join(header) + " |")
print("|" + "---|" * len(header))
for name, model in models.items():
    row = [name, f"{model.score(X_test, y_test):.3f}"]
    for perturbation, level in PERTURBATIONS:
        score = robustness_score(
            model, X_test, y_test, perturbation=perturbation, level=level,
            n_repeats=1 if perturbation == "pgd" else n_repeats, random_state=0,
        )
        row.append(f"{score:.3f}")
    print("| " + " | ".join(row) + " |")

# %%
# The robustness curves: accuracy against the level of white noise, both models
# on one axes (:class:`sknrnn.RobustnessCurveDisplay`).
fig, ax = plt.subplots(figsize=(6, 4))
levels = np.linspace(0.0, 1.5, 7)
for name, model in models.items():
    RobustnessCurveDisplay.from_estimator(
        model, X_test, y_test, perturbation="white_noise", levels=levels,
        n_repeats=n_repeats, random_state=0, ax=ax, name=name,
    )
ax.set_title("Digits as 64-step sequences: accuracy under white noise")
fig.tight_layout()
if args.output:
    fig.savefig(args.output, dpi=100)
    print(f"saved {args.output}")
