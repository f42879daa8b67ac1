"""Continued training: partial_fit, warm_start, user callbacks, early stopping's
validation set, and training on after a save and load (joblib, skops, older saves)."""

import functools
import itertools

import joblib
import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor

from conftest import SMALL, TINY


def test_partial_fit_streams_epochs_and_learns(three_classes):
    X, y = three_classes()
    clf = NoisyRNNClassifier(**SMALL)
    clf.partial_fit(X[:40], y[:40], classes=[0, 1, 2])
    assert clf.n_iter_ == 1 and list(clf.classes_) == [0, 1, 2]
    for _ in range(14):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 15
    assert clf.score(X, y) > 0.8


class _RecordLR(Callback):
    """The learning rate each epoch trains at."""

    def initialize(self):
        self.lrs = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.lrs.append(net.optimizer_.param_groups[0]["lr"])


@pytest.mark.parametrize("fit_first", [False, True])
def test_partial_fit_trains_at_a_constant_rate_never_zero(fit_first, three_classes):
    """With max_iter=5 the cosine schedule counted across calls reached rate 0 at call 5."""
    X, y = three_classes()
    record = _RecordLR()
    clf = NoisyRNNClassifier(**{**SMALL, "max_iter": 5, "callbacks": [record]})
    if fit_first:  # partial_fit after a scheduled fit also trains at learning_rate_init
        clf.fit(X, y)
        record.lrs.clear()
    losses = []
    for _ in range(8):
        clf.partial_fit(X, y, classes=[0, 1, 2])
        losses.append(clf.loss_curve_[-1])
    assert record.lrs == [clf.learning_rate_init] * 8
    # Training moves the weights on every call (at rate 0 it would not).
    before = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    clf.partial_fit(X, y)
    assert any(not (clf.module_.state_dict()[k] == v).all() for k, v in before.items())
    if not fit_first:
        assert losses[-1] < losses[0]


def _weights(model):
    return {k: v.clone() for k, v in model.module_.state_dict().items()}


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_continued_training_honours_changed_parameters(how, three_classes):
    """set_params before a warm-start fit or a partial_fit was silently ignored."""
    X, y = three_classes()

    def go_on(model):
        return model.fit(X, y) if how == "warm_start" else model.partial_fit(X, y)

    def fitted():
        params = {**SMALL, "max_iter": 2, "warm_start": True, "lr_schedule": "constant"}
        return NoisyRNNClassifier(**params).fit(X, y)

    same, changed = fitted(), fitted()
    go_on(same)
    go_on(changed.set_params(learning_rate_init=0.05, noise_level=0.5))
    assert changed.net_.optimizer_.param_groups[0]["lr"] == 0.05
    assert changed.module_.noise_additive == 0.5
    assert not np.array_equal(changed.predict_proba(X), same.predict_proba(X))
    # The same change, made before the first fit, gives the model that warm start gives.
    module_kwargs = NoisyRNNClassifier(**{**SMALL, "max_iter": 2, "noise_level": 0.5})
    module_kwargs = module_kwargs.fit(X, y)._module_kwargs
    assert changed._module_kwargs == module_kwargs
    # A noise_type change reaches the module, and a saved model keeps it.
    go_on(changed.set_params(noise_type="none"))
    assert changed.module_.noise_additive == changed.module_.noise_multiplicative == 0.0
    import pickle

    assert pickle.loads(pickle.dumps(changed)).module_.noise_type == "none"
    # Training-loop settings: the batch size and the callbacks are rebuilt.
    go_on(changed.set_params(batch_size=7, clip_grad_norm=None))
    assert changed.net_.batch_size == 7
    assert "clipping" not in dict(changed.net_.callbacks_)


