"""Shared test data."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def toy():
    """40 univariate sequences of 8 steps, two classes shifted apart (copies per test)."""
    rng = np.random.RandomState(0)
    y = rng.randint(2, size=40)
    X = rng.normal(size=(40, 8)) + y[:, None]
    return X, y


@pytest.fixture(scope="session")
def three_classes():
    """``make(n=80, seed=0)``: n sequences of 10 steps, three classes shifted apart."""

    def make(n=80, seed=0):
        rng = np.random.RandomState(seed)
        y = rng.randint(3, size=n)
        return rng.normal(size=(n, 10)) + 1.5 * y[:, None], y

    return make
