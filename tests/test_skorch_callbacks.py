"""skorch callbacks see what a user expects: probabilities and y in its own units."""

import pytest
from sklearn.metrics import log_loss, mean_squared_error
from skorch.callbacks import EpochScoring

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor

from conftest import TINY


def test_classifier_epoch_scoring_with_sklearn_scorers(toy):
    X, y = toy
    callbacks = [
        EpochScoring("accuracy", on_train=True, use_caching=False, name="acc"),
        EpochScoring("neg_log_loss", on_train=True, use_caching=False, name="nll"),
    ]
    clf = NoisyRNNClassifier(**TINY, callbacks=callbacks).fit(X, y)
    last = clf.net_.history[-1]
    assert last["acc"] == clf.score(X, y)
    assert last["nll"] == pytest.approx(-log_loss(y, clf.predict_proba(X)), rel=1e-5)


def test_regressor_epoch_scoring_in_the_units_of_y(toy):
    X, _ = toy
    y = 1e3 * (3 * X.mean(axis=1) + 1)
    callbacks = [
        EpochScoring("neg_mean_squared_error", on_train=True, use_caching=False, name="mse"),
        EpochScoring("r2", on_train=True, use_caching=False, name="r2"),
    ]
    reg = NoisyRNNRegressor(**TINY, callbacks=callbacks).fit(X, y)
    last = reg.net_.history[-1]
    assert last["mse"] == pytest.approx(-mean_squared_error(y, reg.predict(X)), rel=1e-5)
    assert last["r2"] == pytest.approx(reg.score(X, y), abs=1e-5)
    # the training loss stays that of the standardized targets (order 1, not 1e6)
    assert reg.loss_curve_[-1] < 10 < -last["mse"]


def test_callbacks_must_be_skorch_callbacks(toy):
    X, y = toy
    with pytest.raises(ValueError, match=r"'callbacks' parameter .* a list of skorch callbacks .*Got \['print_log'\]"):
        NoisyRNNClassifier(**TINY, callbacks=["print_log"]).fit(X, y)


def test_verbose_log_is_plain_and_shows_the_epoch_that_stops(toy, capsys):
    X, y = toy
    clf = NoisyRNNClassifier(hidden_size=4, max_iter=50, random_state=0, verbose=2,
                             early_stopping=True, validation_fraction=0.25,
                             n_iter_no_change=1).fit(X, y)
    assert clf.n_iter_ < 50
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # captured output is no terminal: no colour codes
    epochs = [int(line.split()[0]) for line in out.splitlines() if line.split()[:1]
              and line.split()[0].isdigit()]
    assert epochs == list(range(1, clf.n_iter_ + 1))
    lines = out.splitlines()
    assert lines.index(next(ln for ln in lines if ln.startswith("Stopping"))) > lines.index(
        next(ln for ln in lines if ln.split()[:1] == [str(clf.n_iter_)])
    )