@pytest.mark.parametrize(
    "param, value",
    [("hidden_size", 32), ("dt", 0.5), ("learn_dt", False), ("window", 2),
     ("bidirectional", False), ("readout", "last")],
)
def test_parameters_that_shape_the_weights_cannot_change_on_a_fitted_model(
    param, value, three_classes
):
    X, y = three_classes()
    clf = NoisyRNNClassifier(**{**SMALL, "max_iter": 2, "warm_start": True}).fit(X, y)
    before = _weights(clf)
    was = clf.get_params()[param]
    clf.set_params(**{param: value})
    for call in (clf.fit, clf.partial_fit):
        with pytest.raises(ValueError, match=rf"{param} changed .*{param}={was!r}.*fit anew"):
            call(X, y)
    assert all((clf.module_.state_dict()[k] == v).all() for k, v in before.items())
    assert clf.n_iter_ == 2
    clf.set_params(**{param: was})  # set back: training goes on
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 3
    # warm_start=False fits anew with the new value.
    clf.set_params(**{param: value, "warm_start": False}).fit(X, y)
    assert clf._module_kwargs[param] == value and clf.n_iter_ == 2


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
@pytest.mark.parametrize(
    "fitted, now",
    [
        # parameters read from JSON or YAML are lists: equal numbers are the same value
        (dict(dt=(0.1, 1.0)), dict(dt=[0.1, 1.0])),
        (dict(dt=[0.1, 1.0]), dict(dt=(0.1, np.float32(1.0)))),
        # the window that "auto" chose, given as a number, is the same window
        (dict(window="auto"), dict(window=3)),
        # and the standardization that "auto" chose, named, the same standardization
        (dict(standardize="auto"), dict(standardize="channel")),
        (dict(standardize="channel"), dict(standardize="auto")),
    ],
)
def test_the_same_value_spelled_otherwise_is_no_change(how, fitted, now):
    X = np.random.RandomState(0).normal(size=(30, 300))  # "auto": windows of 3
    y = np.arange(30) % 2
    clf = NoisyRNNClassifier(**TINY, warm_start=True, **fitted).fit(X, y)
    assert clf.window_ == 3 and clf.standardize_ == "channel"
    clf.set_params(**now)
    clf.fit(X, y) if how == "warm_start" else clf.partial_fit(X, y)
    assert clf.n_iter_ == (4 if how == "warm_start" else 3)
    # Another value is still refused.
    other = {"dt": (0.1, 2.0), "window": 2, "standardize": "step"}
    clf.set_params(**{key: other[key] for key in now})
    with pytest.raises(ValueError, match=f"{next(iter(now))} changed"):
        clf.fit(X, y)


def test_partial_fit_needs_every_class_up_front(three_classes):
    X, y = three_classes()
    clf = NoisyRNNClassifier(**SMALL).partial_fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="not seen in fit"):
        clf.partial_fit(X, y)


def test_regressor_partial_fit_keeps_the_first_target_scaling(three_classes):
    X, _ = three_classes()
    y = 100 * X.mean(axis=1)
    reg = NoisyRNNRegressor(**SMALL).partial_fit(X, y)
    mean = reg._y_mean.copy()
    reg.partial_fit(X[:20], y[:20] + 1e3)
    np.testing.assert_array_equal(reg._y_mean, mean)
    assert reg.n_iter_ == 2


def test_warm_start_goes_on_from_the_current_weights(three_classes):
    X, y = three_classes()
    cold = NoisyRNNClassifier(**{**SMALL, "max_iter": 3}).fit(X, y).fit(X, y)
    assert cold.n_iter_ == 3
    warm = NoisyRNNClassifier(**{**SMALL, "max_iter": 3, "warm_start": True}).fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ == 6
    # The second call starts from the trained weights: its first epoch is far
    # below a cold start's first epoch (its own schedule restarts at
    # learning_rate_init, so its last epoch need not beat the first call's).
    assert warm.loss_curve_[3] < 0.5 * cold.loss_curve_[0]


def test_user_callbacks_are_called(three_classes):
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    X, y = three_classes()
    clf = NoisyRNNClassifier(**{**SMALL, "max_iter": 4, "callbacks": [CountEpochs()]}).fit(X, y)
    counters = [cb for _, cb in clf.net_.callbacks_ if isinstance(cb, CountEpochs)]
    assert len(counters) == 1 and counters[0].epochs == 4
    assert "callbacks" in clf.get_params()


def test_skops_secure_persistence(tmp_path, three_classes):
    sio = pytest.importorskip("skops.io")
    X, y = three_classes()
    clf = NoisyRNNClassifier(**SMALL).fit(X, y)
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
def test_training_goes_on_after_a_load_as_without_it(tmp_path, fmt, three_classes):
    """Optimizer state, learning-rate schedule and shuffling survive a save and load."""
    X, y = three_classes()
    clf = NoisyRNNClassifier(**SMALL, batch_size=32).fit(X, y)
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
    assert loaded.n_iter_ == clf.n_iter_ == SMALL["max_iter"] + 3
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_loading_draws_nothing_from_torchs_generator(three_classes):
    """A load never disturbs a fit running meanwhile (e.g. on a Dask worker)."""
    import pickle

    import torch

    model = NoisyRNNClassifier(hidden_size=8, max_iter=1, random_state=0)
    blob = pickle.dumps(model.fit(*three_classes()))
    torch.manual_seed(0)
    before = torch.get_rng_state()
    pickle.loads(blob)
    assert torch.equal(torch.get_rng_state(), before)


