"""noise_increment: Gaussian or Rademacher draws of the noise increment."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from sknrnn import NoisyRNNClassifier
from sknrnn._fused import noise_draws
from sknrnn._sde import NoisyRNN


@pytest.mark.parametrize("shape", [(3, 5, 7), (1, 1, 1), (40, 16, 64)])
def test_rademacher_draws_are_signs_of_the_requested_shape(shape):
    like = torch.empty(0, dtype=torch.float64)
    xi = noise_draws(*shape, like, torch.Generator().manual_seed(0), "rademacher")
    assert xi.shape == shape and xi.dtype == torch.float64
    assert set(xi.unique().tolist()) <= {-1.0, 1.0}
    again = noise_draws(*shape, like, torch.Generator().manual_seed(0), "rademacher")
    assert torch.equal(xi, again)


def test_rademacher_draws_have_mean_zero_unit_variance_and_independent_signs():
    xi = noise_draws(200, 64, 64, torch.empty(0), torch.Generator().manual_seed(1), "rademacher")
    flat = xi.flatten()
    assert abs(float(flat.mean())) < 0.005
    assert float(flat.square().mean()) == 1.0
    # neighbours (bits of one byte, and of consecutive bytes) are uncorrelated
    for lag in (1, 7, 8, 9):
        assert abs(float((flat[:-lag] * flat[lag:]).mean())) < 0.005
    # both signs at every position within a byte
    by_bit = flat.view(-1, 8).mean(0)
    assert by_bit.abs().max() < 0.01


def test_unknown_increment_is_refused():
    with pytest.raises(ValueError, match="increment must be one of"):
        noise_draws(2, 2, 2, torch.empty(0), None, "uniform")
    with pytest.raises(ValueError, match="noise_increment must be one of"):
        NoisyRNN(1, 4, 2, noise_increment="uniform")


def test_rademacher_noise_is_not_the_gaussian_noise():
    """Same generator state, other increments: another path (the fused recursion equals
    the reference loop for both: tests/test_fused.py::test_module_fused_equals_reference)."""
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    outs = []
    for increment in ("rademacher", "gaussian"):
        torch.manual_seed(0)
        module = NoisyRNN(
            3, 8, 2, noise_type="mixed", noise_additive=0.3, noise_multiplicative=0.4,
            noise_increment=increment, dt=0.3, init_std=0.3,
        ).double().train()
        module.generator = torch.Generator().manual_seed(1)
        outs.append(module(x))
    assert not torch.allclose(outs[0], outs[1])


def test_estimator_with_rademacher_noise_learns_and_is_reproducible(three_classes):
    X, y = three_classes()
    params = dict(hidden_size=16, max_iter=30, random_state=0, noise_increment="rademacher")
    a = NoisyRNNClassifier(**params).fit(X, y)
    b = NoisyRNNClassifier(**params).fit(X, y)
    assert a.module_.noise_increment == "rademacher"
    assert a.score(X, y) > 0.8  # chance is about 1/3
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    gaussian = NoisyRNNClassifier(**{**params, "noise_increment": "gaussian"}).fit(X, y)
    assert not np.array_equal(gaussian.predict_proba(X), a.predict_proba(X))


def test_estimator_refuses_an_unknown_increment(three_classes):
    X, y = three_classes(20)
    with pytest.raises(InvalidParameterError, match="noise_increment"):
        NoisyRNNClassifier(noise_increment="uniform").fit(X, y)


def test_increment_changes_on_continued_training_and_survives_a_save(three_classes):
    X, y = three_classes(30)
    model = NoisyRNNClassifier(hidden_size=8, max_iter=2, random_state=0, warm_start=True)
    model.fit(X, y)
    assert model.module_.noise_increment == "rademacher"  # the default
    model.set_params(noise_increment="gaussian").fit(X, y)
    assert model.module_.noise_increment == "gaussian"
    assert pickle.loads(pickle.dumps(model)).module_.noise_increment == "gaussian"


def test_a_model_saved_before_the_parameter_loads_as_gaussian(three_classes):
    """Models saved by 0.2 were trained with Gaussian draws: they go on with them."""
    X, y = three_classes(30)
    model = NoisyRNNClassifier(
        hidden_size=8, max_iter=2, random_state=0, noise_increment="gaussian"
    ).fit(X, y)
    state = model.__getstate__()
    del state["noise_increment"]
    state["_module_kwargs"] = {
        k: v for k, v in state["_module_kwargs"].items() if k != "noise_increment"
    }
    old = NoisyRNNClassifier.__new__(NoisyRNNClassifier)
    old.__setstate__(state)
    assert old.get_params()["noise_increment"] == "gaussian"
    assert old.module_.noise_increment == "gaussian"
    np.testing.assert_array_equal(old.predict_proba(X), model.predict_proba(X))
