"""Explicit converters from other time-series layouts to sknrnn's ``(n, T, C)``.

sknrnn reads 3D input as ``(n_samples, n_timesteps, n_channels)``. Other
libraries and files use other layouts, and an array's shape alone cannot tell
which axis is which (a ``(100, 3, 3)`` array is either). These functions never
guess: each one names the layout it reads.

- :func:`from_channels_first`: aeon / sktime collections,
  ``(n_samples, n_channels, n_timesteps)`` or a list of
  ``(n_channels, n_timesteps_i)`` arrays of unequal lengths.
- :func:`from_wide`: a 2D table whose columns hold every channel of every time
  step, interleaved (``t0c0, t0c1, ..., t1c0, ...``) or blocked
  (``c0t0, c0t1, ..., c1t0, ...``).
"""

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import pad_sequences

__all__ = ["from_channels_first", "from_wide"]

_LAYOUTS = ("interleaved", "blocked")


def _as_float(a):
    a = np.asarray(a)
    if a.dtype == object:
        raise ValueError(
            "X holds Python objects (e.g. a nested DataFrame or ragged lists) where numbers "
            "were expected. Pass a numeric array, or a list of arrays for unequal lengths."
        )
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)


@validate_params({"X": ["array-like"]}, prefer_skip_nested_validation=True)
def from_channels_first(X):
    """Convert channels-first sequences (aeon, sktime) to sknrnn's layout.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_channels, n_timesteps) or list of arrays
        Either one 3D array in the layout of aeon and sktime (``numpy3D``),
        possibly NaN-padded at the end of time, or a list of 2D arrays
        ``(n_channels, n_timesteps_i)`` with the same channels and any lengths
        (aeon's unequal-length collections). 1D items in a list are read as
        single-channel series ``(n_timesteps_i,)``.

    Returns
    -------
    X_out : ndarray of shape (n_samples, n_timesteps, n_channels)
        The same values with time and channels swapped. A list becomes one
        array NaN-padded at the end to the longest sequence (see
        :func:`sknrnn.pad_sequences`); sknrnn estimators ignore the padding.

    Raises
    ------
    ValueError
        If X is an array that is not 3D (a 2D ``(n_samples, n_timesteps)``
        univariate table needs no conversion), or a list whose items are not
        all 2D (or all 1D) with the same number of channels.

    See Also
    --------
    from_wide : For 2D tables with several channels per row.
    sknrnn.pad_sequences : For lists of ``(n_timesteps_i, n_channels)`` sequences.

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import from_channels_first
    >>> X = np.zeros((10, 3, 50))  # 10 series, 3 channels, 50 steps
    >>> from_channels_first(X).shape
    (10, 50, 3)
    >>> ragged = [np.ones((2, 4)), np.ones((2, 6))]  # 2 channels, lengths 4 and 6
    >>> out = from_channels_first(ragged)
    >>> out.shape
    (2, 6, 2)
    >>> bool(np.isnan(out[0, 4:]).all())
    True
    """
    if isinstance(X, (list, tuple)):
        if not X:
            raise ValueError("from_channels_first needs at least one sequence.")
        items = [_as_float(x) for x in X]
        ndims = {x.ndim for x in items}
        if ndims == {1}:
            return pad_sequences(items)
        if ndims != {2}:
            raise ValueError(
                "from_channels_first reads a list of 2D arrays (n_channels, n_timesteps_i) "
                f"(or of 1D single-channel series); got items with ndim {sorted(ndims)}."
            )
        channels = sorted({x.shape[0] for x in items})
        if len(channels) > 1:
            raise ValueError(
                "All sequences must have the same number of channels (the first axis of each "
                f"(n_channels, n_timesteps_i) array); got {channels}."
            )
        return pad_sequences([x.T for x in items])
    X = _as_float(X)
    if X.ndim != 3:
        hint = (
            " A 2D (n_samples, n_timesteps) table is univariate and needs no conversion."
            if X.ndim == 2
            else ""
        )
        raise ValueError(
            "from_channels_first reads a 3D array (n_samples, n_channels, n_timesteps) or a "
            f"list of (n_channels, n_timesteps_i) arrays; got an array of shape {X.shape}." + hint
        )
    return np.ascontiguousarray(X.transpose(0, 2, 1))


@validate_params(
    {
        "X": ["array-like"],
        "n_channels": [Interval(numbers.Integral, 1, None, closed="left")],
        "layout": [StrOptions(set(_LAYOUTS))],
    },
    prefer_skip_nested_validation=True,
)
def from_wide(X, n_channels, *, layout="interleaved"):
    """Convert a wide table (all channels of all steps in one row) to sknrnn's layout.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_timesteps * n_channels)
        One sequence per row. With ``layout="interleaved"`` the columns run
        ``x_t0_c0, x_t0_c1, ..., x_t0_c{C-1}, x_t1_c0, ...`` (all channels of a
        step, then the next step); with ``layout="blocked"`` they run
        ``x_c0_t0, x_c0_t1, ..., x_c0_t{T-1}, x_c1_t0, ...`` (all steps of a
        channel, then the next channel). NaN end padding is kept as is.
    n_channels : int
        Number of channels ``C``; the width must be a multiple of it.
    layout : {"interleaved", "blocked"}, default="interleaved"
        Order of the columns, see above.

    Returns
    -------
    X_out : ndarray of shape (n_samples, n_timesteps, n_channels)

    Raises
    ------
    ValueError
        If X is not 2D, ``n_channels`` is not a positive integer, the width is
        not a multiple of ``n_channels``, or ``layout`` is unknown.

    See Also
    --------
    from_channels_first : For aeon / sktime 3D arrays and unequal-length lists.

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import from_wide
    >>> row = np.array([[0, 10, 1, 11, 2, 12]])  # steps 0, 1, 2 of channels c0 and c1
    >>> from_wide(row, 2)[0]
    array([[ 0., 10.],
           [ 1., 11.],
           [ 2., 12.]])
    >>> from_wide([[0, 1, 2, 10, 11, 12]], 2, layout="blocked")[0]
    array([[ 0., 10.],
           [ 1., 11.],
           [ 2., 12.]])
    """
    if hasattr(X, "to_numpy"):  # pandas DataFrame; nullable dtypes too, pd.NA read as NaN
        X = X.to_numpy(dtype=np.float64, na_value=np.nan)
    X = _as_float(X)
    if X.ndim != 2:
        raise ValueError(
            "from_wide reads a 2D table (n_samples, n_timesteps * n_channels); got an array "
            f"of shape {X.shape}."
        )
    n_samples, width = X.shape
    if width == 0 or width % n_channels:
        raise ValueError(
            f"X has {width} columns, which is not a multiple of n_channels={n_channels}: a "
            "wide table needs n_timesteps * n_channels columns. Check n_channels, or drop "
            "columns that are not measurements (ids, labels, timestamps)."
        )
    n_steps = width // n_channels
    if layout == "interleaved":
        return X.reshape(n_samples, n_steps, n_channels).copy()
    return np.ascontiguousarray(X.reshape(n_samples, n_channels, n_steps).transpose(0, 2, 1))
