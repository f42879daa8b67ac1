"""skorch callbacks see what a user expects: probabilities and y in its own units."""

import pytest
from sklearn.metrics import log_loss, mean_squared_error
from skorch.callbacks import EpochScoring

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor

FAST = dict(hidden_size=4, max_iter=2, random_state=0)


@pytest.fixture(scope="module")
def data(toy):
    return toy


def test_classifier_epoch_scoring_with_sklearn_scorers(data):
    X, y = data
    callbacks = [
        EpochScoring("accuracy", on_train=True, use_caching=False, name="acc"),
        EpochScoring("neg_log_loss", on_train=True, use_caching=False, name="nll"),
    ]
    clf = NoisyRNNClassifier(**FAST, callbacks=callbacks).fit(X, y)
    last = clf.net_.history[-1]
    assert last["acc"] == clf.score(X, y)
    assert last["nll"] == pytest.approx(-log_loss(y, clf.predict_proba(X)), rel=1e-5)


def test_regressor_epoch_scoring_in_the_units_of_y(data):
    X, _ = data
    y = 1e3 * (3 * X.mean(axis=1) + 1)
    callbacks = [
        EpochScoring("neg_mean_squared_error", on_train=True, use_caching=False, name="mse"),
        EpochScoring("r2", on_train=True, use_caching=False, name="r2"),
    ]
    reg = NoisyRNNRegressor(**FAST, callbacks=callbacks).fit(X, y)
    last = reg.net_.history[-1]
    assert last["mse"] == pytest.approx(-mean_squared_error(y, reg.predict(X)), rel=1e-5)
    assert last["r2"] == pytest.approx(reg.score(X, y), abs=1e-5)
    # the training loss stays that of the standardized targets (order 1, not 1e6)
    assert reg.loss_curve_[-1] < 10 < -last["mse"]