def test_partial_fit_neither_early_stops_nor_holds_data_out(three_classes):
    """As sklearn's MLP: early_stopping is for fit (a fresh partial_fit raised a KeyError)."""
    X, y = three_classes()
    fresh = NoisyRNNClassifier(**SMALL, early_stopping=True).partial_fit(X, y)
    fitted = NoisyRNNClassifier(**{**SMALL, "max_iter": 3, "early_stopping": True}).fit(X, y)
    assert "valid_loss" in fitted.net_.history[-1]
    fitted.partial_fit(X, y)
    for clf in (fresh, fitted):
        assert "valid_loss" not in clf.net_.history[-1]
        assert sum(clf.net_.history[-1, "batches", :, "train_batch_size"]) == len(X)
    fitted.set_params(warm_start=True).fit(X, y)  # fit still validates
    assert "valid_loss" in fitted.net_.history[-1]


# -- the learning-rate schedule of continued training ---------------------------------
class _LRTrace(Callback):
    """Appends the rate of each epoch to ``trace`` (kept when the callbacks are rebuilt)."""

    def __init__(self, trace):
        self.trace = trace

    def on_epoch_begin(self, net, **kwargs):
        self.trace.append(net.optimizer_.param_groups[0]["lr"])


def _cosine(peak, epochs):
    return [peak * (1 + np.cos(np.pi * k / epochs)) / 2 for k in range(epochs)]


def _traced(trace, **params):
    return NoisyRNNClassifier(
        **{**SMALL, "hidden_size": 4, "max_iter": 3, "warm_start": True,
           "callbacks": [_LRTrace(trace)], **params}
    )


# Every parameter that set_params may change on a fitted model, with a new value.
CHANGES = [
    ("noise_type", "additive"), ("noise_level", 0.3), ("noise_increment", "gaussian"),
    ("solver", "midpoint"), ("beta", 0.5), ("gamma", 0.01), ("linear_weight", 0.5),
    ("max_iter", 5), ("batch_size", 7), ("learning_rate_init", 0.01),
    ("lr_schedule", "constant"), ("clip_grad_norm", None), ("early_stopping", True),
    ("validation_fraction", 0.3), ("n_iter_no_change", 1), ("tol", 0.5), ("random_state", 1),
    ("verbose", 2), ("device", "cpu"), ("callbacks", "another tracer"),
    ("class_weight", {0: 2.0}),
]


@pytest.mark.parametrize("name, value", CHANGES, ids=[name for name, _ in CHANGES])
def test_a_warm_start_fit_runs_its_own_schedule_after_any_change(name, value, three_classes,
                                                                capsys):
    """Each warm-start fit: a cosine from learning_rate_init over its own planned epochs,
    annealed to 0 at its end ("constant": learning_rate_init throughout); partial_fit at
    learning_rate_init. (The cosine used to go on from where the last call left it, at
    rate 0 after a full fit; a new rate was scaled up to 5x inside torch's recursion.)"""
    X, y = three_classes(n=40)
    trace = []
    clf = _traced(trace).fit(X, y)
    assert trace == pytest.approx(_cosine(0.005, 3))
    before = clf.predict_proba(X)
    trace.clear()
    if name == "callbacks":
        value = [_LRTrace(trace)]
    clf.set_params(**{name: value}).fit(X, y)
    capsys.readouterr()
    rate, epochs = clf.learning_rate_init, clf.max_iter
    expected = [rate] * epochs if clf.lr_schedule == "constant" else _cosine(rate, epochs)
    assert 0 < len(trace) <= epochs
    assert trace == pytest.approx(expected[: len(trace)], rel=1e-12, abs=0)
    if len(trace) == epochs and clf.lr_schedule == "cosine":  # annealed to 0 at its end
        assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0, abs=1e-12)
    assert clf.n_iter_ == 3 + len(trace)
    assert not np.array_equal(clf.predict_proba(X), before)
    trace.clear()
    clf.partial_fit(X, y)
    assert trace == [rate]


