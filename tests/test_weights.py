"""sample_weight in fit, partial_fit and score; class_weight on the classifier."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.class_weight import compute_sample_weight

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor

# No noise and one minibatch: the loss is then a deterministic function of the
# weighted data, so weights can be compared with removed and repeated sequences.
EXACT = dict(hidden_size=8, max_iter=8, noise_type="none", batch_size=256, random_state=0)


def _data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(3, size=n)
    return rng.normal(size=(n, 10)) + y[:, None], y


@pytest.mark.parametrize("Estimator", [NoisyRNNClassifier, NoisyRNNRegressor])
def test_integer_weights_equal_removed_and_repeated_sequences(Estimator):
    X, y = _data()
    if Estimator is NoisyRNNRegressor:
        y = X.mean(axis=1) * 3.0 + 5.0
    w = np.random.RandomState(1).randint(0, 3, size=len(X))
    out = "predict_proba" if Estimator is NoisyRNNClassifier else "predict"
    weighted = getattr(Estimator(**EXACT).fit(X, y, sample_weight=w), out)(X)
    repeated = getattr(Estimator(**EXACT).fit(np.repeat(X, w, axis=0), np.repeat(y, w)), out)(X)
    np.testing.assert_allclose(weighted, repeated, rtol=1e-4, atol=1e-5)
    plain = getattr(Estimator(**EXACT).fit(X, y), out)(X)
    assert not np.allclose(weighted, plain, rtol=1e-4, atol=1e-5)  # the weights did something


def test_partial_fit_takes_sample_weight():
    X, y = _data()
    w = (np.arange(len(X)) % 2).astype(float)
    weighted = NoisyRNNClassifier(**EXACT).partial_fit(X, y, sample_weight=w)
    kept = NoisyRNNClassifier(**EXACT).partial_fit(X[w > 0], y[w > 0], classes=[0, 1, 2])
    np.testing.assert_allclose(weighted.predict_proba(X), kept.predict_proba(X), rtol=1e-4,
                               atol=1e-6)
    reg = NoisyRNNRegressor(**EXACT).partial_fit(X, X.mean(axis=1), sample_weight=w)
    assert reg.n_iter_ == 1


def test_unit_weights_are_no_weights_bit_for_bit():
    X, y = _data()
    params = dict(EXACT, noise_type="additive", batch_size=16)
    a = NoisyRNNClassifier(**params).fit(X, y)
    b = NoisyRNNClassifier(**params).fit(X, y, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_class_weight_multiplies_sample_weight_in_the_loss():
    X, y = _data()
    w = np.random.RandomState(2).uniform(0.5, 2.0, size=len(X))
    targets = np.searchsorted(np.unique(y), y)
    for class_weight in ("balanced", {0: 1.0, 2: 5.0}):
        clf = NoisyRNNClassifier(**EXACT, class_weight=class_weight).fit(X, y, sample_weight=w)
        loss_weights = clf._loss_weights(w, targets, reset=True, partial=False)
        np.testing.assert_allclose(loss_weights, w * compute_sample_weight(class_weight, y))
        # The weights reach the loss: the fit differs from one without class weights.
        plain = NoisyRNNClassifier(**EXACT).fit(X, y, sample_weight=w)
        assert not np.allclose(clf.predict_proba(X), plain.predict_proba(X), atol=1e-4)
    # The standardization statistics are weighted by sample_weight only.
    clf = NoisyRNNClassifier(**EXACT, class_weight="balanced").fit(X, y)
    np.testing.assert_array_equal(clf._x_mean, NoisyRNNClassifier(**EXACT).fit(X, y)._x_mean)


def test_balanced_class_weight_favours_the_minority_class():
    rng = np.random.RandomState(0)
    y = (rng.uniform(size=300) < 0.1).astype(int)  # 10% positives, overlapping classes
    X = rng.normal(size=(300, 8)) + 0.7 * y[:, None]
    params = dict(hidden_size=8, max_iter=10, random_state=0)
    plain = NoisyRNNClassifier(**params).fit(X, y)
    balanced = NoisyRNNClassifier(**params, class_weight="balanced").fit(X, y)
    recall = lambda clf: (clf.predict(X)[y == 1] == 1).mean()  # noqa: E731
    assert recall(balanced) > recall(plain) + 0.2


def test_score_takes_sample_weight():
    X, y = _data()
    w = np.random.RandomState(3).uniform(size=len(X))
    clf = NoisyRNNClassifier(**EXACT).fit(X, y)
    assert clf.score(X, y, sample_weight=w) == accuracy_score(y, clf.predict(X), sample_weight=w)
    reg = NoisyRNNRegressor(**EXACT).fit(X, X.mean(axis=1))
    assert reg.score(X, X.mean(axis=1), sample_weight=w) == r2_score(
        X.mean(axis=1), reg.predict(X), sample_weight=w
    )


@pytest.mark.parametrize(
    "kwargs, fit_kwargs, match",
    [
        ({}, dict(sample_weight=-np.ones(40)), "Negative values"),
        ({}, dict(sample_weight=np.zeros(40)), "non-zero"),
        ({}, dict(sample_weight=np.ones(39)), r"sample_weight.shape == \(39,\)"),
        ({}, dict(sample_weight=np.r_[np.ones(20), np.full(20, np.nan)]), "NaN"),
        ({"class_weight": {0: 1.0, 1: 0.0, 2: 0.0}}, {}, "Only one class has a positive weight"),
        # a negative class weight flipped the loss; NaN and inf made it diverge
        ({"class_weight": {0: -5, 1: 1, 2: 1}}, {}, r"class_weight .*non-negative.*\{0: -5\}"),
        ({"class_weight": {0: np.nan, 1: 1}}, {}, r"class_weight .*finite.*\{0: nan\}"),
        ({"class_weight": {0: 1, 1: np.inf}}, {}, r"class_weight .*finite.*\{1: inf\}"),
        ({"class_weight": {0: 0, 1: 0.0}}, {}, r"class_weight gives every class weight 0"),
        ({"class_weight": {0: "heavy"}}, {}, r"class_weight .*finite.*'heavy'"),
        # a key that is no class (a typo, a label of other data) was silently ignored
        ({"class_weight": {0: 1.0, 5: 2.0}}, {}, r"class_weight has keys \[5\] that are not classes"),
        ({"class_weight": {0: 1.0, 1: 1.0, 2: 1.0, "2": 9.0}}, {}, r"keys \['2'\]"),
    ],
)
def test_bad_weights_raise_clear_errors(kwargs, fit_kwargs, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        NoisyRNNClassifier(**EXACT, **kwargs).fit(X, y, **fit_kwargs)


def test_balanced_class_weight_in_partial_fit_says_what_to_do():
    X, y = _data()
    clf = NoisyRNNClassifier(**EXACT, class_weight="balanced")
    with pytest.raises(ValueError, match="compute_class_weight"):
        clf.partial_fit(X, y)
    NoisyRNNClassifier(**EXACT, class_weight={0: 2.0}).partial_fit(X, y)  # a dict works


def test_a_first_partial_fit_may_see_one_class_given_all_classes():
    X, y = _data()
    clf = NoisyRNNClassifier(**EXACT).partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2],
                                                  sample_weight=np.ones((y == 0).sum()))
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2


def test_weights_reach_early_stopping_and_metadata_routing():
    import sklearn
    from sklearn.model_selection import cross_validate

    X, y = _data(60)
    w = np.where(y == 0, 3.0, 1.0)
    clf = NoisyRNNClassifier(**dict(EXACT, early_stopping=True, validation_fraction=0.2))
    clf.fit(X, y, sample_weight=w)
    assert "valid_loss" in clf.net_.history[-1]
    with sklearn.config_context(enable_metadata_routing=True):
        est = NoisyRNNClassifier(**dict(EXACT, max_iter=2))
        est = est.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        out = cross_validate(est, X, y, cv=2, params={"sample_weight": w})
    assert out["test_score"].shape == (2,)


def test_bad_class_weight_is_refused_before_training(monkeypatch):
    X, y = _data()
    clf = NoisyRNNClassifier(**EXACT, class_weight={0: -1.0})
    with pytest.raises(ValueError, match="class_weight"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "net_")


def test_balanced_warm_start_fit_without_some_fitted_classes():
    """A class absent from a warm-start call gets no weight ("balanced" over those present)."""
    X, y = _data(60)
    clf = NoisyRNNClassifier(**dict(EXACT, max_iter=2), class_weight="balanced",
                             warm_start=True).fit(X, y)
    keep = y != 2
    keep[np.flatnonzero(y == 1)[:10]] = False  # classes 0 and 1, unbalanced
    clf.fit(X[keep], y[keep])
    assert clf.n_iter_ == 4
    # The same weights as "balanced" computed over the classes present.
    same = NoisyRNNClassifier(**dict(EXACT, max_iter=2), class_weight="balanced",
                              warm_start=True).fit(X, y)
    same.set_params(class_weight=None)
    same.fit(X[keep], y[keep], sample_weight=compute_sample_weight("balanced", y[keep]))
    np.testing.assert_allclose(clf.predict_proba(X), same.predict_proba(X), rtol=1e-6, atol=1e-7)
