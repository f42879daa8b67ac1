"""NoisyRNNClassifier and NoisyRNNRegressor as scikit-learn users meet them."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor, pad_sequences

from conftest import SMALL, TINY


def _toy_classification(n=80, T=12, C=1, n_classes=2, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(n_classes, size=n)
    X = rng.normal(size=(n, T, C)) + 1.5 * y[:, None, None]
    return (X[..., 0] if C == 1 else X), y


@pytest.fixture(scope="module")
def fitted():
    X, y = _toy_classification()
    return NoisyRNNClassifier(**SMALL).fit(X, y), X, y


def test_digits_accuracy_with_default_settings():
    """Defaults + max_iter=30 reach >= 0.90 on digits as 64-step sequences."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    clf = NoisyRNNClassifier(max_iter=30, random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.90


def test_classifier_string_labels_multiclass_and_proba():
    X, y = _toy_classification(n=90, n_classes=3)
    labels = np.array(["low", "mid", "high"])[y]
    clf = NoisyRNNClassifier(**SMALL).fit(X, labels)
    assert list(clf.classes_) == ["high", "low", "mid"]
    proba = clf.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = clf.predict(X)
    assert set(pred) <= set(labels)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, labels) > 0.8


def test_multichannel_input_and_dataframe(fitted):
    X3, y = _toy_classification(C=3)
    clf = NoisyRNNClassifier(**SMALL).fit(X3, y)
    assert clf.n_channels_in_ == 3 and clf.n_features_in_ == 12
    assert clf.score(X3, y) > 0.8

    _, X, y = fitted
    df = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    clf_df = NoisyRNNClassifier(**SMALL).fit(df, y)
    np.testing.assert_array_equal(clf_df.feature_names_in_, df.columns)
    np.testing.assert_array_equal(clf_df.predict_proba(df), fitted[0].predict_proba(X))


def test_regressor_1d_and_2d_targets_are_standardized_inside():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 10))
    y = 1e4 * X.mean(axis=1) + 5e5  # far from unit scale
    reg = NoisyRNNRegressor(hidden_size=16, max_iter=40, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (100,)
    assert reg.score(X, y) > 0.8
    Y = np.column_stack([y, -y / 1e4])
    reg2 = NoisyRNNRegressor(hidden_size=16, max_iter=40, random_state=0).fit(X, Y)
    assert reg2.predict(X).shape == (100, 2)
    assert reg2.score(X, Y) > 0.8


def test_padded_sequence_predicts_like_the_unpadded_one():
    rng = np.random.RandomState(0)
    lengths = rng.randint(4, 13, size=60)
    seqs = [rng.normal(size=n) + (n > 8) for n in lengths]
    X = pad_sequences(seqs)
    y = (lengths > 8).astype(int)
    clf = NoisyRNNClassifier(**SMALL).fit(X, y)
    assert clf.score(X, y) > 0.8
    # the padded row through the estimator == the bare sequence through the module
    import torch

    for i in range(5):
        z = (seqs[i] - clf._x_mean) / clf._x_scale  # the module reads standardized input
        seq = torch.tensor(z, dtype=torch.float32)[None, :, None]
        with torch.no_grad():
            logits = clf.module_.eval()(seq.to(clf.module_.M_A.device)).cpu().numpy()
        np.testing.assert_allclose(clf._deterministic_outputs(X[i : i + 1]), logits, rtol=1e-6, atol=1e-6)
    # more padding does not change anything
    longer = pad_sequences(seqs, length=12)
    np.testing.assert_array_equal(clf.predict_proba(longer), clf.predict_proba(X))


def _row(*values):
    """One 12-step sequence (the fixture's length) starting with ``values``."""
    row = np.ones((1, 12))
    row[0, : len(values)] = values
    return row


@pytest.mark.parametrize(
    "X, message",
    [
        (_row(1.0, np.nan, 2.0), "NaN inside"),
        (_row(1.0, np.inf), "infinity"),
        (np.full((1, 12), np.nan), "all NaN"),
        (np.zeros((1, 12, 1, 1)), "2D .* or 3D"),
        (np.zeros(12), "Expected 2D array"),
        ([[1.0] * 12, [1.0] * 5], "pad_sequences"),
    ],
)
def test_bad_X_raises_clear_error(fitted, X, message):
    clf = fitted[0]
    with pytest.raises(ValueError, match=message):
        clf.predict(X)


def test_table_columns_and_channel_count_must_match_fit(fitted):
    clf, X, _ = fitted
    with pytest.raises(ValueError, match="columns seen in fit"):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match="channels"):
        clf.predict(np.repeat(X[:, :, None], 2, axis=2))


