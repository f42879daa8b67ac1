"""Input checks and conversion: tables, arrays and DataFrames to padded sequences.

Everything a user passes is checked here once, with messages that say what is
wrong and what to do, before anything reaches torch. The standardization
statistics (:func:`standardization_statistics`, :func:`mean_and_scale`,
:func:`step_means`, :func:`unstandardize`) and the mask of observed steps
(:func:`observed_mask`) live here too, in NumPy.

Layout of X
-----------
- 2D ``(n_samples, n_timesteps)``: univariate sequences, one row each (a
  DataFrame works too, its columns being the time steps).
- 3D ``(n_samples, n_timesteps, n_channels)``: multivariate sequences.

At prediction a 2D table needs the columns seen in fit (they are its
features, ``n_features_in_``), while 3D sequences may have any number of steps
(longer or shorter than in fit): the recursion reads any length.

Sequences of different lengths are padded at the end with NaN (see
:func:`pad_sequences`); the padded steps do not move the hidden state. NaN
anywhere else is an error: impute it first.

Observation times (irregular sampling) are an optional ``(n_samples,
n_timesteps)`` array beside X, checked by :func:`check_times`.
"""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_array

__all__ = ["pad_sequences"]

_FLOAT_DTYPES = (np.float64, np.float32)


@validate_params(
    {"sequences": ["array-like"], "length": [Interval(Integral, 1, None, closed="left"), None]},
    prefer_skip_nested_validation=True,
)
def pad_sequences(sequences, length=None):
    """Stack sequences of different lengths into one NaN-padded array.

    This is the route for unequal-length data: NaN steps at the end of a row
    are padding, and the estimators treat each row as ending at its last
    observed step.

    Parameters
    ----------
    sequences : list of array-like
        Each item is ``(n_timesteps_i,)`` (univariate) or
        ``(n_timesteps_i, n_channels)`` (all with the same channels).
    length : int, default=None
        Length of the padded array; the longest sequence when None.

    Returns
    -------
    X : ndarray of shape (n_samples, length) or (n_samples, length, n_channels)

    Examples
    --------
    >>> from sknrnn import pad_sequences
    >>> pad_sequences([[1.0, 2.0, 3.0], [4.0]])
    array([[ 1.,  2.,  3.],
           [ 4., nan, nan]])
    """
    arrays = [np.asarray(s, dtype=np.float64) for s in sequences]
    if not arrays:
        raise ValueError("pad_sequences needs at least one sequence.")
    ndims = {a.ndim for a in arrays}
    if ndims - {1, 2} or len(ndims) > 1:
        raise ValueError(
            "Each sequence must be 1D (n_timesteps,) or 2D (n_timesteps, n_channels), all of "
            f"the same kind; got sequences with ndim {sorted(ndims)}."
        )
    channels = {a.shape[1:] for a in arrays}
    if len(channels) > 1:
        raise ValueError(f"All sequences must have the same number of channels; got {sorted(channels)}.")
    longest = max(len(a) for a in arrays)
    length = longest if length is None else int(length)
    if length < longest:
        raise ValueError(f"length={length} is shorter than the longest sequence ({longest} steps).")
    out = np.full((len(arrays), length) + arrays[0].shape[1:], np.nan)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def _check_not_ragged(X):
    if isinstance(X, (list, tuple)) and X and all(hasattr(r, "__len__") for r in X):
        if len({len(r) for r in X}) > 1:
            raise ValueError(
                "X is a list of sequences of different lengths. Pad them at the end with NaN "
                "into one array first, e.g. X = sknrnn.pad_sequences(X); padded steps are ignored."
            )


def _ndim(X):
    """Number of dimensions of array-like X (None when it is not array-like)."""
    ndim = getattr(X, "ndim", None)
    if isinstance(ndim, int):
        return ndim
    try:
        return np.asarray(X).ndim
    except (TypeError, ValueError):
        return None


