"""
Stability diagnostics of a noisy and a noiseless model
======================================================

Each 8x8 image of scikit-learn's digits is read pixel by pixel as a sequence of
64 steps. A noisy RNN trained with multiplicative noise and the deterministic
Lipschitz RNN (``noise_type="none"``) are fitted on the same data with the same
seed; the example prints, for each, the test accuracy and

- the stability margin ``mu = lambda_max(sym(a A)) + ||W||_2``
  (:func:`~sknrnn.stability_report`): a worst-case bound from the weights;
  negative guarantees that the clean dynamics contract for every input;
- the mean finite-time Lyapunov exponent along the test sequences
  (:func:`~sknrnn.lyapunov_exponent`): the measured rate (per step) at which
  nearby hidden trajectories converge (negative) or diverge (positive). More
  negative: small perturbations of the input are forgotten faster.

and draws the distribution of the exponents over the test sequences. The theory
of noisy RNNs predicts that noise in training, multiplicative noise above all,
moves the model towards contractive dynamics (on a small run the two
distributions may still overlap).

Run::

    python examples/plot_diagnostics.py
    python examples/plot_diagnostics.py --fast   # a smaller run in seconds
"""

# %%
# Settings: ``--fast`` (or ``SKNRNN_EXAMPLES_FAST=1``, which the documentation's
# build sets) trains small models on a subset.
import argparse
import os
import time

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknrnn import NoisyRNNClassifier, lyapunov_exponent, stability_report

parser = argparse.ArgumentParser(description="Stability diagnostics of two models")
parser.add_argument("--fast", action="store_true", help="small models on a subset, in seconds")
args, _ = parser.parse_known_args()
FAST = args.fast or os.environ.get("SKNRNN_EXAMPLES_FAST") == "1"
torch.set_num_threads(1)

X, y = load_digits(return_X_y=True)  # X: (1797, 64), each row a 64-step sequence
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
if FAST:
    X_train, y_train, X_test, y_test = X_train[:300], y_train[:300], X_test[:150], y_test[:150]

# %%
# Two models, with and without multiplicative noise in training.
common = dict(hidden_size=16 if FAST else 32, max_iter=15 if FAST else 60, random_state=0)
models = {
    "Lipschitz RNN (no noise)": NoisyRNNClassifier(noise_type="none", **common),
    "NRNN (multiplicative 0.2)": NoisyRNNClassifier(
        noise_type="multiplicative", noise_level=0.2, **common
    ),
}
rows = []
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    report = stability_report(model)
    exponents = lyapunov_exponent(model, X_test)
    rows.append((name, model.score(X_test, y_test), report, exponents))
    print(f"fitted {name} in {time.perf_counter() - start:.1f} s")

# %%
# The two numbers of each model. ``mu < 0`` guarantees contraction for every input
# (a worst-case bound); the Lyapunov exponent is measured along the test
# sequences, per step: negative means that small perturbations are forgotten.
print("| model | accuracy | margin mu | lambda_max(sym aA) | ||W||_2 | mean Lyapunov exponent |")
print("|---|---|---|---|---|---|")
for name, accuracy, report, exponents in rows:
    print(f"| {name} | {accuracy:.3f} | {report.margin:+.4f} | {report.linear_part:+.4f} | "
          f"{report.recurrent_norm:.4f} | {exponents.mean():+.4f} |")

# %%
# The finite-time Lyapunov exponent of each test sequence.
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, _, report, exponents in rows:
    ax.hist(exponents, bins=30, alpha=0.6,
            label=f"{name}: mean {exponents.mean():+.3f}, mu {report.margin:+.2f}")
ax.axvline(0.0, color="black", linewidth=0.8)
ax.set_xlabel("finite-time Lyapunov exponent per step")
ax.set_ylabel("test sequences")
ax.legend(fontsize="small")
ax.set_title("Stability along the test sequences")
fig.tight_layout()
