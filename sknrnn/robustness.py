"""Scores under perturbation: one number, a curve over levels, a scorer and a plot.

Every function here re-scores a fitted estimator on perturbed copies of a test
set (models are never refitted). The random perturbations work for any fitted
scikit-learn estimator or Pipeline; the gradient attacks (``"fgsm"``,
``"pgd"``) need a sknrnn estimator. Robust accuracy is the accuracy over all
samples after the perturbation, not only over those predicted correctly
before it (unlike ART's ``adversarial_accuracy``), so at level 0 it equals the
clean score.
"""

import inspect
from numbers import Integral, Real

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.utils import Bunch, check_random_state, get_tags
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.metadata_routing import MetadataRequest

from . import perturbations as _pt
from .perturbations import LEVEL

__all__ = [
    "robustness_score",
    "robustness_curve",
    "make_robustness_scorer",
    "RobustnessCurveDisplay",
]

_RANDOM = {
    "white_noise": _pt.white_noise,
    "multiplicative_noise": _pt.multiplicative_noise,
    "salt_and_pepper": _pt.salt_and_pepper,
}
PERTURBATIONS = tuple(_RANDOM) + ("fgsm", "pgd")

_PARAMS = {
    "estimator": "no_validation",
    "X": ["array-like"],
    "y": ["array-like", None],
    "perturbation": [StrOptions(set(PERTURBATIONS)), callable],
    "n_repeats": [Interval(Integral, 1, None, closed="left")],
    "scoring": [StrOptions(set(get_scorer_names())), callable, None],
    "random_state": ["random_state"],
}

# Default levels of robustness_curve, per perturbation.
_DEFAULT_LEVELS = {
    "white_noise": np.linspace(0.0, 1.0, 6),
    "multiplicative_noise": np.linspace(0.0, 1.0, 6),
    "salt_and_pepper": np.linspace(0.0, 0.3, 7),
    "fgsm": np.linspace(0.0, 0.5, 6),
    "pgd": np.linspace(0.0, 0.5, 6),
}


def _perturber(perturbation):
    """``f(estimator, X, y, level, seed, times) -> X_perturbed`` and whether it is deterministic."""
    if callable(perturbation):
        try:
            keyword = "random_state" in inspect.signature(perturbation).parameters
        except (TypeError, ValueError):
            keyword = False
        if keyword:
            return (
                lambda est, X, y, level, seed, times: perturbation(X, level, random_state=seed)
            ), False
        return (lambda est, X, y, level, seed, times: perturbation(X, level, seed)), False
    if perturbation in _RANDOM:
        func = _RANDOM[perturbation]
        return (lambda est, X, y, level, seed, times: func(X, level, random_state=seed)), False
    if perturbation == "fgsm":
        return (lambda est, X, y, level, seed, times: _pt.fgsm(est, X, y, level, times=times)), True
    return (
        lambda est, X, y, level, seed, times: _pt.pgd(
            est, X, y, level, random_state=seed, times=times
        )
    ), False


_RESPONSE_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


def _given_times(method, times):
    """``method(X, times=times)`` as a function of X, under the method's name."""

    def predict(X):
        return method(X, times=times)

    predict.__name__ = method.__name__  # sklearn's scorers read it
    return predict


class _PredictingWithTimes:
    """An estimator whose predictions take ``times``: what sklearn's scorers call.

    sklearn's scorers call ``predict(X)`` (or ``predict_proba``...) with X alone:
    they pass no metadata to it (with routing or without). Scored through this
    wrapper, the estimator predicts each perturbed X with its observation times.
    A fitted search (GridSearchCV, ...) predicts with its ``best_estimator_``.
    """

    def __init__(self, estimator, times):
        self.estimator = getattr(estimator, "best_estimator_", estimator)
        self.times = times

    def __getattr__(self, name):
        if name in _RESPONSE_METHODS or name == "classes_":
            value = getattr(self.__dict__["estimator"], name)  # AttributeError when absent
            return _given_times(value, self.__dict__["times"]) if callable(value) else value
        raise AttributeError(name)

    def __sklearn_tags__(self):
        return get_tags(self.estimator)


