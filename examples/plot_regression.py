"""
Regression: the frequency and damping of an oscillation
=======================================================

Each series is a damped oscillation observed at 40 evenly spaced times with
noise, ``exp(-d t) sin(2 pi f t + phase) + noise``, with a frequency ``f`` between
0.5 and 2 and a damping ``d`` between 0 and 1 of its own.
:class:`~sknrnn.NoisyRNNRegressor` learns both numbers from the series (a 2D
target, standardized inside the estimator). The example prints the test R^2
of each target and draws the predictions against the true values: the closer
to the diagonal, the better.

Run::

    python examples/plot_regression.py
    python examples/plot_regression.py --fast   # a smaller run in seconds
"""

# %%
# Settings: ``--fast`` (or ``SKNRNN_EXAMPLES_FAST=1``, which the documentation's
# build sets) trains a small model on fewer series.
import argparse
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.metrics import r2_score

from sknrnn import NoisyRNNRegressor

parser = argparse.ArgumentParser(description="Regression of a frequency and a damping")
parser.add_argument("--fast", action="store_true", help="a small model on fewer series")
args, _ = parser.parse_known_args()
FAST = args.fast or os.environ.get("SKNRNN_EXAMPLES_FAST") == "1"
torch.set_num_threads(1)

# %%
# The data: 40 observations of each series, two targets a series.
rng = np.random.RandomState(0)
n_series = 600 if FAST else 2000
t = np.linspace(0.0, 4.0, 40)
frequency = rng.uniform(0.5, 2.0, size=n_series)
damping = rng.uniform(0.0, 1.0, size=n_series)
phase = rng.uniform(0.0, 2 * np.pi, size=n_series)
X = (np.exp(-damping[:, None] * t) * np.sin(2 * np.pi * frequency[:, None] * t + phase[:, None])
     + 0.05 * rng.normal(size=(n_series, t.size)))
Y = np.column_stack([frequency, damping])
n_train = n_series * 2 // 3
X_train, X_test, Y_train, Y_test = X[:n_train], X[n_train:], Y[:n_train], Y[n_train:]

# %%
# The model, and the R^2 of each target on the test series.
model = NoisyRNNRegressor(hidden_size=32, max_iter=40 if FAST else "auto", random_state=0)
model.fit(X_train, Y_train)
predicted = model.predict(X_test)
for j, name in enumerate(["frequency", "damping"]):
    print(f"test R^2 of the {name}: {r2_score(Y_test[:, j], predicted[:, j]):.3f}")
print(f"test R^2 (score, both targets): {model.score(X_test, Y_test):.3f}")

# %%
# Predictions against the true values.
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5))
for j, (ax, name) in enumerate(zip(axes, ["frequency", "damping"])):
    ax.scatter(Y_test[:, j], predicted[:, j], s=6)
    low, high = Y_test[:, j].min(), Y_test[:, j].max()
    ax.plot([low, high], [low, high], color="black", linewidth=0.8)
    ax.set_xlabel(f"true {name}")
    ax.set_ylabel(f"predicted {name}")
    ax.set_title(f"{name}: R^2 {r2_score(Y_test[:, j], predicted[:, j]):.2f}")
fig.tight_layout()
