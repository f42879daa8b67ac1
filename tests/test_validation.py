"""Bad input meets sknrnn's own validation, never an error from inside torch or skorch."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor, _inference, _net, pad_sequences
from sknrnn._validation import check_sequences

from conftest import TINY
RNG = np.random.RandomState(0)
X_OK = RNG.normal(size=(24, 6))
Y_OK = np.arange(24) % 2


@pytest.fixture(scope="module")
def fitted():
    return NoisyRNNClassifier(**TINY).fit(X_OK, Y_OK)


def _with(X, *idx_values):
    X = np.array(X, dtype=float)
    for idx, value in idx_values:
        X[idx] = value
    return X


# (name, estimator params, X, y, expected error, message pattern)
FIT_CASES = [
    ("nan inside a sequence", {}, _with(X_OK, ((0, 2), np.nan)), Y_OK, ValueError, "NaN inside"),
    ("nan in some channels only", {}, _with(X_OK[:, :, None].repeat(2, 2), ((0, 5, 0), np.nan)),
     Y_OK, ValueError, "some channels"),
    ("inf", {}, _with(X_OK, ((3, 1), np.inf)), Y_OK, ValueError, "infinity"),
    ("-inf", {}, _with(X_OK, ((3, 1), -np.inf)), Y_OK, ValueError, "infinity"),
    ("1D X", {}, X_OK[:, 0], Y_OK, ValueError, "Expected 2D array"),
    ("4D X", {}, X_OK[:, :, None, None], Y_OK, ValueError, "2D .* or 3D"),
    ("empty X", {}, np.empty((0, 6)), np.empty(0), ValueError, "0 sample"),
    ("zero time steps", {}, np.empty((24, 0)), Y_OK, ValueError, "0 feature"),
    ("all-NaN row", {}, _with(X_OK, ((4,), np.nan)), Y_OK, ValueError, "all NaN"),
    ("strings in X", {}, np.array([["a"] * 6] * 24), Y_OK, ValueError, "convert string"),
    ("objects in X", {}, np.array([[{}] * 6] * 24, dtype=object), Y_OK, TypeError, "dict"),
    ("complex X", {}, X_OK + 1j, Y_OK, ValueError, "[Cc]omplex"),
    ("sparse X", {}, sp.csr_matrix(X_OK), Y_OK, TypeError, "[Ss]parse"),
    ("ragged lists", {}, [[1.0, 2.0, 3.0], [1.0]] * 12, Y_OK, ValueError, "pad_sequences"),
    ("single class", {}, X_OK, np.zeros(24), ValueError, "only one class"),
    ("y of another length", {}, X_OK, Y_OK[:-3], ValueError, "inconsistent numbers|samples"),
    ("NaN in y", {}, X_OK, _with(Y_OK, ((0,), np.nan)), ValueError, "NaN"),
    ("continuous y for a classifier", {}, X_OK, RNG.normal(size=24), ValueError, "Unknown label type"),
    ("y is None", {}, X_OK, None, ValueError, "requires y"),
    ("negative noise level", {"noise_level": -1.0}, X_OK, Y_OK, ValueError, "noise_level"),
    ("infinite noise level", {"noise_level": np.inf}, X_OK, Y_OK, ValueError, "noise_level"),
    ("NaN noise level", {"noise_level": np.nan}, X_OK, Y_OK, ValueError, "noise_level"),
    ("unknown noise type", {"noise_type": "pink"}, X_OK, Y_OK, ValueError, "noise_type"),
    ("pair for additive noise", {"noise_type": "additive", "noise_level": (0.1, 0.1)}, X_OK, Y_OK, ValueError, "pair"),
    ("zero hidden size", {"hidden_size": 0}, X_OK, Y_OK, ValueError, "hidden_size"),
    ("negative learning rate", {"learning_rate_init": -1.0}, X_OK, Y_OK, ValueError,
     "learning_rate_init"),
    ("unknown solver", {"solver": "rk45"}, X_OK, Y_OK, ValueError, "solver"),
    ("validation split too small", {"early_stopping": True}, X_OK[:8], Y_OK[:8], ValueError,
     "too few for a validation set"),
    ("validation fraction of one", {"validation_fraction": 1.0}, X_OK, Y_OK, ValueError,
     "validation_fraction"),
    # Below float32's smallest normal number: with noise the fit died blaming the learning
    # rate; with learn_dt=False every prediction was the same (dt 0.0 in float32).
    ("dt below float32", {"dt": 1e-50}, X_OK, Y_OK, ValueError,
     r"'dt' parameter .* at least 1.2e-38 \(float32's smallest normal number.*Got 1e-50"),
    ("dt below float32, fixed", {"dt": 1e-46, "learn_dt": False}, X_OK, Y_OK, ValueError,
     r"'dt' parameter .* at least 1.2e-38 .*Got 1e-46"),
    ("dt range below float32", {"dt": (1e-50, 1.0)}, X_OK, Y_OK, ValueError,
     r"'dt' parameter .* \(dt_min, dt_max\) pair of finite floats of at least 1.2e-38 .*"
     r"Got \(1e-50, 1.0\)"),
    ("input_clip below float32", {"input_clip": 1e-46}, X_OK, Y_OK, ValueError,
     r"'input_clip' parameter .* at least 1.2e-38 \(float32's .* or None. Got 1e-46"),
]


def _assert_raised_by_sknrnn(excinfo):
    """The error comes from sknrnn or scikit-learn validation, not from torch or skorch."""
    # By the module each frame runs in (a path test would match any folder named torch).
    modules = [entry.frame.f_globals.get("__name__", "") for entry in excinfo.traceback]
    assert not any(m.split(".")[0] in ("torch", "skorch") for m in modules), modules[-3:]


@pytest.mark.parametrize("name, params, X, y, error, match", FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_bad_input_to_fit(name, params, X, y, error, match):
    with pytest.raises(error, match=match) as excinfo:
        NoisyRNNClassifier(**{**TINY, **params}).fit(X, y)
    _assert_raised_by_sknrnn(excinfo)


PREDICT_CASES = [
    ("2D table, fewer columns", X_OK[:, :4], "columns seen in fit"),
    ("more channels", X_OK[:, :, None].repeat(3, 2), "channels"),
    ("nan inside", _with(X_OK, ((1, 1), np.nan)), "NaN inside"),
    ("inf", _with(X_OK, ((1, 1), np.inf)), "infinity"),
]


@pytest.mark.parametrize("name, X, match", PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES])
def test_bad_input_to_predict(fitted, name, X, match):
    for method in (fitted.predict, fitted.predict_proba):
        with pytest.raises(ValueError, match=match) as excinfo:
            method(X)
        _assert_raised_by_sknrnn(excinfo)


def test_predict_before_fit():
    for est in (NoisyRNNClassifier(), NoisyRNNRegressor()):
        with pytest.raises(NotFittedError, match="not fitted"):
            est.predict(X_OK)


def test_nan_in_regression_targets():
    with pytest.raises(ValueError, match="NaN"):
        NoisyRNNRegressor(**TINY).fit(X_OK, _with(Y_OK, ((2,), np.nan)))


def test_pad_sequences_errors_and_layout():
    X = pad_sequences([np.ones((3, 2)), np.ones((1, 2))])
    assert X.shape == (2, 3, 2) and np.isnan(X[1, 1:]).all()
    with pytest.raises(ValueError, match="channels"):
        pad_sequences([np.ones((3, 2)), np.ones((3, 1))])
    with pytest.raises(ValueError, match="shorter than the longest"):
        pad_sequences([[1.0, 2.0]], length=1)
    with pytest.raises(ValueError, match="at least one"):
        pad_sequences([])


def test_diverging_training_stops_with_a_clear_error():
    reg = NoisyRNNRegressor(
        hidden_size=8, max_iter=20, learning_rate_init=1e12, clip_grad_norm=None,
        lr_schedule="constant", random_state=0,
    )
    with pytest.raises(FloatingPointError, match="learning_rate_init") as excinfo:
        reg.fit(X_OK * 1e3, RNG.normal(size=24))
    assert "diverged" in str(excinfo.value)
    # The first epoch diverged: no epoch ran to its end, and the record says so.
    assert (reg.n_iter_, reg.loss_curve_, reg.best_loss_, len(reg.net_.history)) == (0, [], None, 0)


@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_keyboard_interrupt_warns_and_keeps_the_last_completed_epoch(monkeypatch, how):
    """Ctrl-C during fit returned quietly after 2 of 10 epochs (n_iter_ 3, with 2 losses):
    it warns, records it, and leaves a usable model trained up to the last full epoch."""

    def interrupt_in_epoch_3(self, net, training=False, **kwargs):
        if len(net.history) == 3 and training:
            raise KeyboardInterrupt

    monkeypatch.setattr(_net._StopOnNonFiniteLoss, "on_batch_begin", interrupt_in_epoch_3,
                        raising=False)
    clf = NoisyRNNClassifier(**{**TINY, "max_iter": 10})
    if how == "partial_fit":
        clf.partial_fit(X_OK, Y_OK).partial_fit(X_OK, Y_OK)
    with pytest.warns(UserWarning, match=r"interrupted \(KeyboardInterrupt\) after "
                                         rf"{2 if how == 'fit' else 0} of the "
                                         rf"{10 if how == 'fit' else 1} epochs"):
        getattr(clf, how)(X_OK, Y_OK)
    assert clf.n_iter_ == len(clf.loss_curve_) == len(clf.net_.history) == 2
    assert clf.net_.history[-1, "interrupted"] is True
    assert "interrupted" not in clf.net_.history[0]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert np.isin(clf.predict(X_OK), [0, 1]).all()


def test_a_diverged_warm_start_fit_keeps_its_record_consistent():
    """After a diverged warm-start fit n_iter_, loss_curve_ and net_.history had 2, 2 and 3
    entries: the epoch that diverged left a row of the history without a loss."""
    clf = NoisyRNNClassifier(**TINY, warm_start=True).fit(X_OK, Y_OK)
    first = list(clf.loss_curve_)
    clf.set_params(learning_rate_init=1e30, clip_grad_norm=None)
    with pytest.raises(FloatingPointError, match="diverged"):
        clf.fit(X_OK, Y_OK)
    assert clf.n_iter_ == len(clf.loss_curve_) == len(clf.net_.history) == 2
    assert clf.loss_curve_ == first


def test_predict_streams_in_batches_and_chunks_agree(fitted, monkeypatch):
    X = RNG.normal(size=(50, 6))
    whole = fitted.predict_proba(X)
    sizes = []
    hook = fitted.module_.register_forward_hook(lambda module, args, out: sizes.append(len(out)))
    monkeypatch.setattr(_inference, "_BATCH", 7)
    try:
        batched = fitted.predict_proba(X)
    finally:
        hook.remove()
    assert sizes == [7] * 7 + [1]
    np.testing.assert_allclose(batched, whole, rtol=1e-6, atol=1e-7)
    chunks = np.concatenate([fitted.predict_proba(X[i : i + 13]) for i in range(0, 50, 13)])
    np.testing.assert_allclose(chunks, whole, rtol=1e-6, atol=1e-7)


@st.composite
def _sequences(draw):
    n = draw(st.integers(2, 12))
    T = draw(st.integers(1, 8))
    C = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64]))
    X = draw(st.lists(st.floats(-1e3, 1e3), min_size=n * T * C, max_size=n * T * C))
    X = np.asarray(X, dtype=np.float64).reshape(n, T, C)
    lengths = draw(st.lists(st.integers(1, T), min_size=n, max_size=n))
    X = X.astype(dtype).astype(np.float64)
    for i, length in enumerate(lengths):
        X[i, length:] = np.nan
    if C == 1 and draw(st.booleans()):
        X = X[:, :, 0]
    return X, np.asarray(lengths)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_sequences(), noise_type=st.sampled_from(["none", "additive", "multiplicative", "mixed"]),
       noise_level=st.floats(0, 1), solver=st.sampled_from(["euler", "midpoint"]))
def test_fit_predict_on_any_valid_input(data, noise_type, noise_level, solver):
    X, lengths = data
    y = np.arange(len(X)) % 2
    clf = NoisyRNNClassifier(hidden_size=4, max_iter=1, noise_type=noise_type,
                             noise_level=noise_level, solver=solver, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.isfinite(proba).all()
    _, found = check_sequences(X, n_channels=clf.n_channels_in_)
    np.testing.assert_array_equal(found, lengths)
    reg = NoisyRNNRegressor(hidden_size=4, max_iter=1, random_state=0).fit(X, lengths.astype(float))
    assert reg.predict(X).shape == (len(X),)


# -- a training call that fails before training starts changes nothing ---------------
def _snapshot(model, X):
    predict = model.predict_proba if hasattr(model, "classes_") else model.predict
    return dict(
        output=predict(X), net=model.net_, n_iter=model.n_iter_,
        weights={k: v.clone() for k, v in model.module_.state_dict().items()},
        attrs={key: value for key, value in vars(model).items() if key.endswith("_")
               or key in ("_x_mean", "_x_scale", "_y_mean", "_y_scale", "_seed",
                          "_schedule_epochs", "_validation_held_out")},
    )


def _assert_same(before, after):
    np.testing.assert_array_equal(after["output"], before["output"])
    assert after["net"] is before["net"] and after["n_iter"] == before["n_iter"]
    for key, value in before["weights"].items():
        assert (after["weights"][key] == value).all()
    assert after["attrs"].keys() == before["attrs"].keys()
    for key, value in before["attrs"].items():
        np.testing.assert_array_equal(np.asarray(after["attrs"][key], dtype=object),
                                      np.asarray(value, dtype=object), err_msg=key)


X60 = np.random.RandomState(1).normal(size=(60, 12))
Y60 = np.arange(60) % 2
# (name, params set before the call, call, message): each raises before training starts.
FAILED_CALLS = [
    ("one class in a refit", {}, lambda m: m.fit(X60 * 100 + 7, np.zeros(60)), "one class"),
    ("early-stopping split of a refit", {"early_stopping": True, "validation_fraction": 0.01},
     lambda m: m.fit(X60[:10, :5] * 3, Y60[:10]), "too few for a validation set"),
    ("early-stopping split of a warm start",
     {"warm_start": True, "early_stopping": True, "validation_fraction": 0.01},
     lambda m: m.fit(X60[:10], Y60[:10]), "too few for a validation set"),
    ("times of a refit", {}, lambda m: m.fit(X60 * 5, Y60, times=np.ones((60, 3))),
     "times has shape"),
    ("class_weight of a refit", {"class_weight": {0: -1.0, 1: 1.0}},
     lambda m: m.fit(X60[:, :4] * 3, Y60), "class_weight"),
    ("labels of a partial_fit", {}, lambda m: m.partial_fit(X60, Y60 + 5), "not seen in fit"),
    ("hidden_size of a warm start", {"warm_start": True, "hidden_size": 6},
     lambda m: m.fit(X60, Y60), "hidden_size changed"),
    ("noise level of a warm start", {"warm_start": True, "noise_level": (0.1, -1.0)},
     lambda m: m.fit(X60, Y60), r"'noise_level' parameter .* finite float >= 0 .*Got \(0.1, -1.0\)"),
]


@pytest.mark.parametrize("name, params, call, message", FAILED_CALLS,
                         ids=[case[0] for case in FAILED_CALLS])
def test_a_call_that_fails_before_training_leaves_the_model_as_it_was(name, params, call,
                                                                      message):
    """classes_, the input statistics, n_features_in_, times... were overwritten before."""
    model = NoisyRNNClassifier(**TINY).fit(X60, Y60)
    before = _snapshot(model, X60)
    levels = (model.module_.noise_additive, model.module_.noise_multiplicative)
    model.set_params(**params)
    with pytest.raises(ValueError, match=message):
        call(model)
    _assert_same(before, _snapshot(model, X60))
    assert (model.module_.noise_additive, model.module_.noise_multiplicative) == levels
    model.set_params(**{key: NoisyRNNClassifier().get_params()[key] for key in params})
    model.set_params(hidden_size=TINY["hidden_size"]).partial_fit(X60, Y60)  # still trains
    assert model.n_iter_ == TINY["max_iter"] + 1


def test_a_failed_regressor_refit_keeps_its_target_scaling():
    y = X60.mean(axis=1) * 50 + 3
    model = NoisyRNNRegressor(**TINY).fit(X60, y)
    before = _snapshot(model, X60)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(X60[:, :7] * 9, _with(y, ((2,), np.nan)))
    _assert_same(before, _snapshot(model, X60))


def test_a_failed_first_partial_fit_leaves_the_model_unfitted():
    model = NoisyRNNClassifier(**TINY)
    with pytest.raises(ValueError, match="one class"):
        model.partial_fit(X60, np.zeros(60))
    assert not any(key.endswith("_") for key in vars(model))
    with pytest.raises(NotFittedError):
        model.predict(X60)


def test_divergence_names_gamma_when_the_damping_overshoots():
    """The message advised lowering dt or learning_rate_init, or setting clip_grad_norm."""
    rng = np.random.RandomState(0)
    y = rng.randint(2, size=60)
    X = rng.normal(size=(60, 12)) + y[:, None]
    with pytest.raises(FloatingPointError, match=r"gamma=1e\+06 times .* dt=1 is .* lower gamma"):
        NoisyRNNClassifier(hidden_size=16, max_iter=3, gamma=1e6, random_state=0).fit(X, y)


def test_divergence_advises_clipping_only_when_it_is_off():
    params = dict(hidden_size=8, max_iter=20, learning_rate_init=1e12, random_state=0)
    X, y = X_OK * 1e3, RNG.normal(size=24)
    with pytest.raises(FloatingPointError, match="learning_rate_init") as excinfo:
        NoisyRNNRegressor(**params).fit(X, y)  # clip_grad_norm=1.0 is set
    assert "clip_grad_norm" not in str(excinfo.value)
    with pytest.raises(FloatingPointError, match="or set clip_grad_norm"):
        NoisyRNNRegressor(**params, clip_grad_norm=None).fit(X, y)


def test_cuda_without_cuda_warns_and_trains_on_the_cpu(monkeypatch):
    """device="cuda" trained on the CPU silently."""
    import warnings

    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match=r"device='cuda', but CUDA is not available.*CPU"):
        clf = NoisyRNNClassifier(**TINY, device="cuda").fit(X_OK, Y_OK)
    assert next(clf.module_.parameters()).device.type == "cpu"
    with pytest.warns(UserWarning, match="device='cuda:1'"):
        clf.set_params(warm_start=True, device="cuda:1").fit(X_OK, Y_OK)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NoisyRNNClassifier(**TINY, device="auto").fit(X_OK, Y_OK)
        import pickle

        pickle.loads(pickle.dumps(clf)).predict(X_OK)  # loading and predicting: no warning


@pytest.mark.parametrize(
    "device, name, check",
    [("mps", "MPS", "torch.backends.mps"), ("xpu", "XPU", "torch.xpu"),
     ("xpu:1", "XPU", "torch.xpu")],
)
def test_an_unavailable_accelerator_warns_and_trains_on_the_cpu(monkeypatch, device, name, check):
    """device="mps" or "xpu" passed validation and crashed inside torch (NotImplementedError,
    AssertionError) on a machine without one: it is treated as "cuda" without CUDA is."""
    import pickle
    import warnings

    import torch

    backend = torch.backends.mps if name == "MPS" else torch.xpu
    monkeypatch.setattr(backend, "is_available", lambda: False)
    with pytest.warns(UserWarning, match=rf"device={device!r}, but {name} is not available "
                                         rf"here \({check}.is_available\(\) is False\): "
                                         "training on the CPU"):
        clf = NoisyRNNClassifier(**TINY, device=device).fit(X_OK, Y_OK)
    assert next(clf.module_.parameters()).device.type == "cpu"
    expected = NoisyRNNClassifier(**TINY, device="cpu").fit(X_OK, Y_OK)
    np.testing.assert_array_equal(clf.predict_proba(X_OK), expected.predict_proba(X_OK))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(clf)).predict(X_OK)  # loading and predicting: no warning


# -- parameters and arguments that name what is wrong ---------------------------------
@pytest.mark.parametrize("device", ["CPU", "garbage", "", "meta"])
def test_device_is_checked(toy, device):
    X, y = toy
    with pytest.raises(ValueError, match=f"'device' parameter .* 'auto' or a torch device .*Got {device!r}"):
        NoisyRNNClassifier(**TINY, device=device).fit(X, y)


def test_cpu_device_strings_work(toy):
    X, y = toy
    assert NoisyRNNClassifier(**TINY, device="cpu").fit(X, y).module_.encoder.weight.is_cpu


def test_no_channels_is_named(toy):
    X, y = toy
    with pytest.raises(ValueError, match="no channels"):
        NoisyRNNClassifier(**TINY).fit(np.zeros((40, 8, 0)), y)


def test_divergence_names_dt(toy):
    X, y = toy
    with pytest.raises(FloatingPointError, match="dt is 1e\\+06 at most .* lower dt"):
        NoisyRNNClassifier(**TINY, dt=1e6, learn_dt=False, noise_type="none",
                           clip_grad_norm=None).fit(X * 1e3, y)


def test_module_of_an_unfitted_estimator_is_not_fitted_error():
    with pytest.raises(NotFittedError):
        NoisyRNNClassifier().module_


def test_pad_sequences_checks_its_length():
    with pytest.raises(ValueError, match="'length' parameter of pad_sequences"):
        pad_sequences([[1.0, 2.0]], length=3.9)
