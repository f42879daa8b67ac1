"""Choose the noise of an NRNN by cross-validation, on clean or on robust accuracy.

A Pipeline ends in a NoisyRNNClassifier; GridSearchCV searches noise_type x
noise_level like any other hyperparameters, once scored by plain accuracy and
once by accuracy under white noise (make_robustness_scorer). The best model is
saved with joblib and loaded back.

Run::

    python examples/noise_search.py          # a few minutes on 2 cores
    python examples/noise_search.py --fast   # a smoke run in seconds
"""

import argparse
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sknrnn import NoisyRNNClassifier, make_robustness_scorer, robustness_score


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="few epochs on a subset (smoke run)")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)  # each row a 64-step sequence
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    if args.fast:
        X_train, y_train, X_test, y_test = X_train[:200], y_train[:200], X_test[:100], y_test[:100]
    pipe = make_pipeline(
        FunctionTransformer(),  # stands for any preprocessing of your own
        NoisyRNNClassifier(hidden_size=16 if args.fast else 32,
                           max_iter=5 if args.fast else 30, random_state=0),
    )
    grid = {
        "noisyrnnclassifier__noise_type": ["none", "additive", "multiplicative"],
        "noisyrnnclassifier__noise_level": [0.1] if args.fast else [0.05, 0.2],
    }
    scorers = {"accuracy": "accuracy",
               "accuracy under white noise 0.5": make_robustness_scorer("white_noise", 0.5)}
    for label, scoring in scorers.items():
        search = GridSearchCV(pipe, grid, scoring=scoring, cv=2 if args.fast else 3)
        search.fit(X_train, y_train)
        best = search.best_estimator_
        noisy = robustness_score(best, X_test, y_test, level=0.5, n_repeats=3, random_state=0)
        print(f"selected by {label}: {search.best_params_}")
        print(f"  test accuracy {best.score(X_test, y_test):.3f}, under white noise 0.5 {noisy:.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.joblib"
        joblib.dump(best, path)
        loaded = joblib.load(path)
        same = np.array_equal(loaded.predict_proba(X_test), best.predict_proba(X_test))
    print(f"saved and loaded with joblib: identical predictions: {same}")


if __name__ == "__main__":
    main()
