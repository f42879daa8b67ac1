"""The seam for variants of the model: ``module=`` takes a subclass of NoisyRNN, which
overrides NoisyRNN's hooks (encode, initial_state, sde_step, features)."""

import pickle

import numpy as np
import pytest
import torch

from sknrnn import NoisyRNN, NoisyRNNClassifier

from conftest import TINY


class ScaledDecoderRNN(NoisyRNN):
    """A variant for the tests: the decoder reads what the readout gives, doubled."""

    def forward(self, x, lengths=None, step_scale=None, noise=None):
        return 2.0 * super().forward(x, lengths, step_scale, noise)


@pytest.fixture(scope="module")
def data(toy):
    return toy


def test_module_none_and_noisyrnn_give_the_same_model(data):
    X, y = data
    default = NoisyRNNClassifier(**TINY).fit(X, y)
    explicit = NoisyRNNClassifier(**TINY, module=NoisyRNN).fit(X, y)
    np.testing.assert_array_equal(explicit.predict_proba(X), default.predict_proba(X))
    assert type(default.module_) is NoisyRNN


def test_a_subclass_is_trained_saved_and_loaded(data):
    X, y = data
    variant = NoisyRNNClassifier(**TINY, module=ScaledDecoderRNN).fit(X, y)
    assert type(variant.module_) is ScaledDecoderRNN
    default = NoisyRNNClassifier(**TINY).fit(X, y)
    # same initial weights and data, another forward: another model
    assert not np.array_equal(variant.predict_proba(X), default.predict_proba(X))
    loaded = pickle.loads(pickle.dumps(variant))
    assert type(loaded.module_) is ScaledDecoderRNN
    np.testing.assert_array_equal(loaded.predict_proba(X), variant.predict_proba(X))
    assert "module" in variant.get_params()