def test_a_new_learning_rate_is_the_peak_of_the_next_fit(three_classes):
    X, y = three_classes(n=40)
    trace = []
    clf = _traced(trace).fit(X, y)
    trace.clear()
    clf.set_params(learning_rate_init=0.03, max_iter=6).fit(X, y)
    assert max(trace) == trace[0] == 0.03
    assert trace == pytest.approx(_cosine(0.03, 6), rel=1e-12)


def test_constant_schedule_after_a_cosine_fit_trains_at_learning_rate_init(three_classes):
    X, y = three_classes(n=40)
    trace = []
    clf = _traced(trace).fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(lr_schedule="constant").fit(X, y)
    assert trace[-3:] == [0.005] * 3
    assert not np.array_equal(clf.predict_proba(X), before)


def test_continued_training_keeps_adams_moments(three_classes):
    X, y = three_classes(n=40)
    clf = _traced([], batch_size=40).fit(X, y)
    state = clf.net_.optimizer_.state_dict()["state"][0]
    assert float(state["step"]) == 3
    moment = state["exp_avg_sq"].clone()
    clf.fit(X, y)
    clf.partial_fit(X, y)
    state = clf.net_.optimizer_.state_dict()["state"][0]
    assert float(state["step"]) == 7  # counted on, not restarted
    assert not torch.equal(state["exp_avg_sq"], moment)


def test_a_warm_start_fit_after_partial_fit_stops_early(three_classes):
    """early_stopping applies to every fit, also when partial_fit built the model."""
    X, y = three_classes()
    clf = NoisyRNNClassifier(**{**SMALL, "max_iter": 40}, early_stopping=True, warm_start=True,
                             n_iter_no_change=2, tol=10).partial_fit(X, y)
    assert "valid_loss" not in clf.net_.history[-1]
    clf.fit(X, y)
    assert clf.n_iter_ == 1 + 3  # the first epoch sets the best; two more without gain
    assert "valid_loss" in clf.net_.history[-1]
    assert sum(clf.net_.history[-1, "batches", :, "train_batch_size"]) < len(X)
    fresh = NoisyRNNClassifier(**{**SMALL, "max_iter": 40}, early_stopping=True,
                               n_iter_no_change=2, tol=10).fit(X, y)
    assert fresh.n_iter_ == 3