@pytest.mark.parametrize(
    "params, error",
    [
        (dict(noise_type="brownian"), InvalidParameterError),
        (dict(noise_level=-0.1), InvalidParameterError),
        (dict(noise_level=float("nan")), InvalidParameterError),
        (dict(noise_level=float("inf")), ValueError),
        (dict(noise_type="additive", noise_level=(0.1, 0.2)), ValueError),  # pair only for "mixed"
        (dict(noise_type="mixed", noise_level=(0.1, 0.2, 0.3)), ValueError),
        (dict(hidden_size=0), InvalidParameterError),
        (dict(dt=0.0), InvalidParameterError),
        (dict(solver="rk4"), InvalidParameterError),
    ],
)
def test_bad_parameters_raise(params, error):
    X, y = _toy_classification(n=20)
    with pytest.raises(error, match="noise_level|noise_type|hidden_size|dt|solver"):
        NoisyRNNClassifier(**{**SMALL, **params}).fit(X, y)


def test_mixed_noise_accepts_a_pair():
    X, y = _toy_classification(n=40)
    clf = NoisyRNNClassifier(**{**SMALL, "noise_type": "mixed", "noise_level": (0.1, 0.05)})
    clf.fit(X, y)
    assert (clf.module_.noise_additive, clf.module_.noise_multiplicative) == (0.1, 0.05)


def test_get_params_shows_only_sknrnn_parameters():
    params = NoisyRNNClassifier().get_params()
    for name in ["hidden_size", "noise_type", "noise_level", "max_iter", "batch_size",
                 "learning_rate_init", "early_stopping", "validation_fraction",
                 "n_iter_no_change", "random_state", "verbose", "device"]:
        assert name in params
    # none of the skorch net's (module__..., criterion, optimizer): module is sknrnn's own,
    # the class of the recursion (None: NoisyRNN)
    assert not any("__" in k or k in ("criterion", "optimizer") for k in params)
    assert params["module"] is None
    assert "alpha" not in params  # sklearn's alpha is an L2 penalty


def test_pipeline_cross_val_and_grid_search_over_noise():
    X, y = _toy_classification(n=60)
    pipe = make_pipeline(FunctionTransformer(), NoisyRNNClassifier(**SMALL))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.7
    # The identity step changes nothing: the estimator alone scores the same on each fold.
    np.testing.assert_array_equal(cross_val_score(NoisyRNNClassifier(**SMALL), X, y, cv=3),
                                  scores)
    grid = GridSearchCV(
        NoisyRNNClassifier(**SMALL),
        {"noise_type": ["none", "additive", "mixed"], "noise_level": [0.05, 0.2]},
        cv=2,
    ).fit(X, y)
    results = grid.cv_results_
    # Each fold's score is that of the model fitted on the other fold (mixed noise, 0.2).
    assert results["params"][5] == {"noise_level": 0.2, "noise_type": "mixed"}
    for k, (train, test) in enumerate(StratifiedKFold(2).split(X, y)):
        model = NoisyRNNClassifier(**SMALL, **results["params"][5]).fit(X[train], y[train])
        assert results[f"split{k}_test_score"][5] == model.score(X[test], y[test])
    # Without noise the level is ignored: both levels score alike on every fold.
    quiet = [i for i, p in enumerate(results["params"]) if p["noise_type"] == "none"]
    assert len(quiet) == 2
    for k in range(2):
        assert len({results[f"split{k}_test_score"][i] for i in quiet}) == 1
    # The refit model is a fit with the best parameters on all the data.
    best = NoisyRNNClassifier(**SMALL, **grid.best_params_).fit(X, y)
    np.testing.assert_array_equal(grid.predict_proba(X), best.predict_proba(X))
    assert grid.score(X, y) > 0.7


def test_same_random_state_same_model_and_another_differs(fitted):
    clf, X, y = fitted
    again = NoisyRNNClassifier(**SMALL).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    for a, b in zip(again.module_.state_dict().values(), clf.module_.state_dict().values()):
        assert (a == b).all()
    other = NoisyRNNClassifier(**{**SMALL, "random_state": 1}).fit(X, y)
    assert not np.array_equal(other.predict_proba(X), clf.predict_proba(X))


