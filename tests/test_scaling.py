"""Scaling is unit-free: X and y in any units (offsets, tiny or huge scales) fit alike."""

import numpy as np
import pytest

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor, fgsm, white_noise
from sknrnn._validation import mean_and_scale

from conftest import TINY


@pytest.mark.parametrize(
    "transform",
    [lambda X: X * 1e-13, lambda X: X * 1e18, lambda X: X + 1.7e9, lambda X: X * 1e-300,
     lambda X: 3e5 * X - 7e6],
    ids=["tiny", "huge", "offset", "subnormal-range", "affine"],
)
def test_classifier_predicts_the_same_in_any_units(toy, transform):
    X, y = toy
    reference = NoisyRNNClassifier(**TINY).fit(X, y).predict_proba(X)
    Xt = transform(X)
    proba = NoisyRNNClassifier(**TINY).fit(Xt, y).predict_proba(Xt)
    np.testing.assert_allclose(proba, reference, atol=1e-4)


@pytest.mark.parametrize("factor, offset", [(1e-13, 0.0), (1e15, 0.0), (1.0, 1.7e9), (1e-13, 5e-12)])
def test_regressor_targets_in_any_units(toy, factor, offset):
    X, _ = toy
    y = 3 * X.mean(axis=1) + 1
    reference = NoisyRNNRegressor(**TINY).fit(X, y)
    scaled = NoisyRNNRegressor(**TINY).fit(X, y * factor + offset)
    np.testing.assert_allclose(
        (scaled.predict(X) - offset) / factor, reference.predict(X), rtol=1e-4, atol=1e-4
    )
    assert scaled.score(X, y * factor + offset) == pytest.approx(reference.score(X, y), abs=1e-4)


def test_constant_channel_is_scaled_by_its_magnitude():
    values = np.array([[1e-20, 5.0, 0.0], [1e-20, 7.0, 0.0]])
    mean, scale = mean_and_scale(values)
    np.testing.assert_allclose(mean, [1e-20, 6.0, 0.0])
    np.testing.assert_allclose(scale, [1e-20, 1.0, 1.0])
    # rounding noise of a constant 0.1 (its mean is not exactly 0.1) is still constant
    np.testing.assert_allclose(mean_and_scale(np.full((7, 1), 0.1))[1], [0.1])


def test_perturbation_levels_are_relative_at_any_scale(toy):
    X, y = toy
    # The noise is 0.1 standard deviation of X times the same standard normal draws.
    xi = np.random.RandomState(0).standard_normal((*X.shape, 1))[..., 0]
    for factor in (1e-13, 1.0, 1e18):
        noise = white_noise(X * factor, 0.1, random_state=0) - X * factor
        np.testing.assert_allclose(noise, 0.1 * (X * factor).std() * xi, rtol=1e-9)
    # FGSM moves every step by eps standard deviations, up or down.
    clf = NoisyRNNClassifier(**TINY).fit(X * 1e-13, y)
    delta = fgsm(clf, X * 1e-13, y, eps=0.1) - X * 1e-13
    moved = delta != 0
    assert moved.mean() > 0.9
    np.testing.assert_allclose(np.abs(delta[moved]), 0.1 * (X * 1e-13).std(), rtol=1e-9)
