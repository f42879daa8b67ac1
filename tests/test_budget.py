"""The adaptive training budget: batch_size="auto" and max_iter="auto"."""

import math
import pickle

import numpy as np
import pytest

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor, _plan


def _data(n, n_steps=5, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    X = rng.normal(size=(n, n_steps)) + y[:, None]
    return X, y


def _batches_last_epoch(model):
    return len(model.net_.history[-1, "batches"])


def test_the_documented_defaults():
    assert (_plan._AUTO_BATCH, _plan._AUTO_STEPS, _plan._AUTO_EPOCHS) == ((16, 8, 64), 2000, (10, 1000))
    # The docstring's examples, worked out by hand: 50 sequences in batches of 8 are 7
    # steps an epoch, ceil(2000 / 7) = 286 epochs; 10,000 in batches of 64 are 157 steps,
    # ceil(2000 / 157) = 13 epochs.
    assert _plan.training_budget("auto", "auto", 50) == (8, 286)
    assert _plan.training_budget("auto", "auto", 10_000) == (64, 13)


@pytest.fixture
def small_budget():
    """A budget of 100 steps (3 to 40 epochs), batches of n / 16 between 8 and 64."""
    with _plan.auto_budget(_AUTO_BATCH=(16, 8, 64), _AUTO_STEPS=100, _AUTO_EPOCHS=(3, 40)):
        yield


@pytest.mark.parametrize(
    "n, batch, epochs",
    # under small_budget, worked out by hand
    [
        (6, 6, 40),  # batches of 8 capped at 6 rows: 1 step an epoch, 100 epochs capped at 40
        (40, 8, 20),  # 40 // 16 = 2, raised to 8: 5 steps an epoch, 100 / 5 = 20 epochs
        (1600, 64, 4),  # 1600 // 16 = 100, capped at 64: 25 steps an epoch, 100 / 25 = 4
    ],
)
def test_auto_budget_follows_the_data(n, batch, epochs, small_budget):
    assert _plan.training_budget("auto", "auto", n) == (batch, epochs)
    X, y = _data(n)
    clf = NoisyRNNClassifier(hidden_size=4, random_state=0).fit(X, y)
    assert clf.net_.batch_size == batch
    assert clf.n_iter_ == epochs
    assert _batches_last_epoch(clf) == math.ceil(n / batch)


def test_auto_budget_counts_only_the_training_part_under_early_stopping(small_budget):
    X, y = _data(400)
    clf = NoisyRNNClassifier(
        hidden_size=4, early_stopping=True, validation_fraction=0.2, n_iter_no_change=2,
        random_state=0,
    ).fit(X, y)
    assert clf.net_.batch_size == 320 // 16
    # 320 // 16 = 20: 16 steps an epoch, ceil(100 / 16) = 7 epochs at most
    assert _plan.training_budget("auto", "auto", 320) == (20, 7)
    assert clf.n_iter_ <= 7


def test_integer_budget_keeps_its_meaning():
    X, y = _data(100)
    reg = NoisyRNNRegressor(hidden_size=4, max_iter=3, batch_size=30, random_state=0)
    reg.fit(X, X.mean(axis=1))
    assert reg.n_iter_ == 3
    assert _batches_last_epoch(reg) == 4  # 30 + 30 + 30 + 10


def test_batch_size_comes_from_each_call_and_survives_a_save():
    """A first partial_fit on 10 rows does not fix the batch size of later calls."""
    X, y = _data(130)
    a = NoisyRNNClassifier(hidden_size=4, lr_schedule="constant", random_state=0)
    a.partial_fit(X[:10], y[:10])
    b = pickle.loads(pickle.dumps(a))
    a.partial_fit(X[10:], y[10:])
    b.partial_fit(X[10:], y[10:])
    assert _batches_last_epoch(a) == _batches_last_epoch(b) == math.ceil(120 / 8)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_warm_start_plans_epochs_from_its_own_data():
    X, y = _data(200)
    clf = NoisyRNNClassifier(hidden_size=4, max_iter=2, warm_start=True, random_state=0)
    clf.fit(X[:20], y[:20])
    assert clf.net_.batch_size == 8
    clf.set_params(max_iter=1).fit(X, y)
    assert clf.n_iter_ == 3
    assert clf.net_.batch_size == 200 // 16


@pytest.mark.parametrize("value", ["fast", 0, 2.5])
@pytest.mark.parametrize("name", ["batch_size", "max_iter"])
def test_bad_budget_values_are_rejected(name, value):
    X, y = _data(20)
    with pytest.raises(ValueError, match=name):
        NoisyRNNClassifier(**{name: value}).fit(X, y)


def test_a_model_saved_before_the_budget_loads_and_trains_on():
    """A 0.1 save has no planned schedule: the cosine spans max_iter, as it did then."""
    X, y = _data(40)
    clf = NoisyRNNClassifier(hidden_size=4, max_iter=3, random_state=0).fit(X, y)
    state = clf.__getstate__()
    del state["_schedule_epochs"]
    old = NoisyRNNClassifier.__new__(NoisyRNNClassifier)
    old.__setstate__(state)
    np.testing.assert_array_equal(old.predict_proba(X), clf.predict_proba(X))
    assert dict(old.net_.callbacks_)["lr_scheduler"].T_max == 3
    old.partial_fit(X, y)
    assert old.n_iter_ == 4
