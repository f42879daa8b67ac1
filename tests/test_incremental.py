"""partial_fit, warm_start, user callbacks, and secure persistence with skops."""

import numpy as np
import pytest
from skorch.callbacks import Callback

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor

FAST = dict(hidden_size=16, max_iter=10, random_state=0)


def _data(n=80, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(3, size=n)
    return rng.normal(size=(n, 10)) + 1.5 * y[:, None], y


def test_partial_fit_streams_epochs_and_learns():
    X, y = _data()
    clf = NoisyRNNClassifier(**FAST)
    clf.partial_fit(X[:40], y[:40], classes=[0, 1, 2])
    assert clf.n_iter_ == 1 and list(clf.classes_) == [0, 1, 2]
    for _ in range(14):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 15
    assert clf.score(X, y) > 0.8
    lrs = clf.net_.history[:, "event_lr"]
    assert lrs[-1] < lrs[0]  # the cosine schedule counts epochs across calls


def test_partial_fit_needs_every_class_up_front():
    X, y = _data()
    clf = NoisyRNNClassifier(**FAST).partial_fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="not seen in fit"):
        clf.partial_fit(X, y)


def test_regressor_partial_fit_keeps_the_first_target_scaling():
    X, _ = _data()
    y = 100 * X.mean(axis=1)
    reg = NoisyRNNRegressor(**FAST).partial_fit(X, y)
    mean = reg._y_mean.copy()
    reg.partial_fit(X[:20], y[:20] + 1e3)
    np.testing.assert_array_equal(reg._y_mean, mean)
    assert reg.n_iter_ == 2


def test_warm_start_goes_on_from_the_current_weights():
    X, y = _data()
    cold = NoisyRNNClassifier(**{**FAST, "max_iter": 3}).fit(X, y).fit(X, y)
    assert cold.n_iter_ == 3
    warm = NoisyRNNClassifier(**{**FAST, "max_iter": 3, "warm_start": True}).fit(X, y)
    first = warm.loss_curve_[-1]
    warm.fit(X, y)
    assert warm.n_iter_ == 6
    assert warm.loss_curve_[-1] < first


def test_user_callbacks_are_called():
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    X, y = _data()
    clf = NoisyRNNClassifier(**{**FAST, "max_iter": 4, "callbacks": [CountEpochs()]}).fit(X, y)
    counters = [cb for _, cb in clf.net_.callbacks_ if isinstance(cb, CountEpochs)]
    assert len(counters) == 1 and counters[0].epochs == 4
    assert "callbacks" in clf.get_params()


def test_skops_secure_persistence(tmp_path):
    sio = pytest.importorskip("skops.io")
    X, y = _data()
    clf = NoisyRNNClassifier(**FAST).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted == ["sknrnn._classes.NoisyRNNClassifier"]
    import json
    import zipfile

    schema = zipfile.ZipFile(path).read("schema.json").decode()
    assert "BytesNode" not in schema  # no opaque pickle blob: weights are plain arrays
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert json.loads(schema)


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
def test_training_goes_on_after_a_load_as_without_it(tmp_path, fmt):
    """Optimizer state, learning-rate schedule and shuffling survive a save and load."""
    X, y = _data()
    clf = NoisyRNNClassifier(**FAST, batch_size=32).fit(X, y)
    path = tmp_path / f"model.{fmt}"
    if fmt == "joblib":
        import joblib

        joblib.dump(clf, path)
        loaded = joblib.load(path)
    else:
        sio = pytest.importorskip("skops.io")
        sio.dump(clf, path)
        loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    for model in (clf, loaded):
        model.partial_fit(X, y)
        model.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert loaded.n_iter_ == clf.n_iter_ == FAST["max_iter"] + 3
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_loading_draws_nothing_from_torchs_generator():
    """A load never disturbs a fit running meanwhile (e.g. on a Dask worker)."""
    import pickle

    import torch

    blob = pickle.dumps(NoisyRNNClassifier(hidden_size=8, max_iter=1, random_state=0).fit(*_data()))
    torch.manual_seed(0)
    before = torch.get_rng_state()
    pickle.loads(blob)
    assert torch.equal(torch.get_rng_state(), before)
