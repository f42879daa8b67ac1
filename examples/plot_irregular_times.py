"""
Unequal lengths and irregular observation times
===============================================

Two classes of noisy oscillations differ by their frequency (1 or 1.6 cycles
per unit of time). Each series is observed at its own random times: a rate of
its own (a mean gap between 0.05 and 0.2) and exponential gaps around it, for
a length of its own (20 to 50 observations). Counted in observations, the two
frequencies overlap; only the times tell them apart.

The series are NaN-padded into one array with :func:`~sknrnn.pad_sequences`
(the padded steps do not move the hidden state), and the same model is fitted
twice: with the observation times (``fit(X, y, times=times)``: the step that reads
observation ``k`` integrates the SDE over the time since observation ``k - 1``)
and without them (as if the observations were evenly spaced). The figure shows a
few series at their times and the test accuracy of both models.

Run::

    python examples/plot_irregular_times.py
    python examples/plot_irregular_times.py --fast   # a smaller run in seconds
"""

# %%
# Settings: ``--fast`` (or ``SKNRNN_EXAMPLES_FAST=1``, which the documentation's
# build sets) trains small models on fewer series.
import argparse
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from sknrnn import NoisyRNNClassifier, pad_sequences

parser = argparse.ArgumentParser(description="Unequal lengths and irregular times")
parser.add_argument("--fast", action="store_true", help="small models on fewer series")
args, _ = parser.parse_known_args()
FAST = args.fast or os.environ.get("SKNRNN_EXAMPLES_FAST") == "1"
torch.set_num_threads(1)

# %%
# The data: lists of series of unequal lengths, padded with NaN.
rng = np.random.RandomState(0)
n_series = 400 if FAST else 1000
frequencies = np.array([1.0, 1.6])
y = rng.randint(2, size=n_series)
values, stamps = [], []
for label in y:
    length = rng.randint(20, 51)
    t = np.cumsum(rng.exponential(rng.uniform(0.05, 0.2), size=length))
    phase = rng.uniform(0, 2 * np.pi)
    values.append(np.sin(2 * np.pi * frequencies[label] * t + phase)
                  + 0.2 * rng.normal(size=length))
    stamps.append(t)
X, times = pad_sequences(values), pad_sequences(stamps)
print(f"X: {X.shape}, {np.isnan(X).sum(axis=1).min()} to "
      f"{np.isnan(X).sum(axis=1).max()} padded steps a row")
train, test = slice(0, n_series // 2), slice(n_series // 2, None)

# %%
# The same model fitted with and without the observation times.
params = dict(hidden_size=16, max_iter=40 if FAST else "auto", random_state=0)
with_times = NoisyRNNClassifier(**params).fit(X[train], y[train], times=times[train])
without_times = NoisyRNNClassifier(**params).fit(X[train], y[train])
accuracy_times = with_times.score(X[test], y[test], times=times[test])
accuracy_plain = without_times.score(X[test], y[test])
print(f"time step (median spacing of the times of fit): {with_times.time_step_:.3f}")
print(f"test accuracy with times: {accuracy_times:.3f}")
print(f"test accuracy without times: {accuracy_plain:.3f}")

# %%
# A few series at their observation times, and the two accuracies.
fig, (ax, bars) = plt.subplots(1, 2, figsize=(8, 3.5), width_ratios=[3, 1])
for i in range(4):
    ax.plot(times[i], X[i], marker=".", linewidth=0.8, color=f"C{y[i]}",
            label=f"frequency {frequencies[y[i]]:g}")
handles, labels = ax.get_legend_handles_labels()
unique = dict(zip(labels, handles))
ax.legend(unique.values(), unique.keys(), fontsize="small")
ax.set_xlabel("time")
ax.set_title("Series of unequal lengths at irregular times")
bars.bar(["with times", "without"], [accuracy_times, accuracy_plain], color=["C2", "C7"])
bars.set_ylim(0, 1)
bars.set_title("test accuracy")
fig.tight_layout()