def _scores(estimator, X, y, perturbation, levels, n_repeats, scoring, random_state, params):
    """Scores of shape ``(n_levels, n_repeats)``; the same seeds at every level.

    ``params`` (metadata such as ``times``) go with every perturbed X to the scorer,
    as sklearn's scorers take them, and ``times`` to the attacks as well. With a
    ``scoring`` of its own (a string or a callable), ``times`` goes to the
    estimator's predictions instead (see ``_PredictingWithTimes``).
    """
    if y is None and (scoring is not None or is_classifier(estimator)
                      or is_regressor(estimator)):
        raise ValueError(
            "y is None, but the score on perturbed X compares the predictions with the true "
            "targets: pass y, the class labels or target values of X."
        )
    perturb, deterministic = _perturber(perturbation)
    scored, score_params = estimator, params
    if scoring is not None and params.get("times") is not None:
        scored = _PredictingWithTimes(estimator, params["times"])
        score_params = {key: value for key, value in params.items() if key != "times"}
    scorer = check_scoring(scored, scoring=scoring)
    rng = check_random_state(random_state)
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_repeats)
    out = np.empty((len(levels), n_repeats))
    for i, level in enumerate(levels):
        for r, seed in enumerate(seeds):
            if deterministic and r > 0:
                out[i, r] = out[i, 0]  # the same perturbed X: no need to recompute
                continue
            X_pert = perturb(estimator, X, y, level, int(seed), params.get("times"))
            out[i, r] = scorer(scored, X_pert, y, **score_params)
    return out


def _mean(scores):
    """Mean over the last axis; exact when all repeats agree (no rounding of equal scores)."""
    equal = (scores == scores[..., :1]).all(axis=-1)
    return np.where(equal, scores[..., 0], scores.mean(axis=-1))


def _check_levels(levels, perturbation):
    if levels is None:
        if not isinstance(perturbation, str):
            raise ValueError(
                "levels is required when perturbation is a callable: pass the levels to "
                "evaluate, e.g. levels=[0, 0.1, 0.5]."
            )
        levels = _DEFAULT_LEVELS[perturbation]
    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim != 1 or len(levels) == 0:
        raise ValueError(f"levels must be a non-empty 1D sequence of floats; got shape {levels.shape}.")
    if not (np.isfinite(levels) & (levels >= 0)).all():
        raise ValueError(f"levels must be finite and >= 0; got {levels.tolist()}.")
    _check_level_range(levels, perturbation)
    return levels


def _check_level_range(levels, perturbation):
    """The error that the perturbation itself gives for a level out of its range.

    The functions here skip the nested parameter checks, so a level that only the
    perturbation refuses (salt-and-pepper replaces a fraction, at most 1) is
    checked up front, with the perturbation's own message.
    """
    if isinstance(perturbation, str) and perturbation == "salt_and_pepper":
        for level in levels:
            try:
                validate_parameter_constraints(
                    {"level": [Interval(Real, 0, 1, closed="both")]}, {"level": float(level)},
                    caller_name="salt_and_pepper",
                )
            except InvalidParameterError as exc:
                # A plain ValueError: validate_params would give the caller's name to it.
                raise ValueError(str(exc)) from None


_PARAMS_DOC = """**params : dict
        Metadata for scoring, such as ``times=`` for a model fitted with
        observation times (or ``sample_weight=``). It goes with every perturbed
        copy of X to the scorer, as scikit-learn's scorers take it (to the
        estimator's ``score`` when ``scoring`` is None; with metadata routing
        enabled, a Pipeline routes it to the steps that request it), and
        ``times`` to the attacks. It is not perturbed. With ``scoring`` a
        string or a callable, ``times`` goes instead to the estimator's
        ``predict`` / ``predict_proba`` / ``decision_function`` (a fitted
        search's ``best_estimator_``'s), with metadata routing or without:
        scikit-learn's scorers would not pass it there."""