@pytest.mark.parametrize("bad, message", [
    (dict, "'module' parameter .* a subclass of sknrnn.NoisyRNN .*Got <class 'dict'>"),
    (NoisyRNN(1, 4, 2), "'module' parameter .* a subclass of sknrnn.NoisyRNN .*Got NoisyRNN"),
    ("NoisyRNN", "'module' parameter .* a subclass of sknrnn.NoisyRNN .*Got 'NoisyRNN'"),
])
def test_module_other_than_a_noisyrnn_class_is_refused(data, bad, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        NoisyRNNClassifier(**TINY, module=bad).fit(X, y)


def test_module_cannot_change_on_a_fitted_model(data):
    X, y = data
    clf = NoisyRNNClassifier(**TINY, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="module changed since"):
        clf.set_params(module=ScaledDecoderRNN).fit(X, y)


# -- the hooks of NoisyRNN ---------------------------------------------------------------
class ReferenceStepRNN(NoisyRNN):
    """NoisyRNN's own step, overridden: the reference loop runs it."""

    def sde_step(self, h, u, dt, K=None, xi=None):
        return super().sde_step(h, u, dt, K, xi)


class CarriedRNN(NoisyRNN):
    """A state wider than h: N columns more, which the step carries unchanged."""

    def initial_state(self, batch, like):
        return torch.cat([super().initial_state(batch, like), like.new_ones(batch, 3)], 1)

    def sde_step(self, h, u, dt, K=None, xi=None):
        n = self.hidden_size
        return torch.cat([super().sde_step(h[:, :n], u, dt, K, xi), h[:, n:]], 1)


class ReadMoreRNN(NoisyRNN):
    """What the decoder reads, doubled: the fused recursion still runs."""

    def features(self, x, lengths=None, step_scale=None, noise=None):
        return 2.0 * super().features(x, lengths, step_scale, noise)


def _ragged(seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(5, 7, 2, generator=gen, dtype=torch.float64)
    return x, torch.tensor([7, 3, 5, 1, 7])


def _twins(cls, **kwargs):
    """A NoisyRNN and a ``cls`` with the same weights (float64)."""
    plain, variant = NoisyRNN(2, 4, 3, **kwargs).double(), cls(2, 4, 3, **kwargs).double()
    variant.load_state_dict(plain.state_dict())
    return plain, variant


def test_the_fused_recursion_runs_only_noisyrnns_own_step():
    assert NoisyRNN(2, 4, 3).runs_fused and ReadMoreRNN(2, 4, 3).runs_fused
    assert not NoisyRNN(2, 4, 3, fused=False).runs_fused
    assert not NoisyRNN(2, 4, 3, solver="midpoint").runs_fused
    assert not ReferenceStepRNN(2, 4, 3).runs_fused and not CarriedRNN(2, 4, 3).runs_fused


def test_an_overridden_step_runs_the_reference_loop():
    x, lengths = _ragged()
    fused, variant = _twins(ReferenceStepRNN)
    for noise in (False, True):
        fused.generator = torch.Generator().manual_seed(1)
        variant.generator = torch.Generator().manual_seed(1)
        ref = fused.final_state(x, lengths, noise=noise, states=True)
        out = variant.final_state(x, lengths, noise=noise, states=True)
        for a, b in zip(out, ref):  # the same draws, the same recursion (up to rounding)
            torch.testing.assert_close(a, b)


def test_a_wider_state_is_read_by_its_first_n_columns():
    x, lengths = _ragged()
    plain, wider = _twins(CarriedRNN, fused=False)
    final, states = wider.final_state(x, lengths, noise=False, states=True)
    ref_final, ref_states = plain.final_state(x, lengths, noise=False, states=True)
    assert final.shape == (5, 4) and states.shape == (5, 7, 4)
    torch.testing.assert_close(final, ref_final, rtol=0, atol=0)
    torch.testing.assert_close(states, ref_states, rtol=0, atol=0)


def test_features_is_what_the_decoder_reads():
    x, lengths = _ragged()
    plain, variant = _twins(ReadMoreRNN, bidirectional=True)
    h = plain.features(x, lengths, noise=False)
    assert h.shape == (5, plain.decoder.in_features)
    torch.testing.assert_close(plain(x, lengths, noise=False), plain.decoder(h), rtol=0, atol=0)
    torch.testing.assert_close(
        variant(x, lengths, noise=False), plain.decoder(2.0 * h), rtol=0, atol=0
    )


def test_the_reverse_reader_is_of_the_class_and_shares_the_generator():
    module = ReadMoreRNN(2, 4, 3, bidirectional=True)
    assert type(module.reverse) is ReadMoreRNN and module.reverse.decoder is None
    generator = torch.Generator()
    module.generator = generator
    assert module.reverse.generator is generator


class ContextRNN(NoisyRNN):
    """A variant for the tests with a weight of its own, created in add_weights."""

    def add_weights(self):
        self.context = torch.nn.Linear(self.hidden_size, self.hidden_size)

    def reset_parameters(self, generator=None):
        super().reset_parameters(generator)
        with torch.no_grad():
            self.context.weight.normal_(0.0, 0.1, generator=generator)
            self.context.bias.zero_()

    def encode(self, x):
        return self.context(super().encode(x))


def test_a_variant_adds_its_weights_in_the_hook_and_the_seed_draws_them(data):
    X, y = data
    # built directly: the hook ran before the one draw of __init__, for both readers
    module = ContextRNN(1, 4, 2, bidirectional=True)
    assert module.context.weight.shape == (4, 4) and module.reverse.context.weight.shape == (4, 4)
    assert NoisyRNN(1, 4, 2).add_weights() is None  # NoisyRNN's own adds none
    # in the estimators: drawn from the fit's seed (same seed, same weights), saved, loaded
    first = NoisyRNNClassifier(**TINY, module=ContextRNN).fit(X, y)
    again = NoisyRNNClassifier(**TINY, module=ContextRNN).fit(X, y)
    np.testing.assert_array_equal(first.module_.context.weight.detach().numpy(),
                                  again.module_.context.weight.detach().numpy())
    assert "context.weight" in first.module_.state_dict()
    loaded = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(loaded.predict_proba(X), first.predict_proba(X))
