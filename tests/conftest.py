"""Shared test settings and data.

Settings for estimators in tests, by what the test needs of the fit:

- ``TINY``: plumbing (shapes, errors, streams, persistence): the model barely trains;
- ``SMALL``: the model must learn the toy data.
"""

import numpy as np
import pytest

TINY = dict(hidden_size=4, max_iter=2, random_state=0)
SMALL = dict(hidden_size=16, max_iter=15, random_state=0)


@pytest.fixture(scope="session")
def toy():
    """40 univariate sequences of 8 steps, two classes shifted apart (copies per test)."""
    rng = np.random.RandomState(0)
    y = rng.randint(2, size=40)
    X = rng.normal(size=(40, 8)) + y[:, None]
    return X, y


@pytest.fixture(scope="session")
def tiny_fitted(toy):
    """A ``TINY`` classifier fitted on ``toy`` (read it, never train or change it)."""
    from sknrnn import NoisyRNNClassifier

    X, y = toy
    return NoisyRNNClassifier(**TINY).fit(X, y)


@pytest.fixture(scope="session")
def three_classes():
    """``make(n=80, seed=0)``: n sequences of 10 steps, three classes shifted apart."""

    def make(n=80, seed=0):
        rng = np.random.RandomState(seed)
        y = rng.randint(3, size=n)
        return rng.normal(size=(n, 10)) + 1.5 * y[:, None], y

    return make