@validate_params({**_PARAMS, "level": [LEVEL]}, prefer_skip_nested_validation=True)
def robustness_score(estimator, X, y, *, perturbation="white_noise", level=0.1, n_repeats=5,
                     scoring=None, random_state=None, **params):
    """Mean score of a fitted estimator on perturbed copies of X.

    Parameters
    ----------
    estimator : estimator object
        A fitted estimator or Pipeline. Any scikit-learn estimator works with
        the random perturbations; ``"fgsm"`` and ``"pgd"`` need a sknrnn
        estimator (or a Pipeline ending in one with ``"passthrough"`` steps, or
        a fitted search, e.g. GridSearchCV, whose ``best_estimator_`` is one).
    X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
        Test sequences.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True targets; required for a classifier, a regressor, or a ``scoring``
        (None only for an estimator whose ``score`` takes no y).
    perturbation : {"white_noise", "multiplicative_noise", "salt_and_pepper", \
"fgsm", "pgd"} or callable, default="white_noise"
        The perturbation (see :mod:`sknrnn.perturbations`), or a callable
        ``f(X, level, random_state) -> X_perturbed``. The attacks also take a
        fitted search (GridSearchCV, ...) whose ``best_estimator_`` is a
        sknrnn estimator.
    level : float, default=0.1
        Level of the perturbation, relative to the scale of X (see the
        perturbation functions): a noise level, the fraction of entries for
        salt-and-pepper, the L-infinity budget for the attacks.
    n_repeats : int, default=5
        Number of perturbed copies of X. FGSM is deterministic and is computed
        once whatever ``n_repeats``.
    scoring : str, callable or None, default=None
        Scorer as in :func:`sklearn.metrics.check_scoring`; None uses the
        estimator's ``score`` (accuracy for classifiers, R^2 for regressors).
    random_state : int, RandomState instance or None, default=None
        Seeds the perturbations (and the random start of PGD).
    %(params)s

    Returns
    -------
    score : float
        The mean score over the repeats, computed over all samples (robust
        accuracy counts every sample, not only those correct before the
        perturbation).

    See Also
    --------
    robustness_curve : Scores over a range of levels.
    make_robustness_scorer : The same score as a scorer for model selection.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sknrnn import robustness_score
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(2, size=100)
    >>> X = rng.normal(size=(100, 10)) + y[:, None]
    >>> clf = LogisticRegression().fit(X, y)
    >>> clean = clf.score(X, y)
    >>> noisy = robustness_score(clf, X, y, level=1.0, random_state=0)
    >>> bool(noisy < clean)
    True
    >>> robustness_score(clf, X, y, level=0.0) == clean  # level 0: the clean score
    True
    """
    levels = np.array([level], dtype=np.float64)
    _check_level_range(levels, perturbation)
    scores = _scores(
        estimator, X, y, perturbation, levels, n_repeats, scoring, random_state, params
    )
    return float(_mean(scores)[0])


robustness_score.__doc__ = robustness_score.__doc__.replace("%(params)s", _PARAMS_DOC)


@validate_params({**_PARAMS, "levels": ["array-like", None]}, prefer_skip_nested_validation=True)


def robustness_curve(estimator, X, y, *, perturbation="white_noise", levels=None, n_repeats=5,
                     scoring=None, random_state=None, **params):
    """Scores of a fitted estimator over a range of perturbation levels.

    The same seeds are used at every level (common random numbers), so that
    for white noise the curve follows one set of noise draws scaled up.

    Parameters
    ----------
    estimator : estimator object
        A fitted estimator or Pipeline (a sknrnn one for ``"fgsm"``/``"pgd"``).
    X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
        Test sequences.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True targets.
    perturbation : str or callable, default="white_noise"
        As in :func:`robustness_score`.
    levels : array-like of shape (n_levels,), default=None
        Levels, relative to the scale of X. None uses a default grid per
        perturbation (0 to 1 for the noises, 0 to 0.3 for salt-and-pepper, 0
        to 0.5 for the attacks).
    n_repeats : int, default=5
        Number of perturbed copies of X per level.
    scoring : str, callable or None, default=None
        As in :func:`robustness_score`.
    random_state : int, RandomState instance or None, default=None
        Seeds the perturbations.
    %(params)s

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``levels`` (n_levels,), ``mean`` and ``std`` (n_levels,) of the
        scores, and ``scores`` (n_levels, n_repeats), all over all samples;
        ``perturbation``, ``estimator_name`` and ``score_name``, the name of
        the score computed (``scoring``, or the estimator's ``score``: a
        search's own ``scoring``, "accuracy" for a classifier, else
        "score").

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sknrnn import robustness_curve
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(2, size=100)
    >>> X = rng.normal(size=(100, 10)) + y[:, None]
    >>> clf = LogisticRegression().fit(X, y)
    >>> curve = robustness_curve(clf, X, y, levels=[0, 0.5, 1.0], n_repeats=3, random_state=0)
    >>> curve.scores.shape, curve.mean.shape
    ((3, 3), (3,))
    """
    levels = _check_levels(levels, perturbation)
    scores = _scores(
        estimator, X, y, perturbation, levels, n_repeats, scoring, random_state, params
    )
    return Bunch(
        levels=levels, mean=_mean(scores), std=scores.std(axis=1), scores=scores,
        perturbation=getattr(perturbation, "__name__", perturbation),
        score_name=_score_name(estimator, scoring),
        estimator_name=type(estimator).__name__,
    )


