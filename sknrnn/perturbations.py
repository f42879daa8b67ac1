"""Perturbations of test sequences: random noise and white-box gradient attacks.

All functions take sequences in the layout the estimators accept, 2D
``(n_samples, n_timesteps)`` or 3D ``(n_samples, n_timesteps, n_channels)``,
possibly NaN-padded at the end, and return a perturbed float64 copy in the
same layout and container (a DataFrame stays a DataFrame, with its index and
columns). NaN stays NaN: padding is never perturbed.

Levels are relative to the scale of X, so that a level means the same on any
dataset:

- :func:`white_noise`, :func:`fgsm` and :func:`pgd` multiply the level by the
  standard deviation of the observed (non-NaN) values of X, per channel (for
  a constant channel, the magnitude of its value; 1 when it is 0), unless an
  explicit ``scale`` is given;
- :func:`multiplicative_noise` is relative by construction, ``x * (1 + level * xi)``;
- :func:`salt_and_pepper` uses the minimum and maximum of the observed values
  of X, per channel.

The attacks (:func:`fgsm`, :func:`pgd`) need the gradient of the loss with
respect to the input, so they work on a fitted
:class:`~sknrnn.NoisyRNNClassifier` or :class:`~sknrnn.NoisyRNNRegressor` (or a
Pipeline ending in one whose other steps are ``"passthrough"``, or a fitted
search such as GridSearchCV whose ``best_estimator_`` is one of these). They attack
the deterministic model used for prediction (the recursion without noise) under an
L-infinity budget, and they do not clip inputs to any range: sequences are
not images in [0, 1].
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ._fitted import _fitted_model
from ._inference import batch_rows, batches
from ._sde import observed_steps
from ._validation import mean_and_scale

__all__ = ["white_noise", "multiplicative_noise", "salt_and_pepper", "fgsm", "pgd"]

# -- helpers ------------------------------------------------------------------
def _as_sequences(X):
    """Float64 copy of X as 3D, and the function that gives a result back as X came.

    A DataFrame (nullable dtypes and ``pd.NA`` included, read as NaN) comes back
    as a DataFrame with its index and columns; anything else as an ndarray of
    X's number of dimensions.
    """
    frame = X if hasattr(X, "columns") and hasattr(X, "to_numpy") else None
    try:
        complex_values = np.iscomplexobj(X if frame is None else frame.to_numpy())
    except (TypeError, ValueError):  # not array-like: the conversion below says so
        complex_values = False
    if complex_values:
        raise ValueError(
            "X has complex values: perturbations take real sequences. Pass the real part "
            "(X.real), the magnitude (np.abs(X)), or both as channels."
        )
    if frame is not None:
        X = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        X = np.array(X, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must hold numbers (NaN for end padding); {exc}.") from exc
    if X.ndim not in (2, 3):
        raise ValueError(
            "X must be 2D (n_samples, n_timesteps) or 3D (n_samples, n_timesteps, n_channels); "
            f"got an array with {X.ndim} dimensions of shape {X.shape}."
        )
    if np.isinf(X).any():
        raise ValueError("X contains infinity: replace infinite values before perturbing X.")
    was_2d = X.ndim == 2

    def restore(X3):
        out = X3[:, :, 0] if was_2d else X3
        if frame is None:
            return out
        return type(frame)(out, index=frame.index, columns=frame.columns)

    return (X[:, :, None] if was_2d else X), restore


# A level, eps or step: finite and >= 0 (robustness.py checks its levels with it too).
LEVEL = Interval(Real, 0, np.inf, closed="left")
_SCALE = [Interval(Real, 0, np.inf, closed="left"), "array-like", None]


def _channel_scale(X3, scale=None):
    """Per-channel scale ``(n_channels,)``: std of observed values, or the given ``scale``.

    The standard deviation is the estimators' own (:func:`sknrnn._validation.mean_and_scale`):
    in float64, and for a constant channel the magnitude of its value (1 when it is 0).
    """
    n_channels = X3.shape[2]
    if scale is not None:
        scale = np.asarray(scale, dtype=np.float64)
        if scale.ndim > 1 or (scale.ndim == 1 and len(scale) != n_channels):
            raise ValueError(
                f"scale must be a float or an array of one value per channel, shape "
                f"({n_channels},) for this X; got shape {scale.shape}."
            )
        scale = np.broadcast_to(scale, (n_channels,)).copy()
        if not np.isfinite(scale).all() or (scale < 0).any():
            raise ValueError(f"scale must be finite and >= 0; got {scale!r}.")
        return scale
    flat = X3.reshape(-1, n_channels)
    observed = ~np.isnan(flat)
    if not observed.any(axis=0).all():
        raise ValueError("X has a channel with no observed (non-NaN) value.")
    return np.array(
        [mean_and_scale(flat[observed[:, c], c][:, None])[1][0] for c in range(n_channels)]
    )


# -- random perturbations ---------------------------------------------------
@validate_params(
    {"X": ["array-like"], "level": [LEVEL], "scale": _SCALE, "random_state": ["random_state"]},
    prefer_skip_nested_validation=True,
)
def white_noise(X, level, *, scale=None, random_state=None):
    """Add Gaussian white noise: ``x + level * std(X) * xi`` with ``xi ~ N(0, 1)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
        Sequences of real values (complex ones are refused), possibly
        NaN-padded at the end (padding stays NaN).
    level : float
        Noise level, relative to the scale of X: the standard deviation of the
        noise is ``level`` times the standard deviation of the observed values
        of X in each channel. ``level=0`` returns a copy of X.
    scale : float or array-like of shape (n_channels,), default=None
        Scale per channel in place of the standard deviation of X (e.g. that of
        the training data, to perturb several test sets alike).
    random_state : int, RandomState instance or None, default=None
        Seeds the noise.

    Returns
    -------
    X_noisy : ndarray of float64, same shape as X; a DataFrame when X is one

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import white_noise
    >>> X = np.array([[0.0, 1.0, 2.0, np.nan], [3.0, 4.0, 5.0, 6.0]])
    >>> Xn = white_noise(X, 0.1, random_state=0)
    >>> Xn.shape, bool(np.isnan(Xn[0, 3]))
    ((2, 4), True)
    >>> bool(np.abs(Xn - X)[1].max() < 1.0)
    True
    """
    X3, restore = _as_sequences(X)
    sigma = level * _channel_scale(X3, scale)
    xi = check_random_state(random_state).standard_normal(X3.shape)
    return restore(X3 + sigma * xi)


@validate_params(
    {"X": ["array-like"], "level": [LEVEL], "random_state": ["random_state"]},
    prefer_skip_nested_validation=True,
)
def multiplicative_noise(X, level, *, random_state=None):
    """Multiply by Gaussian noise: ``x * (1 + level * xi)`` with ``xi ~ N(0, 1)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
        Sequences, possibly NaN-padded at the end (padding stays NaN).
    level : float
        Noise level. Multiplicative noise is relative to the scale of X by
        construction: each entry is perturbed by ``level`` times its own
        magnitude, so ``level`` means the same on X and on ``c * X`` (no
        standard deviation enters). ``level=0`` returns a copy of X.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise.

    Returns
    -------
    X_noisy : ndarray of float64, same shape as X; a DataFrame when X is one

    Notes
    -----
    As in Lim et al. (2021), the noise is proportional to the value, so
    entries at zero are left unchanged; standardize X (or use
    :func:`white_noise`) when zero is not a natural origin of the data.

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import multiplicative_noise
    >>> X = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, np.nan]])
    >>> Xn = multiplicative_noise(X, 0.1, random_state=0)
    >>> float(Xn[0, 0]), bool(np.isnan(Xn[1, 2]))  # zero stays zero, NaN stays NaN
    (0.0, True)
    """
    X3, restore = _as_sequences(X)
    xi = check_random_state(random_state).standard_normal(X3.shape)
    return restore(X3 * (1.0 + level * xi))


@validate_params(
    {
        "X": ["array-like"],
        "level": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def salt_and_pepper(X, level, *, random_state=None):
    """Set a fraction of the observed entries to the minimum or the maximum of X.

    A fraction ``level`` of the observed (non-NaN) entries, drawn at random
    without replacement, is set to the extreme values of their channel: half of
    them (rounded down) to the minimum of the observed values of X in that
    channel ("pepper"), the rest to the maximum ("salt").

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
        Sequences, possibly NaN-padded at the end (padding stays NaN).
    level : float in [0, 1]
        Fraction of the observed entries to replace; ``round(level * n_observed)``
        entries are replaced.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of entries.

    Returns
    -------
    X_noisy : ndarray of float64, same shape as X; a DataFrame when X is one

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import salt_and_pepper
    >>> X = np.arange(10.0).reshape(1, 10)
    >>> salt_and_pepper(X, 0.4, random_state=0)  # 4 entries: 2 set to 0, 2 set to 9
    array([[0., 1., 0., 3., 9., 5., 6., 7., 0., 9.]])
    """
    X3, restore = _as_sequences(X)
    flat = X3.reshape(-1, X3.shape[2])
    observed = ~np.isnan(flat)
    if not observed.any(axis=0).all():
        raise ValueError("X has a channel with no observed (non-NaN) value.")
    lo, hi = np.nanmin(flat, axis=0), np.nanmax(flat, axis=0)
    rows, cols = np.nonzero(observed)
    n_hit = int(round(level * len(rows)))
    rng = check_random_state(random_state)
    hit = rng.choice(len(rows), size=n_hit, replace=False)
    n_pepper = n_hit // 2
    pepper, salt = hit[:n_pepper], hit[n_pepper:]
    flat[rows[pepper], cols[pepper]] = lo[cols[pepper]]
    flat[rows[salt], cols[salt]] = hi[cols[salt]]
    return restore(flat.reshape(X3.shape))


# -- gradient attacks -----------------------------------------------------------
def _attack(estimator, X, y, eps, *, n_steps, step_size, random_start, scale, random_state,
            times=None, caller, batch_size=None):
    """The attack of ``fgsm`` and ``pgd``: ``n_steps`` signed-gradient steps of the loss.

    ``batch_size``: sequences per forward/backward pass (``batch_rows(heavy=True)``
    when None: each keeps its gradient graph), so that memory stays flat on any n.
    """
    X3, restore = _as_sequences(X)
    bound = eps * _channel_scale(X3, scale)  # (n_channels,), in units of X
    step = bound * (step_size / eps if eps > 0 else 0.0)
    if y is None:
        raise ValueError("y is required: the attacks increase the loss on the true targets.")
    model = _fitted_model(
        estimator, X, y, times=times, caller=caller,
        hint=" Use the random perturbations (white_noise, multiplicative_noise, "
        "salt_and_pepper) for other estimators.",
    )
    inputs = model.inputs  # standardized as the module reads them
    if len(model.targets) != len(X3):
        raise ValueError(f"X has {len(X3)} samples but y has {len(model.targets)}.")
    targets = torch.from_numpy(model.targets)
    rng = check_random_state(random_state)

    module, device = model.module, model.device
    # The budget and the step in the standardized units the module reads.
    bound_t = torch.as_tensor(bound / model.x_scale, dtype=torch.float32, device=device)
    step_t = torch.as_tensor(step / model.x_scale, dtype=torch.float32, device=device)
    batch_size = batch_rows(heavy=True) if batch_size is None else batch_size
    deltas = []
    # Gradients are needed even when the caller runs under torch.no_grad().
    with torch.enable_grad():
        for rows, batch in batches(inputs, device, batch_size):
            x = batch.pop("x")
            target = targets[rows].to(device)
            mask = observed_steps(batch["lengths"], x.shape[1]).unsqueeze(-1).to(torch.float32)
            if random_start and eps > 0:
                u = rng.uniform(-1.0, 1.0, size=x.shape).astype(np.float32)
                delta = torch.from_numpy(u).to(device) * bound_t * mask
            else:
                delta = torch.zeros_like(x)
            for _ in range(n_steps):
                delta.requires_grad_(True)
                loss = model.loss(module(x + delta, **batch, noise=False), target)
                (grad,) = torch.autograd.grad(loss, delta)
                with torch.no_grad():
                    delta = delta + step_t * grad.sign()
                    delta = torch.maximum(torch.minimum(delta, bound_t), -bound_t) * mask
            deltas.append(delta.detach().to("cpu", torch.float64).numpy())
    # Back to the units of X; inside the budget exactly in float64 (float32 rounding).
    delta = np.clip(np.concatenate(deltas, axis=0) * model.x_scale, -bound, bound)
    return restore(X3 + delta)


_ATTACK_PARAMS = {
    "estimator": "no_validation",  # a sknrnn estimator: final_estimator says what is wrong
    "X": ["array-like"],
    "y": ["array-like", None],
    "eps": [LEVEL],
    "scale": _SCALE,
    "times": ["array-like", None],
}


@validate_params(_ATTACK_PARAMS, prefer_skip_nested_validation=True)
def fgsm(estimator, X, y, eps, *, scale=None, times=None):
    """Fast gradient sign method: one step ``x + eps * std(X) * sign(grad_x loss)``.

    A white-box attack (Goodfellow et al., 2015) on the deterministic model that
    the estimator predicts with, under an L-infinity budget.

    Parameters
    ----------
    estimator : NoisyRNNClassifier, NoisyRNNRegressor, Pipeline or search
        A fitted sknrnn estimator, or a fitted Pipeline ending in one whose
        other steps are ``"passthrough"`` or None (other steps have no
        gradient, and a TypeError says which), or a fitted search
        (GridSearchCV, ...) whose ``best_estimator_`` is one of these.
    X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
        Sequences, possibly NaN-padded at the end (padding stays NaN).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True targets: class labels (the loss is the cross-entropy) or values
        (the loss is the squared error on targets standardized as in fit).
    eps : float
        Budget, relative to the scale of X: every entry moves by at most
        ``eps`` times the standard deviation of the observed values of X in its
        channel. Inputs are not clipped to any range.
    scale : float or array-like of shape (n_channels,), default=None
        Scale per channel in place of the standard deviation of X.
    times : array-like of shape (n_samples, n_timesteps), default=None
        Observation times of X, for a model fitted with times (see the
        estimator's ``fit``); the attack integrates the steps they give.

    Returns
    -------
    X_adv : ndarray of float64, same shape as X; a DataFrame when X is one

    See Also
    --------
    pgd : The iterated, stronger attack.
    sknrnn.robustness_score : Score under an attack. Robust accuracy there is
        the accuracy over all samples after the attack, not only over those
        predicted correctly before it.

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import NoisyRNNClassifier, fgsm
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(2, size=40)
    >>> X = rng.normal(size=(40, 8)) + y[:, None]
    >>> clf = NoisyRNNClassifier(hidden_size=8, max_iter=5, random_state=0).fit(X, y)
    >>> X_adv = fgsm(clf, X, y, eps=0.1)
    >>> bool(np.abs(X_adv - X).max() <= 0.1 * X.std() + 1e-9)
    True
    """
    return _attack(estimator, X, y, eps, n_steps=1, step_size=eps, random_start=False,
                   scale=scale, random_state=None, times=times, caller="fgsm")


@validate_params(
    {
        **_ATTACK_PARAMS,
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "step_size": [LEVEL, None],
        "random_start": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def pgd(estimator, X, y, eps, *, n_steps=10, step_size=None, random_start=True, scale=None,
        random_state=None, times=None):
    """Projected gradient descent attack under an L-infinity budget.

    ``n_steps`` signed-gradient ascent steps on the loss, each followed by a
    projection onto the box ``|x_adv - x| <= eps * std(X)`` (Madry et al.,
    2018), against the deterministic model that the estimator predicts with.

    Parameters
    ----------
    estimator : NoisyRNNClassifier, NoisyRNNRegressor, Pipeline or search
        A fitted sknrnn estimator, or a fitted Pipeline ending in one whose
        other steps are ``"passthrough"`` or None, or a fitted search
        (GridSearchCV, ...) whose ``best_estimator_`` is one of these.
    X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
        Sequences, possibly NaN-padded at the end (padding stays NaN).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True class labels or target values.
    eps : float
        Budget, relative to the scale of X: every entry moves by at most
        ``eps`` times the standard deviation of the observed values of X in its
        channel. Inputs are not clipped to any range.
    n_steps : int, default=10
        Number of gradient steps.
    step_size : float, default=None
        Size of each step, relative to the scale of X like ``eps``; None uses
        ``2.5 * eps / n_steps``.
    random_start : bool, default=True
        Start from a uniform random point of the box instead of X itself.
    scale : float or array-like of shape (n_channels,), default=None
        Scale per channel in place of the standard deviation of X.
    random_state : int, RandomState instance or None, default=None
        Seeds the random start.
    times : array-like of shape (n_samples, n_timesteps), default=None
        Observation times of X, for a model fitted with times.

    Returns
    -------
    X_adv : ndarray of float64, same shape as X; a DataFrame when X is one

    See Also
    --------
    fgsm : The one-step attack.
    sknrnn.robustness_score : Score under an attack, over all samples (not
        only those predicted correctly before the attack).

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import NoisyRNNClassifier, pgd
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(2, size=40)
    >>> X = rng.normal(size=(40, 8)) + y[:, None]
    >>> clf = NoisyRNNClassifier(hidden_size=8, max_iter=5, random_state=0).fit(X, y)
    >>> X_adv = pgd(clf, X, y, eps=0.2, n_steps=3, random_state=0)
    >>> bool(clf.score(X_adv, y) <= clf.score(X, y))
    True
    """
    if step_size is None:
        step_size = 2.5 * eps / n_steps
    return _attack(estimator, X, y, eps, n_steps=int(n_steps), step_size=step_size,
                   random_start=bool(random_start), scale=scale, random_state=random_state,
                   times=times, caller="pgd")