def test_partial_fit_with_other_classes_raises(toy):
    X, y = toy
    clf = NoisyRNNClassifier(**TINY).partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X, y, classes=[1, 0])  # the same classes, in any order
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\]` is not the same .*\[0, 1\]"):
        clf.partial_fit(X, y, classes=[0, 1, 2])


# -- training on after a save and load ------------------------------------------------
def _train(model, how, X, y):
    return model.partial_fit(X, y) if how == "partial_fit" else model.fit(X, y)


@pytest.mark.parametrize(
    "early_stopping, warm_start, first, then",
    list(itertools.product([False, True], [False, True], ["fit", "partial_fit"],
                           ["fit", "partial_fit"])),
)
def test_reload_then_train_equals_training_without_the_save(
    toy, tmp_path, early_stopping, warm_start, first, then
):
    X, y = toy
    params = dict(hidden_size=4, max_iter=3, random_state=0, early_stopping=early_stopping,
                  validation_fraction=0.25, n_iter_no_change=1, warm_start=warm_start)
    kept = _train(NoisyRNNClassifier(**params), first, X, y)
    joblib.dump(kept, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    for _ in range(2):
        _train(kept, then, X, y)
        _train(loaded, then, X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), kept.predict_proba(X))
    assert loaded.n_iter_ == kept.n_iter_
    assert loaded.loss_curve_ == kept.loss_curve_


@pytest.mark.parametrize("Estimator", [NoisyRNNClassifier, NoisyRNNRegressor])
def test_partial_fit_with_early_stopping_trains_without_a_validation_set(toy, Estimator):
    X, y = toy
    model = Estimator(hidden_size=4, max_iter=3, early_stopping=True, random_state=0)
    model.partial_fit(X, y).partial_fit(X, y)
    assert model.n_iter_ == 2
    assert "valid_loss" not in model.net_.history[-1]
    # fit with early stopping holds out its validation set as documented
    model.fit(X, y)
    assert "valid_loss" in model.net_.history[-1]


def test_early_stopping_with_a_class_of_one_sample_says_so(toy):
    X, y = toy
    y = np.r_[2, y[1:]]
    with pytest.raises(ValueError, match=r"at least 2 samples of each class; classes \[2\]"):
        NoisyRNNClassifier(hidden_size=4, max_iter=2, early_stopping=True,
                           validation_fraction=0.2).fit(X, y)


def test_too_large_validation_fraction_advises_a_smaller_one(toy):
    X, y = toy
    with pytest.raises(ValueError, match="a smaller validation_fraction"):
        NoisyRNNClassifier(hidden_size=4, max_iter=2, early_stopping=True,
                           validation_fraction=0.99).fit(X, y)
    with pytest.raises(ValueError, match="a larger validation_fraction"):
        NoisyRNNClassifier(hidden_size=4, max_iter=2, early_stopping=True,
                           validation_fraction=0.01).fit(X[:10], y[:10])


def _saved_models(version, monkeypatch):
    """The classifier and regressor that sknrnn ``version`` saved in tests/data, the
    outputs it recorded, and the comparison of outputs: bit for bit on torch 2.13's CPU
    build (the one `make test` installs, with which they were recorded), within float32
    rounding on another (torch 2.11 on another processor differed by 1.4e-6 relative)."""
    from pathlib import Path

    here = Path(__file__).parent / "data"
    # On the CPU, where they were saved (a GPU machine would load them on CUDA).
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    models = joblib.load(here / f"models_{version}.joblib")
    expected = np.load(here / f"models_{version}_outputs.npz")
    if torch.__version__.split("+")[0] == "2.13.0":
        same = np.testing.assert_array_equal
    else:
        same = functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-7)
    return models["classifier"], models["regressor"], expected, same


def test_models_saved_by_0_3_load_predict_identically_and_train_on(monkeypatch):
    """Fitted and saved by sknrnn 0.3 (one step per observation, read one way)."""
    clf, reg, expected, same = _saved_models("0.3", monkeypatch)
    same(clf.predict_proba(expected["X"]), expected["proba"])
    same(reg.predict(expected["X"]), expected["pred"])
    assert (clf.window, clf.bidirectional, clf.window_) == (1, False, 1)
    assert clf.module_.reverse is None
    clf.set_params(warm_start=True, max_iter=2).fit(expected["X"], expected["proba"].argmax(1))
    assert clf.n_iter_ == 5


def test_models_saved_by_0_4_load_predict_identically_and_train_on(monkeypatch):
    """Fitted and saved by sknrnn 0.4 (windows of 2, both ways, standardized per channel),
    on 40 random walks of 150 steps: ``hidden_size=8, max_iter=3, random_state=0``."""
    clf, reg, expected, same = _saved_models("0.4", monkeypatch)
    same(clf.predict_proba(expected["X"]), expected["proba"])
    same(clf.predict_proba(expected["X_long"]), expected["proba_long"])
    same(reg.predict(expected["X"]), expected["pred"])
    assert (clf.window_, clf.bidirectional, clf.standardize, clf.standardize_) == (
        2, True, "channel", "channel"
    )
    clf.set_params(warm_start=True, max_iter=2).fit(expected["X"], expected["proba"].argmax(1))
    assert clf.n_iter_ == 5 and clf.standardize_ == "channel"


class _BatchLRTrace(Callback):
    """Appends the rate at which each training batch steps to ``trace``."""

    def __init__(self, trace):
        self.trace = trace

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.trace.append(net.optimizer_.param_groups[0]["lr"])


def test_cosine_fits_warm_up_over_their_first_epoch_and_partial_fit_does_not(three_classes):
    """40 sequences in batches of 8: the first epoch of each fit steps at 1/5 .. 5/5 of
    the rate, later epochs at the cosine's rate; "constant" and partial_fit never warm up."""
    X, y = three_classes(n=40)
    trace = []
    clf = NoisyRNNClassifier(**{**SMALL, "hidden_size": 4, "max_iter": 3, "batch_size": 8,
                                "warm_start": True, "callbacks": [_BatchLRTrace(trace)]})
    clf.fit(X, y)
    rate = clf.learning_rate_init
    cosine = _cosine(rate, 3)
    expected = [rate * k / 5 for k in range(1, 6)] + [cosine[1]] * 5 + [cosine[2]] * 5
    assert trace == pytest.approx(expected, rel=1e-12)
    trace.clear()
    clf.fit(X, y)  # a warm-start fit: a schedule of its own, warm-up included
    assert trace == pytest.approx(expected, rel=1e-12)
    trace.clear()
    clf.partial_fit(X, y)
    assert trace == [rate] * 5
    trace.clear()
    clf.set_params(lr_schedule="constant").fit(X, y)
    assert trace == [rate] * 15