robustness_curve.__doc__ = robustness_curve.__doc__.replace("%(params)s", _PARAMS_DOC)


def _score_name(estimator, scoring):
    """The name of the score computed: ``scoring``'s, or that of the estimator's ``score``.

    A fitted search (GridSearchCV, ...) scores with its own ``scoring`` (the
    metric named by ``refit`` when there are several).
    """
    if scoring is None and hasattr(estimator, "best_estimator_"):
        own = getattr(estimator, "scoring", None)
        refit = getattr(estimator, "refit", None)
        if isinstance(own, str):
            return own
        if own is not None and not callable(own) and isinstance(refit, str):
            return refit  # several metrics: score uses the one that refit names
        if own is None:
            return _score_name(estimator.best_estimator_, None)
        return "score"
    if scoring is None:
        return "accuracy" if is_classifier(estimator) else "score"
    return scoring if isinstance(scoring, str) else "score"


class _RobustnessScorer:
    """Callable ``(estimator, X, y, **params) -> float`` scoring under a perturbation.

    Like scikit-learn's scorers it takes metadata (``times``, ``sample_weight``)
    with metadata routing: it requests ``times`` by default, and
    ``set_score_request`` changes what it requests.
    """

    def __init__(self, perturbation, level, n_repeats, scoring, random_state):
        self.perturbation = perturbation
        self.level = level
        self.n_repeats = n_repeats
        self.scoring = scoring
        self.random_state = random_state
        self._requests = {"times": True}

    def __call__(self, estimator, X, y, **params):
        params = {key: value for key, value in params.items() if value is not None}
        return robustness_score(
            estimator, X, y, perturbation=self.perturbation, level=self.level,
            n_repeats=self.n_repeats, scoring=self.scoring, random_state=self.random_state,
            **params,
        )

    def set_score_request(self, **requests):
        """Request metadata for scoring, as ``set_score_request`` of sklearn's scorers.

        Parameters
        ----------
        **requests : dict
            ``name=True`` (pass it), ``False`` (do not), ``None`` (error if given)
            or an alias string, e.g. ``sample_weight=True``.

        Returns
        -------
        self : object
        """
        self._requests.update(requests)
        return self

    def get_metadata_routing(self):
        """The metadata this scorer requests (``times`` unless told otherwise)."""
        request = MetadataRequest(owner=type(self).__name__)
        for param, alias in self._requests.items():
            request.score.add_request(param=param, alias=alias)
        return request

    def __repr__(self):
        name = getattr(self.perturbation, "__name__", self.perturbation)
        return (
            f"make_robustness_scorer(perturbation={name!r}, level={self.level!r}, "
            f"n_repeats={self.n_repeats!r}, scoring={self.scoring!r}, "
            f"random_state={self.random_state!r})"
        )


