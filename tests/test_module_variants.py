"""The seam for variants of the model: ``module=`` takes a subclass of NoisyRNN."""

import pickle

import numpy as np
import pytest

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