def test_fit_does_not_touch_the_global_torch_seed(fitted):
    import torch

    _, X, y = fitted
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    NoisyRNNClassifier(**{**SMALL, "max_iter": 2}).fit(X, y)
    assert torch.equal(torch.rand(3), expected)


def test_joblib_roundtrip_gives_identical_predictions(fitted, tmp_path):
    clf, X, _ = fitted
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_model_saved_for_cuda_predicts_on_cpu_only_machine(fitted, monkeypatch):
    """A model trained with device="cuda" loads and predicts where CUDA is absent."""
    import torch

    clf, X, _ = fitted
    on_cuda = pickle.loads(pickle.dumps(clf))
    on_cuda.device = "cuda"  # what a model fitted on a GPU machine carries
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    # what the fitted model predicts on the CPU (where the fixture was fitted, unless a GPU
    # machine runs the tests: its kernels round differently)
    expected = pickle.loads(pickle.dumps(clf)).predict_proba(X)
    loaded = pickle.loads(pickle.dumps(on_cuda))
    assert loaded.net_.device == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    # predicting reads the module where it is and changes nothing of the fitted net
    loaded.net_.device = "cuda"
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert loaded.net_.device == "cuda"
    assert next(loaded.module_.parameters()).device.type == "cpu"


def test_saved_state_holds_plain_arrays_not_torch_objects(fitted):
    clf = fitted[0]
    state = clf.__getstate__()
    assert "net_" not in state
    assert all(isinstance(v, np.ndarray) for v in state["_module_state"].values())
    assert [row["epoch"] for row in state["_history"]] == list(range(1, clf.n_iter_ + 1))
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.net_.history[:, "train_loss"] == clf.net_.history[:, "train_loss"]


def test_verbose_2_prints_one_line_per_epoch_and_0_nothing(capfd):
    X, y = _toy_classification(n=30)
    NoisyRNNClassifier(**{**SMALL, "max_iter": 4, "verbose": 0}).fit(X, y)
    assert capfd.readouterr() == ("", "")
    NoisyRNNClassifier(**{**SMALL, "max_iter": 4, "verbose": 2}).fit(X, y)
    out, err = capfd.readouterr()
    lines = [ln for ln in out.splitlines() if ln.strip()]
    epoch_lines = [ln for ln in lines if ln.split()[0].isdigit()]
    assert [int(ln.split()[0]) for ln in epoch_lines] == [1, 2, 3, 4]
    assert err == ""


def test_verbose_1_draws_a_progress_bar_over_the_planned_epochs(capfd):
    """verbose=1 printed a table row per epoch (hundreds on a default fit)."""
    X, y = _toy_classification(n=30)
    clf = NoisyRNNClassifier(**{**SMALL, "max_iter": 4, "verbose": 1}).fit(X, y)
    out, err = capfd.readouterr()
    assert out == ""  # no table
    assert "4/4" in err and "epoch" in err and "train_loss" in err
    assert "progress" in dict(clf.net_.callbacks_) and "epoch_log" not in dict(clf.net_.callbacks_)
    # each training call has a bar over its own planned epochs
    clf.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert "3/3" in capfd.readouterr().err
    clf.partial_fit(X, y)
    assert "1/1" in capfd.readouterr().err
    # early stopping ends the bar before its planned epochs, and says so
    es = NoisyRNNClassifier(**{**SMALL, "max_iter": 50, "verbose": 1, "early_stopping": True,
                               "validation_fraction": 0.25, "n_iter_no_change": 1, "tol": 10})
    es.fit(X, y)
    out, err = capfd.readouterr()
    assert es.n_iter_ < 50 and f"{es.n_iter_}/50" in err and "stopped early" in err
    assert out == "" and "valid_loss" in err


def test_verbose_log_shows_train_and_validation_loss(capsys):
    X, y = _toy_classification(n=100)
    NoisyRNNClassifier(
        **{**SMALL, "max_iter": 3, "verbose": 2, "early_stopping": True, "validation_fraction": 0.2}
    ).fit(X, y)
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header[:3] == ["epoch", "train_loss", "valid_loss"]