@validate_params(
    {
        key: _PARAMS[key]
        for key in ("perturbation", "n_repeats", "scoring", "random_state")
    } | {"level": [LEVEL]},
    prefer_skip_nested_validation=True,
)
def make_robustness_scorer(perturbation="white_noise", level=0.1, *, n_repeats=1, scoring=None,
                           random_state=0):
    """Make a scorer of the score under a perturbation, for model selection.

    Use it as ``scoring`` of :class:`~sklearn.model_selection.GridSearchCV` or
    :func:`~sklearn.model_selection.cross_val_score` to choose, e.g., the noise
    level of an NRNN by its robust accuracy on the validation folds.

    Parameters
    ----------
    perturbation : str or callable, default="white_noise"
        As in :func:`robustness_score`.
    level : float, default=0.1
        Level of the perturbation, relative to the scale of X.
    n_repeats : int, default=1
        Number of perturbed copies of each validation set.
    scoring : str, callable or None, default=None
        The score to compute on the perturbed data; None uses the estimator's
        ``score``.
    random_state : int, RandomState instance or None, default=0
        Seeds the perturbations. The default fixed seed gives every candidate
        the same noise (common random numbers), which makes comparisons fairer.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, **params) -> float``, greater is better (as
        long as ``scoring`` is). With metadata routing enabled it requests
        ``times`` (a model fitted with times is scored with them), and its
        ``set_score_request`` requests more (e.g. ``sample_weight=True``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sknrnn import make_robustness_scorer, robustness_score
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(2, size=100)
    >>> X = rng.normal(size=(100, 10)) + y[:, None]
    >>> scorer = make_robustness_scorer("white_noise", level=1.0)
    >>> grid = {"C": [0.01, 1.0]}
    >>> robust = GridSearchCV(LogisticRegression(), grid, scoring=scorer, cv=3).fit(X, y)
    >>> clean = GridSearchCV(LogisticRegression(), grid, cv=3).fit(X, y)
    >>> bool((robust.cv_results_["mean_test_score"] < clean.cv_results_["mean_test_score"]).all())
    True
    >>> model = robust.best_estimator_
    >>> scorer(model, X, y) == robustness_score(model, X, y, level=1.0, n_repeats=1, random_state=0)
    True
    """
    _check_level_range([level], perturbation)
    return _RobustnessScorer(perturbation, level, n_repeats, scoring, random_state)


def _check_matplotlib(caller):
    try:
        import matplotlib.pyplot as plt  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib. Install it with `pip install matplotlib` "
            "(or `pip install sknrnn[plot]`)."
        ) from exc
    return plt


