import numpy as np
import pytest
import torch
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sknrnn import (
    NoisyRNNClassifier,
    NoisyRNNRegressor,
    fgsm,
    multiplicative_noise,
    pgd,
    salt_and_pepper,
    white_noise,
)


torch.set_num_threads(1)

RANDOM = [white_noise, multiplicative_noise, salt_and_pepper]


def _task(n=120, T=12, seed=0):
    """Two classes that differ by a mean shift over the whole sequence."""
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    X = rng.normal(size=(n, T)) + 1.5 * (2 * y[:, None] - 1) * 0.6
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _task()
    clf = NoisyRNNClassifier(hidden_size=16, max_iter=20, random_state=0).fit(X, y)
    return clf, X, y


@pytest.fixture
def padded():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(10, 8, 2)) * [1.0, 50.0] + [0.0, 100.0]
    X[0, 5:] = np.nan
    X[3, 2:] = np.nan
    return X


# -- random perturbations -----------------------------------------------------
@pytest.mark.parametrize("func", RANDOM)
@pytest.mark.parametrize("ndim", [2, 3])
def test_shape_dtype_copy_and_nan_preserved(func, ndim, padded):
    X = padded if ndim == 3 else padded[:, :, 0]
    X_before = X.copy()
    out = func(X, 0.3, random_state=0)
    assert out.shape == X.shape and out.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(out), np.isnan(X))
    np.testing.assert_array_equal(X, X_before)  # input untouched
    assert not np.allclose(out[~np.isnan(X)], X[~np.isnan(X)])


@pytest.mark.parametrize("func", RANDOM)
def test_seeded_reproducibility(func, padded):
    a = func(padded, 0.2, random_state=3)
    b = func(padded, 0.2, random_state=3)
    c = func(padded, 0.2, random_state=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.nan_to_num(a), np.nan_to_num(c))


@pytest.mark.parametrize("func", RANDOM)
def test_level_zero_is_identity(func, padded):
    np.testing.assert_array_equal(func(padded, 0.0, random_state=0), padded)


def test_white_noise_relative_to_scale():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 15))
    np.testing.assert_allclose(
        white_noise(100 * X, 0.3, random_state=7), 100 * white_noise(X, 0.3, random_state=7)
    )
    # per channel: the noise of each channel follows that channel's std
    X3 = rng.normal(size=(200, 50, 2)) * [1.0, 10.0]
    noise = white_noise(X3, 0.5, random_state=0) - X3
    np.testing.assert_allclose(noise.std(axis=(0, 1)) / X3.std(axis=(0, 1)), 0.5, rtol=0.02)
    # an explicit scale replaces the std of X
    np.testing.assert_allclose(
        white_noise(X, 0.3, scale=2.0, random_state=7) - X,
        2.0 * 0.3 * np.random.RandomState(7).standard_normal(X.shape),
    )


def test_multiplicative_noise_is_relative():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 15))
    np.testing.assert_allclose(
        multiplicative_noise(100 * X, 0.3, random_state=7),
        100 * multiplicative_noise(X, 0.3, random_state=7),
    )
    xi = np.random.RandomState(7).standard_normal(X.shape)
    np.testing.assert_allclose(multiplicative_noise(X, 0.3, random_state=7), X * (1 + 0.3 * xi))


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 1.0])
def test_salt_and_pepper_fraction_half_each(fraction):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 10, 2)) * [1.0, 5.0]
    X[2, 6:] = np.nan
    observed = ~np.isnan(X)
    lo, hi = np.nanmin(X, axis=(0, 1)), np.nanmax(X, axis=(0, 1))
    out = salt_and_pepper(X, fraction, random_state=1)
    changed = observed & (out != X)
    is_lo, is_hi = (out == lo) & observed, (out == hi) & observed
    # continuous data: apart from the (two per channel) extremes, set entries are the changed ones
    n_hit = int(round(fraction * observed.sum()))
    n_extreme_before = 4
    assert n_hit - n_extreme_before <= changed.sum() <= n_hit
    assert n_hit <= is_lo.sum() + is_hi.sum() <= n_hit + n_extreme_before
    assert abs(is_lo.sum() - is_hi.sum()) <= n_extreme_before + 1
    assert np.isin(out[changed], np.concatenate([lo, hi])).all()
    # each entry takes an extreme of its own channel
    for c in range(2):
        assert np.isin(out[..., c][changed[..., c]], [lo[c], hi[c]]).all()
    np.testing.assert_array_equal(np.isnan(out), ~observed)