def check_sequences(X, *, table_check=None, n_features=None, n_channels=None,
                    name="estimator"):
    """Validate X and return ``(X, lengths)`` ready for the torch module.

    ``X`` comes back as float64 ``(n_samples, n_timesteps, n_channels)`` with
    padding replaced by zeros (the estimator standardizes it in float64 before the
    cast to the module's float32), ``lengths`` as int64 ``(n_samples,)``.
    ``n_channels``: the channels of fit, which X must have (None in fit).
    ``table_check``: the estimator's check of X (scikit-learn's ``validate_data``,
    which records or checks ``n_features_in_`` and the feature names), applied in
    fit and, at prediction, to a 2D table only, whose columns are its features
    (``n_features`` of them in fit): 3D sequences may have any number of steps at
    prediction. ``name`` names the estimator in the errors.
    """
    _check_not_ragged(X)
    if table_check is not None and (n_channels is None or _ndim(X) != 3):
        try:
            X = table_check(X)
        except ValueError as exc:
            columns = str(exc).startswith("X has") and "features" in str(exc)
            if n_features is None or not columns:
                raise
            raise ValueError(
                f"{exc} A 2D X is a table whose columns are the time steps, so it needs "
                f"the {n_features} columns seen in fit. Sequences of any length are read as "
                "3D (n_samples, n_timesteps, n_channels): pass X[:, :, np.newaxis] for "
                "univariate ones, or pad shorter ones to the fitted length with "
                f"sknrnn.pad_sequences(sequences, length={n_features})."
            ) from exc
    else:  # 3D sequences at prediction (the table check converts the others)
        X = check_array(
            X, dtype=_FLOAT_DTYPES, ensure_all_finite=False, allow_nd=True, input_name="X"
        )
    if X.ndim == 2:
        X = X[:, :, None]
    elif X.ndim != 3:
        raise ValueError(
            f"X must be 2D (n_samples, n_timesteps) or 3D (n_samples, n_timesteps, n_channels); "
            f"got an array with {X.ndim} dimensions of shape {X.shape}."
        )
    if X.shape[1] == 0:
        raise ValueError(
            f"X has 0 time steps (shape {X.shape}): every sequence needs at least one step."
        )
    if X.shape[2] == 0:
        raise ValueError(
            f"X has shape {X.shape}, with no channels: 3D X is (n_samples, n_timesteps, "
            "n_channels) with at least one channel."
        )
    if n_channels is not None and X.shape[2] != n_channels:
        raise ValueError(
            f"X has {X.shape[2]} channels, but {name} was fitted with "
            f"{n_channels}: pass sequences with the same channels as in fit."
        )
    if np.isinf(X).any():
        raise ValueError(
            "X contains infinity: replace infinite values (e.g. clip or impute them) before "
            "fitting or predicting."
        )
    lengths = _padding_lengths(X)
    return np.nan_to_num(X.astype(np.float64, copy=False), nan=0.0), lengths


def mean_and_scale(values, weights=None):
    """Per-column ``(mean, scale)`` of a 2D float array, computed in float64.

    ``scale`` is the standard deviation, unit-free: a column counts as constant
    when its standard deviation is below ``1e-12`` times its largest magnitude
    (rounding noise at that magnitude, whatever the units), and then gets the
    magnitude of its mean as scale (1 when the mean is 0), so that multiplying
    the data by any factor leaves the standardized data unchanged. ``weights``
    (one per row, non-negative, not all 0) gives weighted statistics; equal
    weights give exactly the unweighted ones.
    """
    values = np.asarray(values, dtype=np.float64)
    if weights is not None and np.all(weights == weights[0]):
        weights = None
    # Statistics of values / magnitude: no overflow or underflow anywhere in float64's range.
    magnitude = np.abs(values).max(axis=0) if len(values) else np.zeros(values.shape[1:])
    unit = np.where(magnitude > 0, magnitude, 1.0)
    if weights is None:
        mean = (values / unit).mean(axis=0) * unit
        scale = (values / unit).std(axis=0) * unit
    else:
        unit_mean = np.average(values / unit, axis=0, weights=weights)
        variance = np.average((values / unit - unit_mean) ** 2, axis=0, weights=weights)
        mean, scale = unit_mean * unit, np.sqrt(variance) * unit
    constant = ~(scale > 1e-12 * magnitude)
    scale[constant] = np.where(mean[constant] != 0, np.abs(mean[constant]), 1.0)
    return mean, scale