def test_early_stopping_stops_and_keeps_best_epoch():
    X, y = _toy_classification(n=100)
    clf = NoisyRNNClassifier(
        **{**SMALL, "max_iter": 200, "early_stopping": True, "n_iter_no_change": 3,
           "validation_fraction": 0.2}
    ).fit(X, y)
    assert clf.n_iter_ < 200
    assert "valid_loss" in clf.net_.history[-1]
    assert clf.score(X, y) > 0.8


def test_early_stopping_on_too_small_a_set_raises():
    X, y = _toy_classification(n=12, n_classes=3)
    with pytest.raises(ValueError, match="too few for a validation set"):
        NoisyRNNClassifier(**{**SMALL, "early_stopping": True}).fit(X, y)


def test_fewer_samples_than_batch_size_trains():
    X, y = _toy_classification(n=10)
    clf = NoisyRNNClassifier(**{**SMALL, "batch_size": 256}).fit(X, y)
    assert clf.n_iter_ == SMALL["max_iter"]


# -- windows, reading both ways and time scales as estimator parameters ---------------
def test_window_auto_targets_a_recurrence_length():
    from sknrnn._plan import auto_budget

    X, y = _toy_classification(n=40, T=12)
    with auto_budget(_AUTO_WINDOW_STEPS=5):
        clf = NoisyRNNClassifier(hidden_size=4, max_iter=2, random_state=0).fit(X, y)
    assert clf.window_ == 3  # ceil(12 / 5)
    assert clf.module_.encoder.in_features == 3
    with auto_budget(_AUTO_WINDOW_STEPS=128):
        assert NoisyRNNClassifier(hidden_size=4, max_iter=2).fit(X, y).window_ == 1
    clf = NoisyRNNClassifier(hidden_size=4, max_iter=2, window=4).fit(X[..., None], y)
    assert clf.window_ == 4 and clf.module_.encoder.in_features == 4


def test_window_and_dt_auto_follow_the_lengths_not_the_padding():
    """One 1,300-step row among 10-step rows made every short row one step of windows of 11."""
    rng = np.random.RandomState(0)
    rows = [rng.normal(size=10) for _ in range(19)] + [rng.normal(size=1300)]
    y = np.arange(20) % 2
    params = dict(hidden_size=4, max_iter=1, learn_dt=False, random_state=0)
    clf = NoisyRNNClassifier(**params).fit(pad_sequences(rows), y)
    # The median length, 10: one observation per step, and a step of 1 (S = 10 <= 64).
    assert clf.window_ == 1 and clf.module_.encoder.in_features == 1
    np.testing.assert_array_equal(clf.module_.step_size().detach().numpy(), 1.0)
    # The same as the short rows alone, NaN-padded to any length or not.
    short = NoisyRNNClassifier(**params).fit(pad_sequences(rows[:19]), y[:19])
    assert short._module_kwargs["window"] == clf._module_kwargs["window"] == 1
    assert short._module_kwargs["dt"] == clf._module_kwargs["dt"] == 1.0
    # Most rows long: their median decides (ceil(1300 / 128) = 11).
    long = NoisyRNNClassifier(**params).fit(pad_sequences(rows[:5] + rows[-1:] * 15), y)
    assert long.window_ == 11


def test_dt_auto_spreads_the_steps_over_a_long_recurrence():
    from sknrnn._plan import auto_budget

    X, y = _toy_classification(n=40, T=12)
    clf = NoisyRNNClassifier(hidden_size=4, max_iter=1, window=3, learn_dt=False).fit(X, y)
    np.testing.assert_allclose(clf.module_.step_size().detach().cpu().numpy(), 1.0, rtol=1e-6)
    with auto_budget(_AUTO_DT_RANGE=3):  # the range for recurrences of more than 3 steps
        clf = NoisyRNNClassifier(hidden_size=4, max_iter=1, window=3, learn_dt=False).fit(X, y)
    steps = clf.module_.step_size().detach().double().cpu().numpy()
    np.testing.assert_allclose([steps.min(), steps.max()], [1 / 4, 1.0], rtol=1e-5)
    clf = NoisyRNNClassifier(hidden_size=4, max_iter=1, dt=(0.01, 0.5), learn_dt=False,
                             bidirectional=True).fit(X, y)
    for reader in (clf.module_, clf.module_.reverse):
        steps = reader.step_size().detach().double().cpu().numpy()
        np.testing.assert_allclose([steps.min(), steps.max()], [0.01, 0.5], rtol=1e-5)


