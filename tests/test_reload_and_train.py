"""A saved and loaded model trains on exactly as the one never saved, in every mode."""

import itertools

import joblib
import numpy as np
import pytest

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor


@pytest.fixture(scope="module")
def data(toy):
    return toy


def _train(model, how, X, y):
    return model.partial_fit(X, y) if how == "partial_fit" else model.fit(X, y)


@pytest.mark.parametrize(
    "early_stopping, warm_start, first, then",
    list(itertools.product([False, True], [False, True], ["fit", "partial_fit"],
                           ["fit", "partial_fit"])),
)
def test_reload_then_train_equals_training_without_the_save(
    data, tmp_path, early_stopping, warm_start, first, then
):
    X, y = data
    params = dict(hidden_size=4, max_iter=3, random_state=0, early_stopping=early_stopping,
                  validation_fraction=0.25, n_iter_no_change=1, warm_start=warm_start)
    kept = _train(NoisyRNNClassifier(**params), first, X, y)
    joblib.dump(kept, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    for _ in range(2):
        _train(kept, then, X, y)
        _train(loaded, then, X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), kept.predict_proba(X))
    assert loaded.n_iter_ == kept.n_iter_
    assert loaded.loss_curve_ == kept.loss_curve_


@pytest.mark.parametrize("Estimator", [NoisyRNNClassifier, NoisyRNNRegressor])
def test_partial_fit_with_early_stopping_trains_without_a_validation_set(data, Estimator):
    X, y = data
    model = Estimator(hidden_size=4, max_iter=3, early_stopping=True, random_state=0)
    model.partial_fit(X, y).partial_fit(X, y)
    assert model.n_iter_ == 2
    assert "valid_loss" not in model.net_.history[-1]
    # fit with early stopping holds out its validation set as documented
    model.fit(X, y)
    assert "valid_loss" in model.net_.history[-1]


def test_early_stopping_with_a_class_of_one_sample_says_so(data):
    X, y = data
    y = np.r_[2, y[1:]]
    with pytest.raises(ValueError, match=r"at least 2 samples of each class; classes \[2\]"):
        NoisyRNNClassifier(hidden_size=4, max_iter=2, early_stopping=True,
                           validation_fraction=0.2).fit(X, y)


def test_too_large_validation_fraction_advises_a_smaller_one(data):
    X, y = data
    with pytest.raises(ValueError, match="a smaller validation_fraction"):
        NoisyRNNClassifier(hidden_size=4, max_iter=2, early_stopping=True,
                           validation_fraction=0.99).fit(X, y)
    with pytest.raises(ValueError, match="a larger validation_fraction"):
        NoisyRNNClassifier(hidden_size=4, max_iter=2, early_stopping=True,
                           validation_fraction=0.01).fit(X[:10], y[:10])


def test_models_saved_by_0_3_load_predict_identically_and_train_on():
    """Fitted and saved by sknrnn 0.3 (one step per observation, read one way)."""
    from pathlib import Path

    here = Path(__file__).parent / "data"
    models = joblib.load(here / "models_0.3.joblib")
    expected = np.load(here / "models_0.3_outputs.npz")
    clf, reg = models["classifier"], models["regressor"]
    np.testing.assert_array_equal(clf.predict_proba(expected["X"]), expected["proba"])
    np.testing.assert_array_equal(reg.predict(expected["X"]), expected["pred"])
    assert (clf.window, clf.bidirectional, clf.window_) == (1, False, 1)
    assert clf.module_.reverse is None
    clf.set_params(warm_start=True, max_iter=2).fit(expected["X"], expected["proba"].argmax(1))
    assert clf.n_iter_ == 5
