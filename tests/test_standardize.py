"""standardize: per channel, or minus the training data's mean series ("step"), and the
"auto" rule between them."""

import numpy as np
import pytest

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor
from sknrnn._plan import Standardization, auto_budget, auto_standardize
from sknrnn._validation import observed_mask, standardization_statistics, step_means

from conftest import TINY


def _shared_shape(n=60, steps=50, seed=0):
    """Two classes of series that share one large shape and differ by 0.5% of it (as
    spectra do): per-channel standardization leaves their difference at 0.005 (of a
    standard deviation)."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 6, steps)
    y = np.arange(n) % 2
    X = 20 + 10 * np.sin(t) + 0.05 * rng.randn(n, steps) + 0.05 * y[:, None] * np.cos(3 * t)
    return X, y


def test_auto_subtracts_the_mean_series_of_series_that_share_one_shape():
    X, y = _shared_shape()
    X_test, y_test = _shared_shape(seed=1)
    params = dict(hidden_size=16, max_iter=30, random_state=0)
    auto = NoisyRNNClassifier(**params).fit(X, y)
    assert auto.standardize_ == "step"
    channel = NoisyRNNClassifier(standardize="channel", **params).fit(X, y)
    assert channel.standardize_ == "channel"
    # The noise drowns a difference of 0.005 standard deviations; minus the mean series it
    # is of unit scale and the classes separate.
    assert channel.score(X_test, y_test) <= 0.6
    assert auto.score(X_test, y_test) >= 0.95


def test_auto_keeps_per_channel_standardization_where_the_series_differ(toy):
    X, y = toy
    auto = NoisyRNNClassifier(**TINY).fit(X, y)
    channel = NoisyRNNClassifier(standardize="channel", **TINY).fit(X, y)
    assert auto.standardize_ == "channel" and auto._x_offset is None
    np.testing.assert_array_equal(auto.predict_proba(X), channel.predict_proba(X))
    step = NoisyRNNClassifier(standardize="step", **TINY).fit(X, y)
    assert step.standardize_ == "step"
    assert not np.allclose(step.predict_proba(X), channel.predict_proba(X))


def test_the_auto_threshold_is_the_share_of_variance_left():
    X, _ = _shared_shape()
    observed = observed_mask(np.full(len(X), X.shape[1]), X.shape[1])
    _, scale, offset, left = standardization_statistics(X[:, :, None], observed, steps=True)
    share = float((left[0] / scale[0]) ** 2)
    assert 1e-5 < share < 1e-3
    with auto_budget(_AUTO_STEP_SHARE=share * 1.01):
        assert auto_standardize("auto", scale, left) == "step"
        assert NoisyRNNClassifier(**TINY).fit(X, X[:, 0] > 20).standardize_ == "step"
    with auto_budget(_AUTO_STEP_SHARE=share * 0.99):
        assert auto_standardize("auto", scale, left) == "channel"
        assert NoisyRNNClassifier(**TINY).fit(X, X[:, 0] > 20).standardize_ == "channel"
    # the channels' shares are averaged
    two = (np.r_[scale, scale], np.r_[left, scale])  # a channel that the mean leaves whole
    with auto_budget(_AUTO_STEP_SHARE=0.5 + share / 2 + 1e-9):
        assert auto_standardize("auto", *two) == "step"
    with auto_budget(_AUTO_STEP_SHARE=0.5 + share / 2 - 1e-9):
        assert auto_standardize("auto", *two) == "channel"
    assert auto_standardize("step", scale, scale) == "step"
    assert auto_standardize("channel", scale, left) == "channel"


@pytest.mark.parametrize("Estimator", [NoisyRNNClassifier, NoisyRNNRegressor])
def test_step_standardization_ignores_a_series_shared_by_every_sequence(toy, Estimator):
    X, y = toy
    shared = 1e6 + 3e4 * np.sin(np.arange(X.shape[1]))
    reference = Estimator(standardize="step", **TINY).fit(X, y)
    shifted = Estimator(standardize="step", **TINY).fit(X + shared, y)
    out = "predict_proba" if Estimator is NoisyRNNClassifier else "predict"
    np.testing.assert_allclose(
        getattr(shifted, out)(X + shared), getattr(reference, out)(X), atol=1e-4
    )


def test_the_mean_series_is_weighted_and_reads_observed_steps_only():
    rng = np.random.RandomState(0)
    X = rng.randn(6, 5, 2) * [1.0, 100.0] + [0.0, 1e9]
    lengths = np.array([5, 5, 4, 3, 5, 2])
    observed = observed_mask(lengths, 5)
    X[~observed] = np.nan
    weights = np.array([1.0, 2.0, 0.5, 1.0, 3.0, 1.0])
    means = step_means(X, observed, weights)
    for k in range(5):
        rows = observed[:, k]
        np.testing.assert_allclose(
            means[k], np.average(X[rows, k], axis=0, weights=weights[rows]), rtol=1e-12
        )
    # a weight of 2 counts as the sequence twice
    twice = step_means(np.concatenate([X, X[1:2]]), observed_mask(np.r_[lengths, 5], 5),
                       np.r_[weights[:1], 1.0, weights[2:], 1.0])
    np.testing.assert_allclose(twice, means, rtol=1e-12)
    x_mean, _, offset, x_scale = standardization_statistics(X, observed, weights, steps=True)
    np.testing.assert_allclose(x_mean + offset, means, rtol=1e-12)
    left = (X - means)[observed]
    w = np.broadcast_to(weights[:, None], observed.shape)[observed]
    expected = np.sqrt(np.average((left - np.average(left, 0, weights=w)) ** 2, 0, weights=w))
    np.testing.assert_allclose(x_scale, expected, rtol=1e-9)
    # a step that no sequence of positive weight observes takes the channel's mean
    short = (lengths < 5).astype(float)  # step 4: only sequences of weight 0
    means = step_means(X, observed, short)
    w = np.broadcast_to(short[:, None], observed.shape)[observed]
    np.testing.assert_allclose(means[4], np.average(X[observed], 0, weights=w), rtol=1e-12)


def test_steps_past_the_fitted_length_take_the_last_mean():
    offset = np.arange(8.0).reshape(4, 2)
    standardization = Standardization(np.zeros(2), np.ones(2), x_offset=offset)
    np.testing.assert_array_equal(standardization.offset(2), offset[:2])
    np.testing.assert_array_equal(standardization.offset(6), np.r_[offset, offset[[3, 3]]])
    assert Standardization(np.zeros(2), np.ones(2)).offset(6) is None
    assert standardization.kind == "step"


def test_a_fitted_model_keeps_its_standardization(toy):
    X, y = toy
    clf = NoisyRNNClassifier(warm_start=True, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="standardize"):
        clf.set_params(standardize="step").fit(X, y)


def test_attacks_on_a_step_standardized_model_keep_their_budget_in_the_units_of_x():
    from sknrnn import fgsm, pgd

    X, y = _shared_shape(n=20, steps=12)
    clf = NoisyRNNClassifier(**TINY).fit(X, y)
    assert clf.standardize_ == "step"
    std = X.std()  # the budget's unit: X's own scale, not what the mean series leaves
    for attack in (fgsm, pgd):
        delta = attack(clf, X, y, eps=0.1) - X
        assert np.abs(delta).max() <= 0.1 * std * (1 + 1e-9)
        assert np.abs(delta).max() >= 0.05 * std  # it moves (by the budget, not the residual)


def test_sequences_that_are_all_one_series_keep_the_channel_scale():
    X = np.tile(20 + 10 * np.sin(np.linspace(0, 6, 30)), (8, 1))[:, :, None]
    observed = observed_mask(np.full(8, 30), 30)
    _, channel_scale, offset, x_scale = standardization_statistics(X, observed, steps=True)
    # nothing but rounding is left: it is not blown up to unit scale, and "auto" has no
    # differences to bring out
    assert offset is not None and x_scale == channel_scale
    assert auto_standardize("auto", channel_scale, x_scale) == "channel"
    reg = NoisyRNNRegressor(standardize="step", **TINY).fit(X[:, :, 0], np.arange(8.0))
    other = X[:, :, 0] + np.random.RandomState(0).normal(scale=0.1, size=(8, 30))
    inputs = reg._inputs(other)["x"]
    np.testing.assert_allclose(inputs, (other - X[:, :, 0])[:, :, None] / x_scale, atol=1e-5)
