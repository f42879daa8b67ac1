"""The training loop around the module: minibatches read whole, Adam fused."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset
from torch.utils.data import default_collate

import sknrnn._net as net_module
from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor


def _data(n=60, length=10, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    X = rng.normal(size=(n, length)) + y[:, None]
    times = np.cumsum(rng.uniform(0.5, 1.5, size=(n, length)), axis=1)
    return X, y, times


def _fit(**params):
    X, y, times = _data()
    weights = np.linspace(0.5, 2.0, len(y))
    model = NoisyRNNClassifier(hidden_size=8, max_iter=3, random_state=0, **params)
    return model.fit(X, y, sample_weight=weights, times=times), X, times


@pytest.mark.parametrize("early_stopping", [False, True])
def test_minibatches_are_read_whole(monkeypatch, early_stopping):
    """Not one sequence at a time: the per-sequence read is never called."""

    def per_sequence(self, i):
        raise AssertionError("a sequence was read on its own")

    monkeypatch.setattr(Dataset, "__getitem__", per_sequence)
    model, X, times = _fit(early_stopping=early_stopping)
    assert model.n_iter_ >= 1
    assert model.predict(X, times=times).shape == (len(X),)


def test_whole_batch_reads_give_the_fit_of_per_sequence_reads(monkeypatch):
    whole, X, times = _fit(early_stopping=True)
    # skorch's own path: one read per sequence, collated by default_collate
    monkeypatch.setattr(net_module._BatchDataset, "__getitems__", None)
    monkeypatch.setattr(net_module, "default_convert", default_collate)
    per_sequence, _, _ = _fit(early_stopping=True)
    np.testing.assert_array_equal(
        whole.predict_proba(X, times=times), per_sequence.predict_proba(X, times=times)
    )


@pytest.mark.skipif(
    torch.torch_version.TorchVersion(torch.__version__) < (2, 4),
    reason="fused Adam on the CPU needs torch >= 2.4",
)
def test_adam_is_fused_and_training_goes_on_after_a_reload():
    import pickle

    X, y, _ = _data()
    model = NoisyRNNRegressor(hidden_size=8, max_iter=2, random_state=0, warm_start=True)
    model.fit(X, y.astype(float))
    assert model.net_.optimizer_.defaults["fused"] is True
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.net_.optimizer_.defaults["fused"] is True
    np.testing.assert_array_equal(loaded.fit(X, y).predict(X), model.fit(X, y).predict(X))
