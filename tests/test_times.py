"""Irregular sampling: observation times given to fit, predict and score."""

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor
from sknrnn.diagnostics import lyapunov_exponent
from sknrnn.perturbations import fgsm

N, T = 80, 12
from conftest import SMALL


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    y = rng.randint(2, size=N)
    X = rng.normal(size=(N, T)) + y[:, None]
    uneven = np.cumsum(rng.exponential(0.5, size=(N, T)), axis=1)
    return X, y, uneven


@pytest.fixture(scope="module")
def fitted(data):
    X, y, uneven = data
    return NoisyRNNClassifier(**SMALL).fit(X, y, times=uneven)


@pytest.mark.parametrize("spacing", [1.0, 0.5, 3600.0])
def test_even_times_equal_the_default(data, spacing):
    X, y, _ = data
    even = np.tile(np.arange(T) * spacing + 17.0, (N, 1))
    plain = NoisyRNNClassifier(**SMALL).fit(X, y)
    timed = NoisyRNNClassifier(**SMALL).fit(X, y, times=even)
    assert timed.time_step_ == pytest.approx(spacing)
    np.testing.assert_array_equal(timed.predict_proba(X, times=even), plain.predict_proba(X))


def test_uneven_times_change_predictions(data, fitted):
    X, y, uneven = data
    even = np.tile(np.arange(T, dtype=float), (N, 1)) * fitted.time_step_
    p_uneven = fitted.predict_proba(X, times=uneven)
    p_even = fitted.predict_proba(X, times=even)
    assert np.abs(p_uneven - p_even).max() > 1e-3
    # a model trained on uneven times differs from one trained on even times
    plain = NoisyRNNClassifier(**SMALL).fit(X, y)
    assert np.abs(p_uneven - plain.predict_proba(X)).max() > 1e-3
    # and it learns: accuracy above chance with its times
    assert fitted.score(X, y, times=uneven) > 0.75


def test_times_with_padding(data):
    X, y, uneven = data
    Xp, tp = X.copy(), uneven.copy()
    Xp[:20, 8:] = np.nan
    tp[:20, 8:] = np.nan
    clf = NoisyRNNClassifier(**SMALL).fit(Xp, y, times=tp)
    # a padded sequence predicts exactly like the same sequence cut at its end
    short = clf.predict_proba(Xp[:20], times=tp[:20])
    anything = tp[:20].copy()
    anything[:, 8:] = 1e9  # times at padded steps are ignored
    np.testing.assert_array_equal(clf.predict_proba(Xp[:20], times=anything), short)


def test_regressor_and_partial_fit_take_times(data):
    X, _, uneven = data
    target = X.mean(axis=1)
    reg = NoisyRNNRegressor(hidden_size=16, max_iter=30, learning_rate_init=0.01, random_state=0)
    reg.fit(X, target, times=uneven)
    assert reg.score(X, target, times=uneven) > 0.6
    clf = NoisyRNNClassifier(hidden_size=16, random_state=0)
    y = (X[:, -1] > 0).astype(int)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1], times=uneven)
    assert clf.n_iter_ == 3
    with pytest.raises(ValueError, match="fitted with observation times"):
        clf.partial_fit(X, y)


def test_save_and_load_keep_the_time_step(data, fitted, tmp_path):
    X, _, uneven = data
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    assert loaded.time_step_ == fitted.time_step_
    np.testing.assert_array_equal(
        loaded.predict_proba(X, times=uneven), fitted.predict_proba(X, times=uneven)
    )


def test_grid_search_routes_times(data):
    X, y, uneven = data
    grid = {"noise_level": [0.05, 0.3]}
    with sklearn.config_context(enable_metadata_routing=True):
        est = NoisyRNNClassifier(**SMALL).set_fit_request(times=True).set_score_request(times=True)
        search = GridSearchCV(est, grid, cv=2, error_score="raise").fit(X, y, times=uneven)
    # the same folds by hand, with the times of each fold
    folds = list(StratifiedKFold(2).split(X, y))
    for i, level in enumerate(grid["noise_level"]):
        scores = [
            NoisyRNNClassifier(**SMALL, noise_level=level)
            .fit(X[tr], y[tr], times=uneven[tr])
            .score(X[te], y[te], times=uneven[te])
            for tr, te in folds
        ]
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(np.mean(scores))


@pytest.mark.parametrize(
    "fit_times, predict_times, match",
    [
        ("uneven", None, "fitted with observation times: pass times="),
        (None, "uneven", "fitted without observation times"),
        ("uneven", "reversed", "increase strictly"),
        ("uneven", "short", r"times has shape \(80, 5\)"),
        ("uneven", "nan_inside", "NaN or infinite values at observed steps"),
        ("uneven", "strings", "times must be a numeric array"),
    ],
)
def test_bad_times(data, fitted, fit_times, predict_times, match):
    X, y, uneven = data
    model = fitted if fit_times else NoisyRNNClassifier(**SMALL).fit(X, y)
    bad = {
        None: None,
        "uneven": uneven,
        "reversed": uneven[:, ::-1],
        "short": uneven[:, :5],
        "nan_inside": np.where(np.arange(T) == 3, np.nan, uneven),
        "strings": np.full((N, T), "t"),
    }[predict_times]
    with pytest.raises(ValueError, match=match):
        model.predict(X, times=bad)


def test_attacks_take_the_times_of_a_timed_model(data, fitted):
    X, y, uneven = data
    with pytest.raises(ValueError, match="pass times= here too"):
        fgsm(fitted, X, y, eps=0.1)
    X_adv = fgsm(fitted, X, y, eps=0.5, times=uneven)
    assert np.abs(X_adv - X).max() <= 0.5 * X.std() + 1e-9
    assert fitted.score(X_adv, y, times=uneven) < fitted.score(X, y, times=uneven)
    # the gradient follows the timed steps: other times give another attack
    assert not np.array_equal(X_adv, fgsm(fitted, X, y, eps=0.5, times=uneven * 2.0 ** np.arange(T)))


def test_lyapunov_refuses_timed_models(data, fitted):
    X, y, _ = data
    with pytest.raises(ValueError, match="evenly spaced steps"):
        lyapunov_exponent(fitted, X)