def step_means(X, observed, weights=None):
    """``(T, C)`` means of the sequences X ``(n, T, C)`` at each step, in float64.

    Each step averages the sequences observed there (``observed``, ``(n, T)``),
    weighted by ``weights`` (one per sequence, non-negative) when given; a step
    that no sequence of positive weight observes has the mean of its channel
    over all observed steps. Unit-free, as :func:`mean_and_scale`.
    """
    X = np.asarray(X, dtype=np.float64)
    w = observed.astype(np.float64)
    if weights is not None and not np.all(weights == weights[0]):
        w = w * np.asarray(weights, dtype=np.float64)[:, None]
    magnitude = np.where(observed[..., None], np.abs(X), 0.0).max(axis=(0, 1))
    unit = np.where(magnitude > 0, magnitude, 1.0)
    Z = np.where(observed[..., None], X / unit, 0.0)
    total = w.sum(axis=0)
    means = np.einsum("nt,ntc->tc", w, Z) / np.where(total > 0, total, 1.0)[:, None]
    empty = total <= 0
    if empty.any():
        channel_mean = np.einsum("nt,ntc->c", w, Z) / max(w.sum(), 1e-300)
        means[empty] = channel_mean
    return means * unit


def standardization_statistics(X, observed, sample_weight=None, steps=False):
    """``(x_mean, x_scale, x_offset, left_scale)`` of the sequences X ``(n, T, C)``.

    ``x_mean`` and ``x_scale``: each channel's mean and scale (:func:`mean_and_scale`)
    over the ``observed`` steps, weighted by ``sample_weight`` (one weight per sequence);
    with ``steps``, ``x_offset`` ``(T, C)`` is the mean series (:func:`step_means`) as
    deviations from ``x_mean``, and ``left_scale`` the scale of what it leaves,
    ``X - x_mean - x_offset`` (else both None). A channel whose sequences are all one
    series leaves rounding alone (float64's, far below the float32 that the model
    reads): its ``left_scale`` is ``x_scale``, so the rounding is not blown up to unit
    scale.
    """
    step_weights = None if sample_weight is None else np.broadcast_to(
        sample_weight[:, None], observed.shape
    )[observed]
    x_mean, x_scale = mean_and_scale(X[observed], step_weights)
    if not steps:
        return x_mean, x_scale, None, None
    x_offset = step_means(X, observed, sample_weight) - x_mean
    with np.errstate(over="ignore"):
        left = (X - x_mean - x_offset)[observed]
    _, left_scale = mean_and_scale(left, step_weights)
    left_scale = np.where(left_scale > 1e-6 * x_scale, left_scale, x_scale)
    return x_mean, x_scale, x_offset, left_scale


def unstandardize(values, mean, scale):
    """``values * scale + mean``: standardized values back in their own units.

    The inverse of the standardization by :func:`mean_and_scale`'s statistics,
    for NumPy arrays and torch tensors alike (float64 in, float64 out).
    """
    return values * scale + mean


def observed_mask(lengths, n_steps):
    """Boolean ``(n_samples, n_steps)``: which steps of each sequence are observed.

    The NumPy twin of :func:`sknrnn._sde.observed_steps` (steps before each
    sequence's length).
    """
    return np.arange(n_steps)[None, :] < np.asarray(lengths)[:, None]


def _padding_lengths(X):
    """Lengths of NaN-padded sequences, with errors for NaN that is not end padding."""
    n_steps = X.shape[1]
    nan = np.isnan(X)
    step_nan = nan.all(axis=2)
    if (nan.any(axis=2) != step_nan).any():
        raise ValueError(
            "X has NaN in some channels of a time step but not in others. Padding must cover "
            "all channels of a step; impute missing values inside a sequence first."
        )
    observed = ~step_nan
    empty = ~observed.any(axis=1)
    if empty.any():
        rows = np.flatnonzero(empty)[:5].tolist()
        raise ValueError(
            f"X has rows that are all NaN (rows {rows}): every sequence needs at least one "
            "observed step. Drop these rows first."
        )
    lengths = n_steps - np.argmax(observed[:, ::-1], axis=1)
    inside = step_nan & observed_mask(lengths, n_steps)
    if inside.any():
        rows = np.flatnonzero(inside.any(axis=1))[:5].tolist()
        raise ValueError(
            f"X has NaN inside sequences (rows {rows}). NaN is only allowed as padding at the "
            "end of a sequence; impute missing values first (e.g. with "
            "sklearn.impute.SimpleImputer or by interpolating along time)."
        )
    return lengths.astype(np.int64)


