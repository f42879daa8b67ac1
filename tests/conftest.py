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