@pytest.mark.parametrize("dt", [(0.5, 0.1), (0.1,), (0.0, 1.0), (0.1, float("nan"))])
def test_a_bad_dt_range_says_what_a_range_is(dt):
    X, y = _toy_classification(n=20)
    with pytest.raises(ValueError, match=r"\(dt_min, dt_max\) pair of finite floats .* dt_min <= dt_max"):
        NoisyRNNClassifier(hidden_size=4, max_iter=1, dt=dt).fit(X, y)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_one_way_or_both_ways_learn_a_shape_late_in_a_long_series(bidirectional):
    """The class is the sign of a bump in the last fifth of 300 steps of noise."""
    rng = np.random.RandomState(0)
    y = rng.randint(2, size=120)
    X = 0.5 * rng.normal(size=(120, 300))
    X[:, 250:270] += np.where(y[:, None] == 1, 2.0, -2.0)
    clf = NoisyRNNClassifier(hidden_size=16, max_iter=30, bidirectional=bidirectional,
                             random_state=0).fit(X[:80], y[:80])
    assert clf.window_ == 3
    assert clf.score(X[80:], y[80:]) >= 0.9


def test_grid_search_over_window_and_bidirectional():
    X, y = _toy_classification(n=60, T=12)
    search = GridSearchCV(
        NoisyRNNClassifier(hidden_size=8, max_iter=5, random_state=0),
        {"window": [1, 3], "bidirectional": [False, True]}, cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.window_ == search.best_params_["window"]


@pytest.mark.parametrize("readout", ["last", "mean", "max", "positions"])
def test_every_readout_learns_and_sizes_the_decoder(readout):
    """The class is the sign of a bump in the middle of 40 noisy steps."""
    rng = np.random.RandomState(0)
    y = rng.randint(2, size=120)
    X = 0.5 * rng.normal(size=(120, 40))
    X[:, 18:24] += np.where(y[:, None] == 1, 1.5, -1.5)
    clf = NoisyRNNClassifier(hidden_size=8, max_iter=20, readout=readout, random_state=0)
    clf.fit(X[:80], y[:80])
    blocks = {"last": 1, "mean": 2, "max": 2, "positions": 4}[readout]
    assert clf.module_.decoder.in_features == 8 * 2 * blocks  # both ways
    assert clf.score(X[80:], y[80:]) >= 0.9


def test_unknown_readout_is_a_parameter_error():
    X, y = _toy_classification(n=20, T=6)
    with pytest.raises(InvalidParameterError, match="readout"):
        NoisyRNNClassifier(readout="attention").fit(X, y)


def test_augment_is_reproducible_changes_the_fit_and_can_change_on_continued_training():
    X, y = _toy_classification(n=40, T=12)
    a = NoisyRNNClassifier(hidden_size=4, max_iter=3, augment=0.1, random_state=0).fit(X, y)
    b = NoisyRNNClassifier(hidden_size=4, max_iter=3, augment=0.1, random_state=0).fit(X, y)
    plain = NoisyRNNClassifier(hidden_size=4, max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), plain.predict_proba(X))
    a.set_params(warm_start=True, augment=0.0).fit(X, y)
    assert a.module_.augment == 0.0
    with pytest.raises(InvalidParameterError, match="augment"):
        NoisyRNNClassifier(augment=0.7).fit(X, y)


def test_input_clip_bounds_a_spike_s_effect_and_can_change_on_continued_training():
    X, y = _toy_classification(n=40, T=12)
    clf = NoisyRNNClassifier(hidden_size=4, max_iter=3, random_state=0).fit(X, y)
    assert clf.input_clip == 3.0 and clf.module_.input_clip == 3.0  # the default
    spiked = np.repeat(X[:1], 2, axis=0)
    spiked[0, 5], spiked[1, 5] = 1e3, 1e6  # spikes far beyond the training range
    proba = clf.predict_proba(spiked)
    np.testing.assert_array_equal(proba[0], proba[1])  # both read as input_clip exactly
    raw = NoisyRNNClassifier(hidden_size=4, max_iter=3, input_clip=None, random_state=0)
    raw_proba = raw.fit(X, y).predict_proba(spiked)
    assert np.all(np.isfinite(raw_proba)) and raw.module_.input_clip is None
    assert not np.array_equal(raw_proba[0], raw_proba[1])  # unclipped, the spikes differ
    clf.set_params(warm_start=True, input_clip=None).fit(X, y)
    assert clf.module_.input_clip is None
    with pytest.raises(InvalidParameterError, match="input_clip"):
        NoisyRNNClassifier(input_clip=0.0).fit(X, y)