def check_times(times, n_steps, lengths, *, time_step=None):
    """Validate observation times and return ``(step_scale, time_step)``.

    ``times[i, k]`` is when step ``k`` of sequence ``i`` was observed (any unit;
    NaN or anything at padded steps). The step that reads observation ``k`` spans
    the time since observation ``k - 1``, in units of ``time_step``: the median
    spacing of the times given to fit (``time_step=None`` learns it here). The
    first step spans one unit. ``step_scale`` is float32 ``(n_samples,
    n_timesteps)``, 1 at the first and at padded steps.
    """
    try:
        times = np.asarray(times, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"times must be a numeric array of shape (n_samples, n_timesteps); {exc}."
        ) from exc
    n_samples = len(lengths)
    if times.shape != (n_samples, n_steps):
        raise ValueError(
            f"times has shape {times.shape} but X has {n_samples} sequences of {n_steps} "
            f"steps: pass one observation time per step, times of shape ({n_samples}, {n_steps}) "
            "(NaN at padded steps)."
        )
    observed = observed_mask(lengths, n_steps)
    if not np.isfinite(times[observed]).all():
        rows = np.flatnonzero((~np.isfinite(times) & observed).any(axis=1))[:5].tolist()
        raise ValueError(
            f"times has NaN or infinite values at observed steps (rows {rows}): every observed "
            "step needs its time (NaN is allowed only where X is padded)."
        )
    with np.errstate(invalid="ignore"):  # padded steps may hold NaN or inf
        gaps = np.diff(times, axis=1)
    pairs = observed[:, 1:]
    if (gaps[pairs] <= 0).any():
        rows = np.flatnonzero(((gaps <= 0) & pairs).any(axis=1))[:5].tolist()
        raise ValueError(
            f"times must increase strictly along each sequence; rows {rows} do not. Sort the "
            "steps by time and merge observations made at the same time."
        )
    if time_step is None:
        time_step = float(np.median(gaps[pairs])) if pairs.any() else 1.0
    scale = np.ones((n_samples, n_steps))
    with np.errstate(invalid="ignore"):
        scale[:, 1:] = np.where(pairs, gaps / time_step, 1.0)
    return scale.astype(np.float32), time_step


def standardize(X, observed, x_mean, x_scale, x_offset=None):
    """X (float64, 3D) standardized with the statistics of fit, as float32; padding 0.

    ``x_offset`` ``(T, C)`` (as many steps as X), when given, is subtracted after
    ``x_mean``: the mean series of fit, as deviations from ``x_mean``.
    """
    with np.errstate(over="ignore"):
        centred = X - x_mean
        if x_offset is not None:
            centred = centred - x_offset
        Z = (centred / x_scale).astype(np.float32)
    Z[~observed] = 0.0
    if not np.isfinite(Z).all():
        raise ValueError(
            "X has values more than 3e38 standard deviations (those of the data given to "
            "fit) away from the mean of fit: check the units of X."
        )
    return Z


def check_times_given(times, fitted_with_times, name):
    """Times at prediction exactly when fit had them."""
    if times is None and fitted_with_times:
        raise ValueError(
            f"This {name} was fitted with observation times: pass times= "
            "here too. In GridSearchCV or cross_validate, enable metadata routing "
            "(sklearn.set_config(enable_metadata_routing=True)) and request them: "
            "estimator.set_fit_request(times=True).set_score_request(times=True)."
        )
    if times is not None and not fitted_with_times:
        raise ValueError(
            f"This {name} was fitted without observation times (evenly "
            "spaced steps), so times have no spacing to refer to: fit with times= to "
            "use them, or leave them out here."
        )
