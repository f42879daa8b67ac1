"""
Tuning the noise with GridSearchCV
==================================

A Pipeline ends in a :class:`~sknrnn.NoisyRNNClassifier`; ``GridSearchCV`` searches
``noise_type`` x ``noise_level`` like any other hyperparameters, scored at once by
plain accuracy and by accuracy under white noise of 0.5 standard deviations
(:func:`~sknrnn.make_robustness_scorer`). The example prints the search's result
table and the candidate each score selects, draws both scores of every
candidate, and saves the model selected for robustness with joblib and loads it back.

Run::

    python examples/plot_noise_search.py          # a few minutes on 2 cores
    python examples/plot_noise_search.py --fast   # a smaller run in seconds
"""

# %%
# Settings: ``--fast`` (or ``SKNRNN_EXAMPLES_FAST=1``, which the documentation's
# build sets) trains small models on a subset.
import argparse
import os
import tempfile
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sknrnn import NoisyRNNClassifier, make_robustness_scorer, robustness_score

torch.set_num_threads(1)  # one fit at a time on a small machine: more threads only contend

parser = argparse.ArgumentParser(description="Choose the noise of an NRNN by cross-validation")
parser.add_argument("--fast", action="store_true", help="small models on a subset, in seconds")
args, _ = parser.parse_known_args()
FAST = args.fast or os.environ.get("SKNRNN_EXAMPLES_FAST") == "1"

X, y = load_digits(return_X_y=True)  # each row a 64-step sequence
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
if FAST:
    X_train, y_train, X_test, y_test = X_train[:300], y_train[:300], X_test[:150], y_test[:150]

# %%
# The search: two scores of each candidate, the model refitted on the robust one.
pipe = make_pipeline(
    FunctionTransformer(),  # stands for any preprocessing of your own
    NoisyRNNClassifier(hidden_size=16 if FAST else 32, max_iter=10 if FAST else 30,
                       random_state=0),
)
grid = {
    "noisyrnnclassifier__noise_type": ["none", "additive", "multiplicative"],
    "noisyrnnclassifier__noise_level": [0.1, 0.3] if FAST else [0.05, 0.2],
}
ROBUST = "accuracy under white noise 0.5"
scoring = {"accuracy": "accuracy", ROBUST: make_robustness_scorer("white_noise", 0.5)}
search = GridSearchCV(pipe, grid, scoring=scoring, refit=ROBUST, cv=2 if FAST else 3)
search.fit(X_train, y_train)

# %%
# The result table (``cv_results_``): the mean of each score over the folds.
# ``noise_level`` is ignored without noise: the two "none" rows are one model.
results = pd.DataFrame({
    "noise_type": search.cv_results_["param_noisyrnnclassifier__noise_type"],
    "noise_level": search.cv_results_["param_noisyrnnclassifier__noise_level"],
    "accuracy": search.cv_results_["mean_test_accuracy"],
    ROBUST: search.cv_results_[f"mean_test_{ROBUST}"],
})
print(results.round(3).to_string(index=False))
for label in scoring:
    best = int(np.argmin(search.cv_results_[f"rank_test_{label}"]))
    print(f"selected by {label}: {search.cv_results_['params'][best]}")

best = search.best_estimator_
noisy = robustness_score(best, X_test, y_test, level=0.5, n_repeats=3, random_state=0)
print(f"refitted for robustness: test accuracy {best.score(X_test, y_test):.3f}, "
      f"under white noise 0.5 {noisy:.3f}")

# %%
# Both scores of every candidate.
fig, ax = plt.subplots(figsize=(7, 3.5))
names = [f"{t} {lvl:g}" for t, lvl in zip(results["noise_type"], results["noise_level"])]
positions = np.arange(len(names))
ax.bar(positions - 0.2, results["accuracy"], width=0.4, label="accuracy")
ax.bar(positions + 0.2, results[ROBUST], width=0.4, label=ROBUST)
ax.set_xticks(positions, names)
ax.set_ylabel("mean cross-validated score")
ax.set_ylim(0, 1)
ax.legend(loc="lower right")
ax.set_title("GridSearchCV over the noise")
fig.tight_layout()

# %%
# The selected model saved with joblib and loaded back predicts the same.
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "model.joblib"
    joblib.dump(best, path)
    loaded = joblib.load(path)
    same = np.array_equal(loaded.predict_proba(X_test), best.predict_proba(X_test))
print(f"saved and loaded with joblib: identical predictions: {same}")