class RobustnessCurveDisplay:
    """Robustness curve: score against perturbation level, with a +/- std band.

    Create it with :meth:`from_estimator` (which computes the curve) or with
    :meth:`from_curve` from the output of :func:`robustness_curve`; several
    estimators go on one axes by passing the same ``ax``. Requires matplotlib.

    Parameters
    ----------
    levels : ndarray of shape (n_levels,)
        Perturbation levels, relative to the scale of X.
    mean : ndarray of shape (n_levels,)
        Mean score at each level.
    std : ndarray of shape (n_levels,), default=None
        Standard deviation of the score over the repeats; no band when None.
    estimator_name : str, default=None
        Label of the curve in the legend.
    perturbation_name : str, default=None
        Name of the perturbation, for the x label.
    score_name : str, default=None
        Name of the score, for the y label.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The curve.
    band_ : matplotlib PolyCollection or None
        The +/- std band.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sknrnn import RobustnessCurveDisplay
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(2, size=60)
    >>> X = rng.normal(size=(60, 10)) + y[:, None]
    >>> clf = LogisticRegression().fit(X, y)
    >>> disp = RobustnessCurveDisplay.from_estimator(
    ...     clf, X, y, levels=[0, 0.5, 1], n_repeats=2, random_state=0)
    >>> len(disp.line_.get_xdata())
    3
    """

    def __init__(self, *, levels, mean, std=None, estimator_name=None, perturbation_name=None,
                 score_name=None):
        self.levels = levels
        self.mean = mean
        self.std = std
        self.estimator_name = estimator_name
        self.perturbation_name = perturbation_name
        self.score_name = score_name

    def plot(self, ax=None, *, name=None, band_alpha=0.2, **kwargs):
        """Plot the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; a new figure when None.
        name : str, default=None
            Label of the curve; ``estimator_name`` when None.
        band_alpha : float, default=0.2
            Opacity of the +/- std band.
        **kwargs : dict
            Passed to ``ax.plot``.

        Returns
        -------
        display : RobustnessCurveDisplay
            This object, with ``line_``, ``band_``, ``ax_`` and ``figure_``.
        """
        plt = _check_matplotlib("RobustnessCurveDisplay.plot")
        if ax is None:
            _, ax = plt.subplots()
        name = self.estimator_name if name is None else name
        levels = np.asarray(self.levels, dtype=np.float64)
        mean = np.asarray(self.mean, dtype=np.float64)
        line_kwargs = {"marker": "o"}
        if name is not None:
            line_kwargs["label"] = name
        line_kwargs.update(kwargs)
        (self.line_,) = ax.plot(levels, mean, **line_kwargs)
        self.band_ = None
        if self.std is not None:
            std = np.asarray(self.std, dtype=np.float64)
            self.band_ = ax.fill_between(
                levels, mean - std, mean + std, color=self.line_.get_color(), alpha=band_alpha,
                linewidth=0,
            )
        perturbation = self.perturbation_name or "perturbation"
        ax.set_xlabel(f"{perturbation} level (relative to the scale of X)")
        ax.set_ylabel(self.score_name or "score")
        if name is not None:
            ax.legend(loc="best")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y, *, perturbation="white_noise", levels=None,
                       n_repeats=5, scoring=None, random_state=None, ax=None, name=None,
                       params=None, **kwargs):
        """Compute the robustness curve of a fitted estimator and plot it.

        Parameters
        ----------
        estimator : estimator object
            A fitted estimator or Pipeline (a sknrnn one for ``"fgsm"``/``"pgd"``).
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
            Test sequences.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        perturbation : str or callable, default="white_noise"
            As in :func:`robustness_score`.
        levels : array-like of shape (n_levels,), default=None
            As in :func:`robustness_curve`.
        n_repeats : int, default=5
            Number of perturbed copies of X per level.
        scoring : str, callable or None, default=None
            As in :func:`robustness_score`.
        random_state : int, RandomState instance or None, default=None
            Seeds the perturbations.
        ax : matplotlib Axes, default=None
            Axes to plot on (pass the same one for several estimators).
        name : str, default=None
            Label of the curve; the class name of the estimator when None.
        params : dict, default=None
            Metadata for scoring, e.g. ``{"times": times}``, as ``**params`` of
            :func:`robustness_curve` (here a dict: the keywords go to ``ax.plot``).
        **kwargs : dict
            Passed to ``ax.plot``.

        Returns
        -------
        display : RobustnessCurveDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        curve = robustness_curve(
            estimator, X, y, perturbation=perturbation, levels=levels, n_repeats=n_repeats,
            scoring=scoring, random_state=random_state, **(params or {}),
        )
        return cls.from_curve(curve, ax=ax, name=name, **kwargs)

    @classmethod
    def from_curve(cls, curve, *, ax=None, name=None, **kwargs):
        """Plot a curve computed by :func:`robustness_curve`.

        Parameters
        ----------
        curve : sklearn.utils.Bunch
            The output of :func:`robustness_curve`: ``levels`` and ``mean``, and
            ``std`` for the band (no band without it); its ``perturbation``,
            ``score_name`` and ``estimator_name`` label the axes and the legend.
        ax : matplotlib Axes, default=None
            Axes to plot on (pass the same one for several curves).
        name : str, default=None
            Label of the curve; ``curve.estimator_name`` when None.
        **kwargs : dict
            Passed to ``ax.plot``.

        Returns
        -------
        display : RobustnessCurveDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sknrnn import RobustnessCurveDisplay, robustness_curve
        >>> rng = np.random.RandomState(0)
        >>> y = rng.randint(2, size=60)
        >>> X = rng.normal(size=(60, 10)) + y[:, None]
        >>> curve = robustness_curve(LogisticRegression().fit(X, y), X, y, levels=[0, 1],
        ...                          n_repeats=2, random_state=0)
        >>> disp = RobustnessCurveDisplay.from_curve(curve)
        >>> bool((disp.line_.get_ydata() == curve.mean).all()), disp.ax_.get_ylabel()
        (True, 'accuracy')
        """
        _check_matplotlib(f"{cls.__name__}.from_curve")
        missing = [key for key in ("levels", "mean") if key not in curve]
        if missing:
            raise ValueError(
                f"curve lacks {missing}: pass the Bunch that robustness_curve returns."
            )
        display = cls(
            levels=curve["levels"], mean=curve["mean"], std=curve.get("std"),
            estimator_name=curve.get("estimator_name"),
            perturbation_name=curve.get("perturbation"),
            score_name=curve.get("score_name"),
        )
        return display.plot(ax=ax, name=name, **kwargs)
