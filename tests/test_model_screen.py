"""benchmarks/model_screen.py runs its variants through the public seam of sknrnn.

Each kind of variant is a subclass of ``sknrnn.NoisyRNN`` (``module=``) or a skorch
callback (``callbacks=``): a tiny fit of each here, so that a change of sknrnn that
breaks a variant breaks a test, not the benchmark silently.
"""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from sknrnn import NoisyRNN, NoisyRNNClassifier

from conftest import TINY

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import model_screen  # noqa: E402


@pytest.fixture(scope="module")
def default_proba(toy):
    X, y = toy
    return NoisyRNNClassifier(**TINY).fit(X, y).predict_proba(X)


@pytest.mark.parametrize("variant, step_of_its_own", [
    ({"dropout": 0.3}, False),
    ({"input_noise": 0.3}, False),
    ({"segments": {"length": 4}}, False),
    ({"encoder": {"kind": "conv", "width": 3}}, False),
    ({"encoder": {"kind": "mlp"}}, False),
    ({"gated_dt": "input", "gate_noise": 1.0}, True),
    ({"gated_dt": "median"}, True),
    ({"gated_dt": "state"}, True),
    ({"gated_dt": "hidden"}, True),
    ({"noise_power": 1.0}, True),
    ({"second_order": {"damping": 1.0}}, True),
    ({"readout": "last", "dropout": 0.3, "noise_power": 0.25}, True),
])
def test_each_module_variant_fits_and_predicts(toy, default_proba, variant, step_of_its_own):
    X, y = toy
    params = model_screen.estimator_params(variant)
    clf = NoisyRNNClassifier(**TINY, **params).fit(X, y)
    module = clf.net_.module_
    assert isinstance(module, NoisyRNN) and type(module) is params["module"]
    assert type(module.reverse) is type(module)  # both readers are the variant
    assert module.runs_fused is not step_of_its_own
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    assert not np.array_equal(proba, default_proba)  # the variant's hooks ran


def test_weight_averaging_is_a_callback(toy, default_proba):
    X, y = toy
    params = model_screen.estimator_params({"swa": 1.0})
    assert "module" not in params
    clf = NoisyRNNClassifier(**TINY, **params).fit(X, y)
    assert not np.array_equal(clf.predict_proba(X), default_proba)  # the mean of 2 epochs


def test_noise_warmup_is_a_callback_that_puts_the_levels_back(toy, default_proba):
    X, y = toy
    params = model_screen.estimator_params({"noise_warmup": 0.5})
    seen = []

    class Record(model_screen.Callback):
        def on_epoch_begin(self, net, **kwargs):
            seen.append(net.module_.noise_additive)

    params["callbacks"].append(("record", Record()))
    clf = NoisyRNNClassifier(**dict(TINY, max_iter=4), **params).fit(X, y)
    level = clf.net_.module_.noise_additive
    assert level == 0.2 and clf.net_.module_.reverse.noise_additive == 0.2  # put back
    np.testing.assert_allclose(seen, [0.0, 0.1, 0.2, 0.2])  # 0, half, full from half-way


def test_noise_anneal_lowers_the_levels_over_the_last_epochs_and_puts_them_back(toy):
    X, y = toy
    params = model_screen.estimator_params({"noise_anneal": 0.5})
    seen = []

    class Record(model_screen.Callback):
        def on_epoch_begin(self, net, **kwargs):
            seen.append((net.module_.noise_additive, net.module_.reverse.noise_additive))

    params["callbacks"].append(("record", Record()))
    clf = NoisyRNNClassifier(**dict(TINY, max_iter=4), **params).fit(X, y)
    assert clf.net_.module_.noise_additive == 0.2  # put back
    assert clf.net_.module_.reverse.noise_additive == 0.2
    # full for the first half, then (E - k) / (E / 2): 1, 1/2 of the level
    np.testing.assert_allclose(seen, [(0.2, 0.2), (0.2, 0.2), (0.2, 0.2), (0.1, 0.1)])


def test_readout_and_params_are_estimator_parameters():
    params = model_screen.estimator_params({"readout": "max", "params": {"hidden_size": 8}})
    assert params == {"readout": "max", "hidden_size": 8}


@pytest.mark.parametrize("variant, message", [
    ({"smoothing": 0.1}, r"\['smoothing'\] were screened, rejected and removed"),
    ({"mixup": {"alpha": 1.0}}, r"git show 61b6fca:benchmarks/model_screen.py"),
    ({"dropuot": 0.3}, r"unknown variant keys \['dropuot'\]"),
])
def test_removed_and_unknown_keys_are_refused(variant, message):
    with pytest.raises(ValueError, match=message):
        model_screen.estimator_params(variant)


def test_the_screen_patches_no_private_name_of_sknrnn():
    source = (BENCHMARKS / "model_screen.py").read_text()
    code = source.split('"""', 2)[2]  # after the docstring
    private = re.compile(
        r"sknrnn\._|from sknrnn import _|import sknrnn\b|\b_(sde|fused|net|base|inference|"
        r"classes|continued|inputs|validation|compat|fitted|formats|triton)\b"
    )
    assert not private.search(code), private.search(code)
    for patching in ("setattr(", "monkeypatch", "__dict__"):
        assert patching not in code, patching
    assert not re.search(r"\bNoisyRNN\.\w+\s*=(?!=)", code)  # no method replaced
