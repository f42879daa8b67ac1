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


def _lengths(X):
    """The number of observed (not NaN-padded) steps of each sequence."""
    observed = ~np.isnan(X).all(axis=2)
    return X.shape[1] - np.argmax(observed[:, ::-1], axis=1)


def _pad(X, steps):
    """X with ``steps`` more NaN steps at the end: the same sequences, longer."""
    pad = np.full((len(X), steps) + X.shape[2:], np.nan)
    return np.concatenate([X, pad], axis=1)


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
    proba = clf.predict_proba(X_test)
    # Each sequence is read to its own end: alone, cut to its length, it gets the same
    # probabilities as among the others padded to 29 steps (longer than any in fit).
    lengths = _lengths(X_test)
    assert lengths.max() == 29 and lengths.min() < 26
    for i in (np.argmax(lengths), np.argmin(lengths), 0):
        alone = clf.predict_proba(X_test[i:i + 1, :lengths[i]])
        np.testing.assert_allclose(alone, proba[i:i + 1], rtol=1e-5, atol=1e-7)
    # The rows that fit in 20 steps, cut there (shorter than in fit): the same predictions.
    short = lengths <= 20
    np.testing.assert_allclose(clf.predict_proba(X_test[short, :20]), proba[short],
                               rtol=1e-5, atol=1e-7)
    # What fit learned from the length stays as learned.
    assert clf.n_features_in_ == X_train.shape[1]
    assert clf._module_kwargs == kwargs


def test_padding_to_another_length_does_not_change_predictions(uea):
    clf, _, _, X_test, _ = uea
    pad = np.full((len(X_test), 11, N_CHANNELS), np.nan)
    longer = np.concatenate([X_test, pad], axis=1)  # 40 steps, the same sequences
    np.testing.assert_allclose(clf.predict_proba(longer), clf.predict_proba(X_test), rtol=1e-6)


def test_perturbations_and_robustness_take_any_length(uea):
    """The tools read each sequence to its end too: more padding changes nothing."""
    clf, _, _, X_test, y_test = uea
    longer = _pad(X_test, 11)
    X_adv = fgsm(clf, X_test, y_test, eps=0.1)
    assert X_adv.shape == X_test.shape
    assert np.array_equal(np.isnan(X_adv), np.isnan(X_test))  # padding stays padding
    np.testing.assert_allclose(fgsm(clf, longer, y_test, eps=0.1)[:, :29], X_adv,
                               rtol=1e-6, atol=1e-6)
    # The score under the (deterministic) attack is the accuracy on the attacked sequences.
    score = robustness_score(clf, X_test, y_test, perturbation="fgsm", level=1.0)
    attacked = fgsm(clf, X_test, y_test, eps=1.0)
    assert score == clf.score(attacked, y_test) < clf.score(X_test, y_test)
    assert robustness_score(clf, longer, y_test, perturbation="fgsm", level=1.0) == score
    exponents = lyapunov_exponent(clf, X_test)
    assert exponents.shape == (len(X_test),) and np.isfinite(exponents).all()
    np.testing.assert_allclose(lyapunov_exponent(clf, longer), exponents, rtol=1e-5)


def test_regressor_predicts_3d_sequences_of_any_length():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 10))
    y = X.mean(axis=1)
    reg = NoisyRNNRegressor(hidden_size=8, max_iter=3, random_state=0).fit(X, y)
    # 3D sequences of the fitted length predict as the 2D table does.
    np.testing.assert_array_equal(reg.predict(X[:5, :, None]), reg.predict(X[:5]))
    for length in (4, 10, 17):
        sequences = rng.normal(size=(5, length, 1))
        predictions = reg.predict(sequences)
        assert predictions.shape == (5,) and np.isfinite(predictions).all()
        # The same sequences padded to another length: the same predictions.
        np.testing.assert_allclose(reg.predict(_pad(sequences, 6)), predictions, rtol=1e-6)


def test_2d_table_with_other_columns_still_raises_and_says_how():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 10)), rng.randint(2, size=40)
    clf = NoisyRNNClassifier(hidden_size=8, max_iter=2, random_state=0).fit(X, y)
    table = rng.normal(size=(3, 12))
    with pytest.raises(ValueError, match=r"X\[:, :, np.newaxis\]"):
        clf.predict(table)
    # The same univariate sequences given 3D are read at any length.
    proba = clf.predict_proba(table[:, :, None])
    np.testing.assert_allclose(clf.predict_proba(_pad(table[:, :, None], 5)), proba, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(table[:, :, None]), clf.classes_[proba.argmax(1)])
    with pytest.raises(ValueError, match="0 time steps"):
        clf.predict(np.zeros((3, 0, 1)))


def test_a_model_fitted_with_times_predicts_other_lengths_with_the_learned_spacing():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 10)), rng.randint(2, size=40)
    times = np.cumsum(rng.exponential(2.0, size=(40, 10)), axis=1)
    clf = NoisyRNNClassifier(hidden_size=8, max_iter=2, random_state=0).fit(X, y, times=times)
    time_step = clf.time_step_
    longer = np.cumsum(rng.exponential(2.0, size=(5, 14)), axis=1)
    sequences = rng.normal(size=(5, 14, 1))
    proba = clf.predict_proba(sequences, times=longer)
    assert proba.shape == (5, 2) and clf.time_step_ == time_step
    # Padded further (NaN steps, NaN times): the same probabilities.
    padded_times = np.concatenate([longer, np.full((5, 6), np.nan)], axis=1)
    np.testing.assert_allclose(
        clf.predict_proba(_pad(sequences, 6), times=padded_times), proba, rtol=1e-6
    )
    # The spacing counts: the same observations at twice the spacing predict otherwise.
    assert not np.allclose(clf.predict_proba(sequences, times=2 * longer), proba)