@pytest.mark.parametrize("func", RANDOM)
def test_random_input_validation(func):
    X = np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"'level' parameter of .* range \[0.0, "):
        func(X, -0.1)
    with pytest.raises(ValueError, match="2D .* or 3D"):
        func(np.zeros(5), 0.1)
    with pytest.raises(ValueError, match="2D .* or 3D"):
        func(np.zeros((2, 3, 4, 5)), 0.1)
    with pytest.raises(ValueError, match="'level' parameter .* Got nan"):
        func(X, float("nan"))
    with pytest.raises(ValueError, match="infinity"):
        func(np.full((2, 3), np.inf), 0.1)


def test_salt_and_pepper_fraction_above_one():
    with pytest.raises(ValueError, match=r"range \[0.0, 1.0\]"):
        salt_and_pepper(np.zeros((4, 5)), 1.5)


# -- attacks -------------------------------------------------------------------
@pytest.mark.parametrize("attack", [fgsm, pgd])
def test_attack_respects_linf_budget_and_layout(fitted, attack):
    clf, X, y = fitted
    eps = 0.2
    X_adv = attack(clf, X, y, eps)
    assert X_adv.shape == X.shape and X_adv.dtype == np.float64
    delta = np.abs(X_adv - X)
    assert delta.max() <= eps * X.std() * (1 + 1e-9)
    assert delta.max() > 0.5 * eps * X.std()
    if attack is fgsm:  # one full signed step everywhere the gradient is not zero
        assert np.isclose(np.median(delta), eps * X.std())


def test_attacks_lower_accuracy_pgd_at_least_fgsm(fitted):
    clf, X, y = fitted
    clean = clf.score(X, y)
    assert clean > 0.85
    eps = 0.5
    acc_fgsm = clf.score(fgsm(clf, X, y, eps), y)
    acc_pgd = clf.score(pgd(clf, X, y, eps, n_steps=10, random_state=0), y)
    assert acc_fgsm < clean
    assert acc_pgd <= acc_fgsm
    # random noise of the same size is much weaker than the attack
    assert clf.score(white_noise(X, eps, random_state=0), y) > acc_pgd


def test_attack_zero_budget_is_identity(fitted):
    clf, X, y = fitted
    np.testing.assert_array_equal(pgd(clf, X, y, 0.0), X)
    np.testing.assert_array_equal(fgsm(clf, X, y, 0.0), X)


def test_pgd_seeded(fitted):
    clf, X, y = fitted
    a = pgd(clf, X[:20], y[:20], 0.3, n_steps=2, random_state=0)
    b = pgd(clf, X[:20], y[:20], 0.3, n_steps=2, random_state=0)
    np.testing.assert_array_equal(a, b)


def test_attack_batches_agree(fitted):
    import sknrnn.perturbations as pt

    clf, X, y = fitted
    full = fgsm(clf, X, y, 0.2)
    small = pt._attack(clf, X, y, 0.2, n_steps=1, step_size=0.2, random_start=False,
                       scale=None, random_state=None, caller="fgsm", batch_size=7)
    np.testing.assert_allclose(small, full, atol=1e-6)


def test_attack_keeps_nan_padding_3d():
    rng = np.random.RandomState(0)
    y = rng.randint(2, size=40)
    X = rng.normal(size=(40, 10, 2)) + y[:, None, None]
    X[::3, 7:] = np.nan
    clf = NoisyRNNClassifier(hidden_size=8, max_iter=3, random_state=0).fit(X, y)
    mode = clf.module_.training
    X_adv = pgd(clf, X, y, 0.3, n_steps=2, random_state=0)
    assert clf.module_.training == mode  # the module's mode is restored
    np.testing.assert_array_equal(np.isnan(X_adv), np.isnan(X))
    obs = ~np.isnan(X)
    assert np.abs(X_adv - X)[obs].max() > 0


