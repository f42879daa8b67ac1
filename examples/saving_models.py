"""Save a fitted NRNN with joblib and with skops, load it back, get the same predictions.

joblib (pickle) loads whatever the file says, so load only files you trust.
skops.io stores the model without pickle and loads only the types you allow:
``get_untrusted_types`` lists those it does not trust by default (for a sknrnn
model, the estimator class: the weights are stored as plain arrays), you look
at the list, then pass it as ``trusted=``.

Run::

    python examples/saving_models.py
    python examples/saving_models.py --fast   # a smoke run in seconds
"""

import argparse
import tempfile
from pathlib import Path

import joblib
import numpy as np
import skops.io as sio
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknrnn import NoisyRNNClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="few epochs on a subset (smoke run)")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)  # each row a 64-step sequence
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    if args.fast:
        X_train, y_train, X_test, y_test = X_train[:200], y_train[:200], X_test[:100], y_test[:100]
    model = NoisyRNNClassifier(noise_type="multiplicative", noise_level=0.1,
                               hidden_size=16 if args.fast else 32,
                               max_iter=5 if args.fast else 30, random_state=0)
    model.fit(X_train, y_train)
    expected = model.predict_proba(X_test)
    print(f"fitted: test accuracy {model.score(X_test, y_test):.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.joblib"
        joblib.dump(model, path)
        loaded = joblib.load(path)  # only for files you trust
        same = np.array_equal(loaded.predict_proba(X_test), expected)
        print(f"joblib: identical predictions: {same}")

        path = Path(tmp) / "model.skops"
        sio.dump(model, path)
        untrusted = sio.get_untrusted_types(file=path)
        print(f"skops: types to trust: {untrusted}")
        assert all(name.startswith("sknrnn.") for name in untrusted), untrusted  # the review
        loaded = sio.load(path, trusted=untrusted)
        same = np.array_equal(loaded.predict_proba(X_test), expected)
        print(f"skops: identical predictions: {same}")


if __name__ == "__main__":
    main()
