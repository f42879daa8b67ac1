"""
Saving and loading a model
==========================

A fitted :class:`~sknrnn.NoisyRNNClassifier` is saved with joblib and with skops,
loaded back, and gives the same predictions. joblib (pickle) loads whatever the
file says, so load only files you trust. ``skops.io`` stores the model without
pickle and loads only the types you allow: ``get_untrusted_types`` lists those it
does not trust by default (for a sknrnn model, the estimator class: the weights
are stored as plain arrays), you look at the list, then pass it as ``trusted=``.
The figure puts the class probabilities of each loaded model against those of the
model before saving: every point on the diagonal.

Run::

    python examples/plot_saving_models.py
    python examples/plot_saving_models.py --fast   # a smaller run in seconds
"""

# %%
# Settings: ``--fast`` (or ``SKNRNN_EXAMPLES_FAST=1``, which the documentation's
# build sets) trains a small model on a subset.
import argparse
import os
import tempfile
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np
import skops.io as sio
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknrnn import NoisyRNNClassifier

parser = argparse.ArgumentParser(description="Save and load a fitted NRNN")
parser.add_argument("--fast", action="store_true", help="a small model on a subset, in seconds")
args, _ = parser.parse_known_args()
FAST = args.fast or os.environ.get("SKNRNN_EXAMPLES_FAST") == "1"
torch.set_num_threads(1)

X, y = load_digits(return_X_y=True)  # each row a 64-step sequence
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
if FAST:
    X_train, y_train, X_test, y_test = X_train[:200], y_train[:200], X_test[:100], y_test[:100]
model = NoisyRNNClassifier(noise_type="multiplicative", noise_level=0.1,
                           hidden_size=16 if FAST else 32,
                           max_iter=10 if FAST else 30, random_state=0)
model.fit(X_train, y_train)
expected = model.predict_proba(X_test)
print(f"fitted: test accuracy {model.score(X_test, y_test):.3f}")

# %%
# joblib, then skops with the review of the types it is asked to trust.
loaded = {}
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "model.joblib"
    joblib.dump(model, path)
    loaded["joblib"] = joblib.load(path)  # only for files you trust
    same = np.array_equal(loaded["joblib"].predict_proba(X_test), expected)
    print(f"joblib: identical predictions: {same}")

    path = Path(tmp) / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    print(f"skops: types to trust: {untrusted}")
    assert all(name.startswith("sknrnn.") for name in untrusted), untrusted  # the review
    loaded["skops"] = sio.load(path, trusted=untrusted)
    same = np.array_equal(loaded["skops"].predict_proba(X_test), expected)
    print(f"skops: identical predictions: {same}")

# %%
# The probabilities of every class of every test sequence, before and after.
fig, axes = plt.subplots(1, 2, figsize=(7, 3.5), sharey=True)
for ax, (how, model_back) in zip(axes, loaded.items()):
    ax.scatter(expected.ravel(), model_back.predict_proba(X_test).ravel(), s=4)
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8)
    ax.set_xlabel("probability before saving")
    ax.set_title(f"loaded with {how}")
axes[0].set_ylabel("probability after loading")
fig.tight_layout()
