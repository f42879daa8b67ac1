"""Rows 8-16 of issue 14: parameters that mean what they say, and errors that name the cause."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from sknrnn import (
    NoisyRNNClassifier,
    fgsm,
    from_wide,
    lyapunov_exponent,
    pad_sequences,
    pgd,
    stability_margin,
    white_noise,
)

FAST = dict(hidden_size=4, max_iter=2, random_state=0)


@pytest.fixture(scope="module")
def data(toy):
    return toy


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return NoisyRNNClassifier(**FAST).fit(X, y)


# row 9
def test_noise_level_is_ignored_without_noise(data):
    X, y = data
    quiet = NoisyRNNClassifier(**FAST, noise_type="none", noise_level=(0.1, 0.2)).fit(X, y)
    plain = NoisyRNNClassifier(**FAST, noise_type="none").fit(X, y)
    np.testing.assert_array_equal(quiet.predict_proba(X), plain.predict_proba(X))
    search = GridSearchCV(
        NoisyRNNClassifier(**FAST, noise_level=(0.1, 0.2)),
        {"noise_type": ["none", "mixed"]}, cv=2, error_score="raise",
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# row 10
@pytest.mark.parametrize("attack", [fgsm, lambda *a: pgd(*a, random_state=0)])
def test_attacks_inside_no_grad(fitted, data, attack):
    X, y = data
    expected = attack(fitted, X, y, 0.1)
    with torch.no_grad():
        np.testing.assert_array_equal(attack(fitted, X, y, 0.1), expected)
    assert not np.array_equal(expected, X)


# row 11
@pytest.mark.parametrize("device", ["CPU", "garbage", "", "meta"])
def test_device_is_checked(data, device):
    X, y = data
    with pytest.raises(ValueError, match=f"device must be .* got {device!r}"):
        NoisyRNNClassifier(**FAST, device=device).fit(X, y)


def test_cpu_device_strings_work(data):
    X, y = data
    NoisyRNNClassifier(**FAST, device="cpu").fit(X, y)


# row 12
def test_from_wide_reads_nullable_frames():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}).astype("Float64")
    np.testing.assert_array_equal(from_wide(frame, 2), [[[1.0, 3.0]], [[2.0, 4.0]]])
    frame.iloc[1, 1] = pd.NA
    assert np.isnan(from_wide(frame, 1)[1, 1, 0])


# row 13
def test_mixed_noise_with_three_levels_says_what_is_wrong(data):
    X, y = data
    with pytest.raises(ValueError, match="float .* or an .* pair; got 3 values"):
        NoisyRNNClassifier(**FAST, noise_type="mixed", noise_level=[0.1, 0.2, 0.3]).fit(X, y)


def test_no_channels_is_named(data):
    X, y = data
    with pytest.raises(ValueError, match="no channels"):
        NoisyRNNClassifier(**FAST).fit(np.zeros((40, 8, 0)), y)


def test_divergence_names_dt(data):
    X, y = data
    with pytest.raises(FloatingPointError, match="dt is 1e\\+06 at most .* lower dt"):
        NoisyRNNClassifier(**FAST, dt=1e6, learn_dt=False, noise_type="none",
                           clip_grad_norm=None).fit(X * 1e3, y)


def test_stability_margin_names_itself(data):
    X, y = data
    with pytest.raises(TypeError, match="^stability_margin needs"):
        stability_margin(LogisticRegression().fit(X, y))


# row 14
def test_partial_fit_with_other_classes_raises(data):
    X, y = data
    clf = NoisyRNNClassifier(**FAST).partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X, y, classes=[1, 0])  # the same classes, in any order
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\]` is not the same .*\[0, 1\]"):
        clf.partial_fit(X, y, classes=[0, 1, 2])


# row 15
def test_raw_errors_became_clear_ones(data, fitted):
    X, y = data
    with pytest.raises(NotFittedError):
        NoisyRNNClassifier().module_
    with pytest.raises(ValueError, match=r"scale must be a float or .* shape \(1,\)"):
        white_noise(X, 0.1, scale=[1, 2])
    with pytest.raises(ValueError, match="'batch_size' parameter of lyapunov_exponent"):
        lyapunov_exponent(fitted, X, batch_size="a")
    with pytest.raises(ValueError, match="'length' parameter of pad_sequences"):
        pad_sequences([[1.0, 2.0]], length=3.9)
    with pytest.raises(ValueError, match="callbacks must hold skorch callbacks .* 'print_log'"):
        NoisyRNNClassifier(**FAST, callbacks=["print_log"]).fit(X, y)


# row 16
def test_verbose_log_is_plain_and_shows_the_epoch_that_stops(data, capsys):
    X, y = data
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