INTEGER_PARAMS = dict(hidden_size=8, max_iter=3, batch_size=8, n_iter_no_change=2, verbose=0,
                      random_state=0)


@pytest.mark.parametrize("name", sorted(INTEGER_PARAMS))
def test_numpy_integers_work_wherever_python_ints_do(name):
    """torch refused batch_size=np.int64(8) ("should be a positive integer value")."""
    X, y = _toy_classification(n=40)
    params = dict(INTEGER_PARAMS, early_stopping=True, validation_fraction=0.25)
    plain = NoisyRNNClassifier(**params).fit(X, y)
    numpy = NoisyRNNClassifier(**{**params, name: np.int64(params[name])}).fit(X, y)
    np.testing.assert_array_equal(numpy.predict_proba(X), plain.predict_proba(X))
    # set_params on a fitted model: the same value in another integer type is no change
    numpy.set_params(warm_start=True, **{name: params[name]}).fit(X, y)
    plain.set_params(warm_start=True, **{name: np.int32(params[name])}).fit(X, y)
    np.testing.assert_array_equal(numpy.predict_proba(X), plain.predict_proba(X))
    assert pickle.loads(pickle.dumps(numpy)).n_iter_ == numpy.n_iter_


def test_grid_search_over_numpy_integer_grids():
    X, y = _toy_classification(n=40)
    search = GridSearchCV(
        NoisyRNNClassifier(hidden_size=4, max_iter=2, random_state=0),
        {"batch_size": np.arange(4, 12, 4), "hidden_size": np.arange(4, 7, 2)},
        cv=2, error_score="raise",
    ).fit(X, y)
    plain = GridSearchCV(
        NoisyRNNClassifier(hidden_size=4, max_iter=2, random_state=0),
        {"batch_size": [4, 8], "hidden_size": [4, 6]}, cv=2,
    ).fit(X, y)
    # numpy integers search as Python ints do: the same scores and the same best model.
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"],
                                  plain.cv_results_["mean_test_score"])
    best = search.best_estimator_
    assert best.net_.batch_size == search.best_params_["batch_size"]
    assert best.module_.hidden_size == search.best_params_["hidden_size"]
    np.testing.assert_array_equal(best.predict_proba(X), plain.predict_proba(X))


def test_numpy_integers_in_the_functions():
    from sknrnn import from_wide, lyapunov_exponent, pgd, robustness_score

    X, y = _toy_classification(n=20, T=6)
    clf = NoisyRNNClassifier(hidden_size=4, max_iter=1, random_state=0).fit(X, y)
    seven = np.int64(7)
    # Each gives what the same Python int gives.
    np.testing.assert_array_equal(pad_sequences([[1.0, 2.0]], length=seven),
                                  [[1.0, 2.0] + [np.nan] * 5])
    wide = np.arange(12.0).reshape(2, 6)
    np.testing.assert_array_equal(from_wide(wide, np.int64(2)), from_wide(wide, 2))
    assert from_wide(wide, np.int64(2)).shape == (2, 3, 2)
    np.testing.assert_array_equal(lyapunov_exponent(clf, X, batch_size=seven),
                                  lyapunov_exponent(clf, X, batch_size=7))
    np.testing.assert_array_equal(pgd(clf, X, y, 0.1, n_steps=np.int64(2), random_state=0),
                                  pgd(clf, X, y, 0.1, n_steps=2, random_state=0))
    assert (robustness_score(clf, X, y, n_repeats=np.int64(2), random_state=0)
            == robustness_score(clf, X, y, n_repeats=2, random_state=0))