def test_attack_regressor():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 10))
    y = X.mean(axis=1) * 3 + 5
    reg = NoisyRNNRegressor(hidden_size=8, max_iter=15, random_state=0).fit(X, y)
    X_adv = pgd(reg, X, y, 0.3, n_steps=5, random_state=0)
    assert np.abs(X_adv - X).max() <= 0.3 * X.std() * (1 + 1e-9)
    mse = lambda Z: np.mean((reg.predict(Z) - y) ** 2)  # noqa: E731
    assert mse(X_adv) > mse(X)


def test_attack_pipeline_passthrough_works(fitted):
    clf, X, y = fitted
    pipe = Pipeline([("nothing", "passthrough"), ("none", None), ("clf", clf)])
    np.testing.assert_array_equal(fgsm(pipe, X, y, 0.2), fgsm(clf, X, y, 0.2))


def test_attack_pipeline_with_scaler_raises(fitted):
    clf, X, y = fitted
    pipe = make_pipeline(StandardScaler(), NoisyRNNClassifier(hidden_size=4, max_iter=1)).fit(X, y)
    with pytest.raises(TypeError, match="step 'standardscaler' .*StandardScaler.* no gradient"):
        pgd(pipe, X, y, 0.1)


def test_attack_errors(fitted):
    clf, X, y = fitted
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="NoisyRNNClassifier or NoisyRNNRegressor"):
        fgsm(LogisticRegression().fit(X, y), X, y, 0.1)
    with pytest.raises(ValueError, match="not seen in fit"):
        fgsm(clf, X, np.where(y == 1, 5, 0), 0.1)
    with pytest.raises(ValueError, match="'eps' parameter"):
        fgsm(clf, X, y, -0.1)
    with pytest.raises(ValueError, match="'n_steps' parameter"):
        pgd(clf, X, y, 0.1, n_steps=0)
    with pytest.raises(ValueError, match="samples but y has"):
        fgsm(clf, X, y[:-1], 0.1)


def test_attacks_go_through_a_fitted_search_to_its_best_estimator():
    """fgsm and pgd said "use the random perturbations" for a GridSearchCV of an NRNN."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = _task(n=40)
    search = GridSearchCV(NoisyRNNClassifier(hidden_size=4, max_iter=2, random_state=0),
                          {"noise_level": [0.0, 0.1]}, cv=2).fit(X, y)
    best = search.best_estimator_
    np.testing.assert_array_equal(fgsm(search, X, y, 0.2), fgsm(best, X, y, 0.2))
    np.testing.assert_array_equal(pgd(search, X, y, 0.2, n_steps=2, random_state=0),
                                  pgd(best, X, y, 0.2, n_steps=2, random_state=0))
    piped = GridSearchCV(make_pipeline("passthrough", NoisyRNNClassifier(
        hidden_size=4, max_iter=2, random_state=0)), {"noisyrnnclassifier__gamma": [0.001]},
        cv=2).fit(X, y)
    np.testing.assert_array_equal(fgsm(piped, X, y, 0.2), fgsm(piped.best_estimator_[-1], X, y,
                                                                0.2))
    other = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2).fit(X, y)
    with pytest.raises(TypeError, match="best_estimator_ is one.*random perturbations"):
        fgsm(other, X, y, 0.2)


@pytest.mark.parametrize("perturb", RANDOM)
def test_complex_input_is_refused(perturb):
    """white_noise dropped the imaginary part with a numpy warning."""
    X = np.ones((3, 4)) + 1j
    with pytest.raises(ValueError, match="complex values.*X.real"):
        perturb(X, 0.1, random_state=0)


@pytest.mark.parametrize("attack", [fgsm, lambda *a: pgd(*a, random_state=0)])
def test_attacks_inside_no_grad(tiny_fitted, toy, attack):
    X, y = toy
    expected = attack(tiny_fitted, X, y, 0.1)
    with torch.no_grad():
        np.testing.assert_array_equal(attack(tiny_fitted, X, y, 0.1), expected)
    assert not np.array_equal(expected, X)


def test_a_scale_of_the_wrong_shape_is_named(toy):
    X, _ = toy
    with pytest.raises(ValueError, match=r"scale must be a float or .* shape \(1,\)"):
        white_noise(X, 0.1, scale=[1, 2])
