"""Prediction on sequences of another length than in fit."""

import numpy as np
import pytest

from sknrnn import (
    NoisyRNNClassifier,
    NoisyRNNRegressor,
    fgsm,
    from_channels_first,
    lyapunov_exponent,
    robustness_score,
)

N_CLASSES, N_CHANNELS = 9, 12


def _uea_like(n, min_len, max_len, seed):
    """Unequal-length 12-channel sequences of 9 classes, as aeon loads them (channels first)."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % N_CLASSES
    series = []
    for label in y:
        length = rng.randint(min_len, max_len + 1)
        x = rng.normal(scale=0.5, size=(N_CHANNELS, length))
        x[label] += 1.5  # the class lifts one channel
        series.append(x)
    return from_channels_first(series), y


@pytest.fixture(scope="module")
def uea():
    X_train, y_train = _uea_like(90, 7, 26, seed=0)
    X_test, y_test = _uea_like(45, 7, 29, seed=1)
    assert X_test.shape[1] == 29 > X_train.shape[1] == 26  # longer than any train sequence
    clf = NoisyRNNClassifier(hidden_size=16, max_iter=15, random_state=0).fit(X_train, y_train)
    return clf, X_train, y_train, X_test, y_test


def test_unequal_length_uea_case_fits_and_scores_on_longer_test_sequences(uea):
    clf, X_train, _, X_test, y_test = uea
    kwargs = dict(clf._module_kwargs)
    assert clf.score(X_test, y_test) > 0.8
    assert clf.predict_proba(X_test).shape == (45, N_CLASSES)
    # Shorter than in fit: a padded test list whose longest is 20 steps.
    short, y_short = _uea_like(27, 7, 20, seed=2)
    assert short.shape[1] <= 20 and clf.score(short, y_short) > 0.8
    # What fit learned from the length stays as learned.
    assert clf.n_features_in_ == X_train.shape[1]
    assert clf._module_kwargs == kwargs


def test_padding_to_another_length_does_not_change_predictions(uea):
    clf, _, _, X_test, _ = uea
    pad = np.full((len(X_test), 11, N_CHANNELS), np.nan)
    longer = np.concatenate([X_test, pad], axis=1)  # 40 steps, the same sequences
    np.testing.assert_allclose(clf.predict_proba(longer), clf.predict_proba(X_test), rtol=1e-6)


def test_perturbations_and_robustness_take_any_length(uea):
    clf, _, _, X_test, y_test = uea
    assert 0.0 <= robustness_score(clf, X_test, y_test, level=0.1, n_repeats=1,
                                   random_state=0) <= 1.0
    X_adv = fgsm(clf, X_test, y_test, eps=0.1)
    assert X_adv.shape == X_test.shape
    assert np.isnan(X_adv).sum() == np.isnan(X_test).sum()  # padding stays padding
    assert lyapunov_exponent(clf, X_test).shape == (len(X_test),)


def test_regressor_predicts_3d_sequences_of_any_length():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 10))
    y = X.mean(axis=1)
    reg = NoisyRNNRegressor(hidden_size=8, max_iter=3, random_state=0).fit(X, y)
    for length in (4, 10, 17):
        assert reg.predict(rng.normal(size=(5, length, 1))).shape == (5,)


def test_2d_table_with_other_columns_still_raises_and_says_how():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 10)), rng.randint(2, size=40)
    clf = NoisyRNNClassifier(hidden_size=8, max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"X\[:, :, np.newaxis\]"):
        clf.predict(rng.normal(size=(3, 12)))
    # The same univariate sequences given 3D are read at any length.
    assert clf.predict(rng.normal(size=(3, 12))[:, :, None]).shape == (3,)
    with pytest.raises(ValueError, match="0 time steps"):
        clf.predict(np.zeros((3, 0, 1)))


def test_a_model_fitted_with_times_predicts_other_lengths_with_the_learned_spacing():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 10)), rng.randint(2, size=40)
    times = np.cumsum(rng.exponential(2.0, size=(40, 10)), axis=1)
    clf = NoisyRNNClassifier(hidden_size=8, max_iter=2, random_state=0).fit(X, y, times=times)
    time_step = clf.time_step_
    longer = np.cumsum(rng.exponential(2.0, size=(5, 14)), axis=1)
    proba = clf.predict_proba(rng.normal(size=(5, 14, 1)), times=longer)
    assert proba.shape == (5, 2) and clf.time_step_ == time_step
