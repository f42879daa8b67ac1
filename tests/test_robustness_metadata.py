"""Robustness tools take the model's metadata (times) and the caller's containers."""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
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

FAST = dict(hidden_size=4, max_iter=2, random_state=0)


@pytest.fixture(scope="module")
def data(toy):
    times = np.cumsum(np.random.RandomState(1).exponential(1.0, size=(40, 8)), axis=1)
    return (*toy, times)


@pytest.fixture(scope="module")
def timed(data):
    X, y, times = data
    return NoisyRNNClassifier(**FAST).fit(X, y, times=times)


@pytest.mark.parametrize("perturbation", ["white_noise", "fgsm", "pgd"])
def test_robustness_score_takes_times(data, timed, perturbation):
    X, y, times = data
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


def test_robustness_scorer_in_a_routed_grid_search(data):
    X, y, times = data
    with sklearn.config_context(enable_metadata_routing=True):
        model = NoisyRNNClassifier(**FAST).set_fit_request(times=True).set_score_request(times=True)
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
def test_perturbations_give_back_a_dataframe(data, perturb):
    X, y, _ = data
    frame = pd.DataFrame(X, columns=[f"t{k}" for k in range(8)], index=np.arange(100, 140))
    model = NoisyRNNClassifier(**FAST).fit(frame, y)
    out = perturb(model, frame, y)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(frame.columns) and out.index.equals(frame.index)
    with warnings.catch_warnings():  # the array X has no feature names: warned, as sklearn does
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_array_equal(out.to_numpy(), perturb(model, X, y))


def test_nullable_frames_with_na_padding(data):
    X, y, _ = data
    values = X.copy()
    values[:5, -2:] = np.nan  # end padding
    frame = pd.DataFrame(values, columns=[f"t{k}" for k in range(8)]).astype("Float64")
    frame.iloc[:5, -2:] = pd.NA
    model = NoisyRNNClassifier(**FAST).fit(frame, y)
    for out in (white_noise(frame, 0.1, random_state=0), fgsm(model, frame, y, 0.1)):
        assert isinstance(out, pd.DataFrame)
        np.testing.assert_array_equal(out.isna().to_numpy(), np.isnan(values))


def test_pipeline_on_named_columns_and_no_feature_name_warnings(data):
    X, y, _ = data
    frame = pd.DataFrame(X, columns=[f"t{k}" for k in range(8)])
    pipe = Pipeline([
        ("columns", ColumnTransformer([("scale", StandardScaler(), ["t0", "t1", "t2", "t3"])])),
        ("model", LogisticRegression()),
    ]).fit(frame, y)
    assert robustness_score(pipe, frame, y, level=0.0) == pipe.score(frame, y)
    model = NoisyRNNClassifier(**FAST).fit(frame, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        robustness_score(pipe, frame, y, level=0.5, n_repeats=2, random_state=0)
        robustness_score(model, frame, y, level=0.5, n_repeats=2, random_state=0)
        robustness_score(model, frame, y, perturbation="fgsm", level=0.5)


def test_display_from_curve(data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y, _ = data
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
def test_a_named_scoring_predicts_with_the_times(data, timed, scoring, routing):
    """sklearn's scorers never pass times to predict: scoring="accuracy" with times failed."""
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    X, y, times = data
    expected = {  # the score of the predictions made with the times
        "accuracy": lambda m: accuracy_score(y, m.predict(X, times=times)),
        "roc_auc": lambda m: roc_auc_score(y, m.predict_proba(X, times=times)[:, 1]),
        "neg_log_loss": lambda m: -log_loss(y, m.predict_proba(X, times=times)),
        "callable": lambda m: float(np.mean(m.predict(X, times=times) == y)),
    }[scoring]
    if scoring == "callable":
        scoring = _accuracy
    with sklearn.config_context(enable_metadata_routing=True):
        model = NoisyRNNClassifier(**FAST).set_fit_request(times=True)
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