# -- noise_level ------------------------------------------------------------------
def test_noise_level_is_ignored_without_noise(toy):
    X, y = toy
    quiet = NoisyRNNClassifier(**TINY, noise_type="none", noise_level=(0.1, 0.2)).fit(X, y)
    plain = NoisyRNNClassifier(**TINY, noise_type="none").fit(X, y)
    np.testing.assert_array_equal(quiet.predict_proba(X), plain.predict_proba(X))
    search = GridSearchCV(
        NoisyRNNClassifier(**TINY, noise_level=(0.1, 0.2)),
        {"noise_type": ["none", "mixed"]}, cv=2, error_score="raise",
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_mixed_noise_with_three_levels_says_what_is_wrong(toy):
    X, y = toy
    with pytest.raises(ValueError, match=r"finite float >= 0 or an \(additive, multiplicative\) "
                                         r"pair .*Got \[0.1, 0.2, 0.3\]"):
        NoisyRNNClassifier(**TINY, noise_type="mixed", noise_level=[0.1, 0.2, 0.3]).fit(X, y)


# -- convergence ---------------------------------------------------------------------
def test_convergence_warning_only_when_a_constant_rate_is_cut_short(toy):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    X, y = toy
    constant = NoisyRNNClassifier(**{**TINY, "max_iter": 3}, lr_schedule="constant")
    with pytest.warns(ConvergenceWarning, match="ran all 3 epochs .* still improving") as w:
        constant.fit(X, y)
    assert f"its lowest, {constant.loss_curve_[-1]:.4g}, in the last epoch" in str(w[0].message)
    assert constant.loss_curve_[-1] == min(constant.loss_curve_)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        # the cosine schedule ends where the fit planned it; partial_fit plans nothing
        NoisyRNNClassifier(**{**TINY, "max_iter": 3}).fit(X, y)
        constant.partial_fit(X, y)
        # a loss that stopped improving by tol has converged
        NoisyRNNClassifier(**{**TINY, "max_iter": 3}, lr_schedule="constant", tol=1e6).fit(X, y)


def test_convergence_warning_under_early_stopping_says_what_the_validation_loss_did(toy):
    """It claimed "the validation loss was still improving" when it got worse (0.778,
    0.339, 0.867): it says where its lowest was and what the last was."""
    from sklearn.exceptions import ConvergenceWarning

    X, y = toy
    clf = NoisyRNNClassifier(hidden_size=4, max_iter=3, random_state=3, early_stopping=True,
                             lr_schedule="constant", learning_rate_init=0.05,
                             validation_fraction=0.25)
    with pytest.warns(ConvergenceWarning, match="ran all 3 epochs") as w:
        clf.fit(X, y)
    valid = list(clf.net_.history[:, "valid_loss"])
    assert valid[-1] > valid[1] < valid[0]  # lowest in epoch 2, worse in the last
    message = str(w[0].message)
    assert "improving" not in message
    assert (f"validation loss had not settled (its lowest, {valid[1]:.4g}, in epoch 2 of 3; "
            f"{valid[2]:.4g} in the last); early stopping ends a fit only after "
            "n_iter_no_change=10 epochs") in message


def test_best_loss_is_the_lowest_training_loss_without_early_stopping(toy):
    X, y = toy
    clf = NoisyRNNClassifier(**{**TINY, "max_iter": 4}).fit(X, y)
    assert clf.best_loss_ == min(clf.loss_curve_)
    stopped = NoisyRNNClassifier(**TINY, early_stopping=True, validation_fraction=0.25).fit(X, y)
    assert stopped.best_loss_ is None  # as the MLP: early stopping keeps the best validation loss


def test_best_loss_after_partial_fit_on_an_early_stopped_model(toy):
    """partial_fit holds no validation set out, yet best_loss_ stayed None after it."""
    X, y = toy
    clf = NoisyRNNClassifier(**{**TINY, "max_iter": 3}, early_stopping=True).fit(X, y)
    assert clf.best_loss_ is None
    clf.partial_fit(X, y)
    assert "valid_loss" not in clf.net_.history[-1]
    assert clf.best_loss_ == min(clf.loss_curve_)
    clf.set_params(warm_start=True).fit(X, y)  # early stopping again: None again
    assert clf.best_loss_ is None


@pytest.mark.parametrize("Estimator", [NoisyRNNClassifier, NoisyRNNRegressor])
def test_every_fitted_attribute_is_documented(toy, Estimator):
    """best_loss_ was set by every fit but missing from the Attributes section."""
    X, y = toy
    model = Estimator(**TINY).fit(X, y)
    section = Estimator.__doc__.split("Attributes\n    ----------\n")[1].split("See Also")[0]
    attributes = "\n" + section
    fitted = [name for name in vars(model) if name.endswith("_") and not name.startswith("_")]
    assert "best_loss_" in fitted
    assert [name for name in fitted if f"\n    {name} : " not in attributes] == []
