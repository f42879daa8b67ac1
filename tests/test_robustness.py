"""robustness_score, robustness_curve, the robustness scorer and its display: on any
estimator, with the model's metadata (times) and the caller's containers."""

import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sknrnn import (
    NoisyRNNClassifier,
    RobustnessCurveDisplay,
    fgsm,
    make_robustness_scorer,
    multiplicative_noise,
    pgd,
    robustness_curve,
    robustness_score,
    salt_and_pepper,
    white_noise,
)

from conftest import TINY

torch.set_num_threads(1)


def _task(n=100, T=12, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    X = rng.normal(size=(n, T)) + 0.9 * (2 * y[:, None] - 1)
    return X, y


@pytest.fixture(scope="module")
def data():
    return _task()


@pytest.fixture(scope="module")
def nrnn(data):
    X, y = data
    return NoisyRNNClassifier(hidden_size=16, max_iter=15, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def logreg(data):
    X, y = data
    return LogisticRegression().fit(X, y)


@pytest.mark.parametrize(
    "make", [lambda: LogisticRegression(), lambda: RandomForestClassifier(n_estimators=20, random_state=0)]
)
@pytest.mark.parametrize("perturbation", ["white_noise", "multiplicative_noise", "salt_and_pepper"])
def test_score_any_sklearn_estimator(data, make, perturbation):
    X, y = data
    est = make().fit(X, y)
    clean = est.score(X, y)
    assert robustness_score(est, X, y, perturbation=perturbation, level=0.0) == pytest.approx(clean)
    noisy = robustness_score(est, X, y, perturbation=perturbation, level=0.8, n_repeats=3,
                             random_state=0)
    assert 0.0 <= noisy < clean


def test_score_is_mean_of_manual_repeats(logreg, data):
    X, y = data
    score = robustness_score(logreg, X, y, level=0.7, n_repeats=4, random_state=0)
    seeds = np.random.RandomState(0).randint(np.iinfo(np.int32).max, size=4)
    manual = [logreg.score(white_noise(X, 0.7, random_state=int(s)), y) for s in seeds]
    assert score == pytest.approx(np.mean(manual))
    assert score == robustness_score(logreg, X, y, level=0.7, n_repeats=4, random_state=0)


def test_score_pipeline_and_scoring(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    assert robustness_score(pipe, X, y, level=0.0, scoring="accuracy") == pytest.approx(pipe.score(X, y))
    loss = robustness_score(pipe, X, y, level=0.5, scoring="neg_log_loss", random_state=0)
    assert loss < 0


def test_score_regressor(data):
    X, y = data
    target = X.sum(axis=1)
    reg = Ridge().fit(X, target)
    assert robustness_score(reg, X, target, level=0.0) == pytest.approx(reg.score(X, target))
    assert robustness_score(reg, X, target, level=1.0, random_state=0) < reg.score(X, target)


def test_score_callable_perturbation(logreg, data):
    X, y = data

    def flip(X, level, random_state):
        return X * (1 - 2 * level)

    assert robustness_score(logreg, X, y, perturbation=flip, level=1.0) < 0.2
    # a keyword-only random_state works too (our own functions)
    assert robustness_score(logreg, X, y, perturbation=white_noise, level=0.0) == pytest.approx(
        logreg.score(X, y)
    )


def test_score_attacks_on_nrnn(nrnn, data):
    X, y = data
    clean = nrnn.score(X, y)
    assert robustness_score(nrnn, X, y, perturbation="pgd", level=0.0) == pytest.approx(clean)
    fg = robustness_score(nrnn, X, y, perturbation="fgsm", level=0.5, n_repeats=3)
    pg = robustness_score(nrnn, X, y, perturbation="pgd", level=0.5, n_repeats=1, random_state=0)
    assert pg <= fg < clean
    # pgd with a random start is seeded by random_state
    assert pg == robustness_score(nrnn, X, y, perturbation="pgd", level=0.5, n_repeats=1,
                                  random_state=0)


def test_attacks_need_sknrnn(logreg, data):
    X, y = data
    with pytest.raises(TypeError, match="NoisyRNNClassifier"):
        robustness_score(logreg, X, y, perturbation="fgsm")


def test_bad_arguments(logreg, data):
    X, y = data
    with pytest.raises(ValueError, match="'perturbation' parameter"):
        robustness_score(logreg, X, y, perturbation="gaussian")
    with pytest.raises(ValueError, match="'n_repeats' parameter"):
        robustness_score(logreg, X, y, n_repeats=0)
    with pytest.raises(ValueError, match="'level' parameter"):
        robustness_score(logreg, X, y, level=-1)
    with pytest.raises(ValueError, match="levels"):
        robustness_curve(logreg, X, y, levels=[[0.1]])
    with pytest.raises(ValueError, match="'perturbation' parameter"):
        make_robustness_scorer("nope")


def test_curve_bunch(logreg, data):
    X, y = data
    levels = [0.0, 0.5, 1.0, 2.0]
    curve = robustness_curve(logreg, X, y, levels=levels, n_repeats=3, random_state=0)
    assert set(curve) == {"levels", "mean", "std", "scores", "perturbation", "score_name",
                          "estimator_name"}
    assert (curve.perturbation, curve.score_name, curve.estimator_name) == (
        "white_noise", "accuracy", "LogisticRegression")
    assert curve.scores.shape == (4, 3)
    assert curve.mean.shape == curve.std.shape == curve.levels.shape == (4,)
    np.testing.assert_allclose(curve.mean, curve.scores.mean(axis=1))
    np.testing.assert_allclose(curve.std, curve.scores.std(axis=1))
    assert curve.std[0] == 0 and curve.mean[0] == pytest.approx(logreg.score(X, y))
    assert curve.mean[-1] < curve.mean[0]
    default = robustness_curve(logreg, X, y, perturbation="salt_and_pepper", n_repeats=1)
    assert default.levels[0] == 0 and len(default.levels) > 2


def test_curve_fgsm_repeats_identical(nrnn, data):
    X, y = data
    curve = robustness_curve(nrnn, X, y, perturbation="fgsm", levels=[0.0, 0.4], n_repeats=3)
    assert curve.scores.shape == (2, 3)
    # Every repeat scores the same (the std of equal floats need not be exactly 0).
    np.testing.assert_array_equal(curve.scores, curve.scores[:, :1].repeat(3, axis=1))
    np.testing.assert_allclose(curve.std, 0.0, atol=1e-12)


def test_scorer_in_grid_search(data):
    X, y = data
    scorer = make_robustness_scorer("white_noise", level=1.0, n_repeats=2)
    assert "white_noise" in repr(scorer)
    est = LogisticRegression().fit(X, y)
    assert scorer(est, X, y) == robustness_score(est, X, y, level=1.0, n_repeats=2, random_state=0)
    search = GridSearchCV(LogisticRegression(), {"C": [1e-4, 1.0]}, scoring=scorer, cv=3).fit(X, y)
    # Each fold's score is the robustness score of the model fitted on the other folds.
    for i, C in enumerate([1e-4, 1.0]):
        for k, (train, test) in enumerate(StratifiedKFold(3).split(X, y)):
            model = LogisticRegression(C=C).fit(X[train], y[train])
            assert search.cv_results_[f"split{k}_test_score"][i] == robustness_score(
                model, X[test], y[test], level=1.0, n_repeats=2, random_state=0
            )
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] != scores[1] and search.best_index_ == np.argmax(scores)


def test_scorer_selects_nrnn_noise(data):
    X, y = data
    grid = {"noise_type": ["none", "additive"]}
    search = GridSearchCV(
        NoisyRNNClassifier(hidden_size=8, max_iter=3, random_state=0),
        grid,
        scoring={"clean": "accuracy", "robust": make_robustness_scorer("pgd", level=0.2)},
        refit="robust",
        cv=2,
    ).fit(X, y)
    results = search.cv_results_
    # refit follows the robust score, which is the attacked accuracy of each fold's model
    assert search.best_index_ == np.argmax(results["mean_test_robust"])
    assert np.all(results["mean_test_robust"] <= results["mean_test_clean"] + 1e-12)
    assert np.any(results["mean_test_robust"] < results["mean_test_clean"])
    train, test = next(iter(StratifiedKFold(2).split(X, y)))
    for i, params in enumerate(results["params"]):
        model = clone(search.estimator).set_params(**params).fit(X[train], y[train])
        expected = robustness_score(model, X[test], y[test], perturbation="pgd", level=0.2,
                                    n_repeats=1, random_state=0)
        assert results["split0_test_robust"][i] == pytest.approx(expected)


def test_display_two_estimators_one_axes(nrnn, logreg, data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = data
    levels = [0.0, 0.5, 1.0]
    disp1 = RobustnessCurveDisplay.from_estimator(
        logreg, X, y, levels=levels, n_repeats=2, random_state=0
    )
    disp2 = RobustnessCurveDisplay.from_estimator(
        nrnn, X, y, levels=levels, n_repeats=2, random_state=0, ax=disp1.ax_, name="NRNN"
    )
    assert disp2.ax_ is disp1.ax_ and disp2.figure_ is disp1.figure_
    assert len(disp1.ax_.get_lines()) == 2
    np.testing.assert_allclose(disp1.line_.get_xdata(), levels)
    labels = [t.get_text() for t in disp1.ax_.get_legend().get_texts()]
    assert labels == ["LogisticRegression", "NRNN"]
    assert disp1.band_ is not None
    assert disp1.ax_.get_ylabel() == "accuracy"
    assert "white_noise" in disp1.ax_.get_xlabel()
    # re-plot from the stored values, on a fresh axes
    disp3 = RobustnessCurveDisplay(levels=[0, 1], mean=[1.0, 0.5], std=None).plot(name="manual")
    assert disp3.band_ is None and disp3.ax_ is not disp1.ax_
    plt.close("all")


def test_display_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    disp = RobustnessCurveDisplay(levels=[0, 1], mean=[1.0, 0.5])
    with pytest.raises(ImportError, match="pip install matplotlib"):
        disp.plot()
    with pytest.raises(ImportError, match=r"sknrnn\[plot\]"):
        RobustnessCurveDisplay.from_estimator(None, None, None)


@pytest.mark.parametrize("level", [1.5, 2.0])
def test_salt_and_pepper_above_1_gives_the_perturbations_own_error(nrnn, data, level):
    """The wrappers skip nested checks: numpy said "Cannot take a larger sample than population"."""
    from sknrnn import salt_and_pepper

    X, y = data
    with pytest.raises(ValueError, match=r"'level' parameter of salt_and_pepper") as own:
        salt_and_pepper(X, level)
    message = str(own.value)
    for call in (
        lambda: robustness_score(nrnn, X, y, perturbation="salt_and_pepper", level=level),
        lambda: robustness_curve(nrnn, X, y, perturbation="salt_and_pepper",
                                 levels=[0.0, 0.1, level]),
        lambda: make_robustness_scorer("salt_and_pepper", level=level),
    ):
        with pytest.raises(ValueError) as excinfo:
            call()
        assert str(excinfo.value) == message


def test_curve_of_a_search_names_the_score_it_computed(data):
    """score_name was "accuracy" while the values were the search's F1."""
    X, y = data
    grid = {"C": [0.1, 1.0]}
    for scoring, name in [("f1", "f1"), (None, "accuracy"), (["f1", "recall"], "recall")]:
        refit = "recall" if isinstance(scoring, list) else True
        search = GridSearchCV(LogisticRegression(), grid, cv=2, scoring=scoring,
                              refit=refit).fit(X, y)
        curve = robustness_curve(search, X, y, levels=[0, 0.5], n_repeats=1, random_state=0)
        assert curve.score_name == name
        assert curve.mean[0] == search.score(X, y)
    pipe = make_pipeline(StandardScaler(), Ridge()).fit(X, y)
    assert robustness_curve(pipe, X, y, levels=[0], n_repeats=1).score_name == "score"


def test_robustness_score_without_y_says_to_pass_it(nrnn, logreg, data):
    """y=None failed inside sklearn."""
    X, y = data
    for model, kwargs in [(nrnn, {}), (logreg, {}), (nrnn, {"perturbation": "fgsm"})]:
        with pytest.raises(ValueError, match="y is None.*pass y"):
            robustness_score(model, X, None, **kwargs)
    with pytest.raises(ValueError, match="y is None"):
        robustness_curve(nrnn, X, None, levels=[0, 0.1])


def test_attack_scorer_takes_a_fitted_search(data):
    """make_robustness_scorer("fgsm") said "use the random perturbations" for a search."""
    X, y = data
    search = GridSearchCV(NoisyRNNClassifier(hidden_size=4, max_iter=2, random_state=0),
                          {"noise_level": [0.0, 0.1]}, cv=2).fit(X, y)
    scorer = make_robustness_scorer("fgsm", level=0.3)
    assert scorer(search, X, y) == scorer(search.best_estimator_, X, y)
    assert robustness_score(search, X, y, perturbation="pgd", level=0.3, n_repeats=1,
                            random_state=0) == robustness_score(
        search.best_estimator_, X, y, perturbation="pgd", level=0.3, n_repeats=1,
        random_state=0)


# -- the model's metadata (times) and the caller's containers ---------------------------
@pytest.fixture(scope="module")
def timed_data(toy):
    times = np.cumsum(np.random.RandomState(1).exponential(1.0, size=(40, 8)), axis=1)
    return (*toy, times)


@pytest.fixture(scope="module")
def timed(timed_data):
    X, y, times = timed_data
    return NoisyRNNClassifier(**TINY).fit(X, y, times=times)


@pytest.mark.parametrize("perturbation", ["white_noise", "fgsm", "pgd"])
def test_robustness_score_takes_times(timed_data, timed, perturbation):
    X, y, times = timed_data
    score = robustness_score(timed, X, y, perturbation=perturbation, level=0.0, n_repeats=2,
                             times=times)
    assert score == timed.score(X, y, times=times)
    curve = robustness_curve(timed, X, y, perturbation=perturbation, levels=[0, 0.5],
                             n_repeats=1, random_state=0, times=times)
    assert curve.mean[0] == score
    # the perturbed X is scored with the same times: the manual computation agrees
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max, size=1)[0]
    if perturbation == "white_noise":
        X_pert = white_noise(X, 0.5, random_state=int(seed))
    elif perturbation == "fgsm":
        X_pert = fgsm(timed, X, y, 0.5, times=times)
    else:
        X_pert = pgd(timed, X, y, 0.5, random_state=int(seed), times=times)
    assert curve.mean[1] == timed.score(X_pert, y, times=times)


def test_robustness_scorer_in_a_routed_grid_search(timed_data):
    X, y, times = timed_data
    with sklearn.config_context(enable_metadata_routing=True):
        model = NoisyRNNClassifier(**TINY).set_fit_request(times=True).set_score_request(times=True)
        search = GridSearchCV(
            model, {"noise_level": [0.0, 0.5]}, cv=2, error_score="raise",
            scoring=make_robustness_scorer(level=0.5),
        ).fit(X, y, times=times)
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
        # the scorer's requests can be changed as sklearn's scorers' can
        scorer = make_robustness_scorer(level=0.5).set_score_request(times=False)
        with pytest.raises(ValueError, match="pass times= here too"):
            GridSearchCV(model, {"noise_level": [0.0]}, cv=2, scoring=scorer,
                         error_score="raise").fit(X, y, times=times)


@pytest.mark.parametrize(
    "perturb",
    [
        lambda m, X, y: white_noise(X, 0.3, random_state=0),
        lambda m, X, y: multiplicative_noise(X, 0.3, random_state=0),
        lambda m, X, y: salt_and_pepper(X, 0.3, random_state=0),
        lambda m, X, y: fgsm(m, X, y, 0.3),
        lambda m, X, y: pgd(m, X, y, 0.3, n_steps=2, random_state=0),
    ],
    ids=["white_noise", "multiplicative_noise", "salt_and_pepper", "fgsm", "pgd"],
)
def test_perturbations_give_back_a_dataframe(timed_data, perturb):
    X, y, _ = timed_data
    frame = pd.DataFrame(X, columns=[f"t{k}" for k in range(8)], index=np.arange(100, 140))
    model = NoisyRNNClassifier(**TINY).fit(frame, y)
    out = perturb(model, frame, y)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(frame.columns) and out.index.equals(frame.index)
    with warnings.catch_warnings():  # the array X has no feature names: warned, as sklearn does
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_array_equal(out.to_numpy(), perturb(model, X, y))


def test_nullable_frames_with_na_padding(timed_data):
    X, y, _ = timed_data
    values = X.copy()
    values[:5, -2:] = np.nan  # end padding
    frame = pd.DataFrame(values, columns=[f"t{k}" for k in range(8)]).astype("Float64")
    frame.iloc[:5, -2:] = pd.NA
    model = NoisyRNNClassifier(**TINY).fit(frame, y)
    for out in (white_noise(frame, 0.1, random_state=0), fgsm(model, frame, y, 0.1)):
        assert isinstance(out, pd.DataFrame)
        np.testing.assert_array_equal(out.isna().to_numpy(), np.isnan(values))


def test_pipeline_on_named_columns_and_no_feature_name_warnings(timed_data):
    X, y, _ = timed_data
    frame = pd.DataFrame(X, columns=[f"t{k}" for k in range(8)])
    pipe = Pipeline([
        ("columns", ColumnTransformer([("scale", StandardScaler(), ["t0", "t1", "t2", "t3"])])),
        ("model", LogisticRegression()),
    ]).fit(frame, y)
    assert robustness_score(pipe, frame, y, level=0.0) == pipe.score(frame, y)
    model = NoisyRNNClassifier(**TINY).fit(frame, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        robustness_score(pipe, frame, y, level=0.5, n_repeats=2, random_state=0)
        robustness_score(model, frame, y, level=0.5, n_repeats=2, random_state=0)
        robustness_score(model, frame, y, perturbation="fgsm", level=0.5)


def test_display_from_curve(timed_data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y, _ = timed_data
    model = LogisticRegression().fit(X, y)
    curve = robustness_curve(model, X, y, levels=[0, 0.5, 1], n_repeats=2, random_state=0)
    disp = RobustnessCurveDisplay.from_curve(curve, color="red")
    np.testing.assert_array_equal(disp.line_.get_ydata(), curve.mean)
    assert disp.ax_.get_ylabel() == "accuracy" and "white_noise" in disp.ax_.get_xlabel()
    assert disp.band_ is not None
    again = RobustnessCurveDisplay.from_estimator(model, X, y, levels=[0, 0.5, 1], n_repeats=2,
                                                  random_state=0)
    np.testing.assert_array_equal(again.line_.get_ydata(), disp.line_.get_ydata())
    with pytest.raises(ValueError, match="robustness_curve returns"):
        RobustnessCurveDisplay.from_curve({"levels": [0, 1]})
    plt.close("all")


def _accuracy(est, X, y):
    return float(np.mean(est.predict(X) == y))


@pytest.mark.parametrize("routing", [False, True])
@pytest.mark.parametrize("scoring", ["accuracy", "roc_auc", "neg_log_loss", "callable"])
def test_a_named_scoring_predicts_with_the_times(timed_data, timed, scoring, routing):
    """sklearn's scorers never pass times to predict: scoring="accuracy" with times failed."""
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    X, y, times = timed_data
    expected = {  # the score of the predictions made with the times
        "accuracy": lambda m: accuracy_score(y, m.predict(X, times=times)),
        "roc_auc": lambda m: roc_auc_score(y, m.predict_proba(X, times=times)[:, 1]),
        "neg_log_loss": lambda m: -log_loss(y, m.predict_proba(X, times=times)),
        "callable": lambda m: float(np.mean(m.predict(X, times=times) == y)),
    }[scoring]
    if scoring == "callable":
        scoring = _accuracy
    with sklearn.config_context(enable_metadata_routing=True):
        model = NoisyRNNClassifier(**TINY).set_fit_request(times=True)
        search = GridSearchCV(model.set_score_request(times=True), {"noise_level": [0.1]},
                              cv=2).fit(X, y, times=times)
    with sklearn.config_context(enable_metadata_routing=routing):
        score = robustness_score(timed, X, y, level=0.0, n_repeats=1, scoring=scoring,
                                 times=times)
        assert score == pytest.approx(expected(timed), rel=1e-12)
        curve = robustness_curve(timed, X, y, levels=[0.0, 0.3], n_repeats=1, random_state=0,
                                 scoring=scoring, times=times)
        assert curve.mean[0] == score
        assert robustness_score(search, X, y, level=0.0, n_repeats=1, scoring=scoring,
                                times=times) == pytest.approx(
            expected(search.best_estimator_), rel=1e-12)
