"""X and observation times as the module reads them: checked, standardized, scaled.

Fit learns the statistics of X (weighted, in float64) and the spacing of its
observation times (a :class:`~sknrnn._plan.Standardization`); this module
checks X, computes and applies them, for training, prediction and the tools
alike, through the checks and statistics of ``_validation.py``. It takes and
returns values: the estimator keeps the statistics.
"""

import numpy as np

from ._plan import Standardization, auto_standardize
from ._validation import (
    check_sequences, check_times, check_times_given, mean_and_scale, observed_mask, standardize,
    step_means,
)


def learned_statistics(X, observed, sample_weight=None, kind="channel"):
    """``(x_mean, x_scale, x_offset)`` of X for ``standardize=kind`` (see
    :class:`~sknrnn._plan.Standardization`), weighted by ``sample_weight``.

    ``"step"`` subtracts the mean series and divides by the scale of what is left;
    ``"auto"`` does so when what is left is under ``_AUTO_STEP_SHARE`` of the variance
    (``_plan.auto_standardize``); ``"channel"`` has no offset.
    """
    step_weights = None if sample_weight is None else np.broadcast_to(
        sample_weight[:, None], observed.shape
    )[observed]
    x_mean, x_scale = mean_and_scale(X[observed], step_weights)
    if kind == "channel":
        return x_mean, x_scale, None
    x_offset = step_means(X, observed, sample_weight) - x_mean
    with np.errstate(over="ignore"):
        left = (X - x_mean - x_offset)[observed]
    _, left_scale = mean_and_scale(left, step_weights)
    # Sequences that are all one series leave rounding alone (float64's, far below the
    # float32 that the model reads): such a channel keeps its own scale rather than
    # blow the rounding up to unit scale.
    left_scale = np.where(left_scale > 1e-6 * x_scale, left_scale, x_scale)
    share = float(np.mean((left_scale / x_scale) ** 2))
    if auto_standardize(kind, share) == "channel":
        return x_mean, x_scale, None
    return x_mean, left_scale, x_offset


def module_inputs(X, times, *, standardization=None, sample_weight=None, n_samples=None,
                  kind="channel", table_check=None, n_features=None, n_channels=None,
                  name="estimator"):
    """The dict of arrays that the net's module takes, and the standardization it used.

    X is checked by :func:`sknrnn._validation.check_sequences` (``table_check``,
    ``n_features``, ``n_channels`` and ``name`` as there). ``standardization`` None
    learns it from this data (fit: weighted by ``sample_weight``, validated
    weights of the ``n_samples`` sequences that y has, with the spacing of
    ``times``, and ``kind``, the estimator's ``standardize``); otherwise X and
    times are read with it (prediction, continued training), and times must be
    given exactly when fit had them.

    Returns
    -------
    inputs : dict
        ``x`` (float32), ``lengths``, and ``step_scale`` with times.
    standardization : Standardization
    """
    X, lengths = check_sequences(
        X, table_check=table_check, n_features=n_features, n_channels=n_channels, name=name
    )
    if n_samples is not None and len(X) != n_samples:
        raise ValueError(
            f"X has {len(X)} samples but y has {n_samples}: give one target per sequence."
        )
    observed = observed_mask(lengths, X.shape[1])
    step_scale = None
    if standardization is None:
        # In float64, before the cast to float32: unit-free (offsets of 1e9 and scales
        # of 1e-13 or 1e18 standardize as well as unit data).
        x_mean, x_scale, x_offset = learned_statistics(X, observed, sample_weight, kind)
        time_step = None
        if times is not None:  # predict and continued training use the spacing learned here
            step_scale, time_step = check_times(times, X.shape[1], lengths)
        standardization = Standardization(x_mean, x_scale, time_step, x_offset)
    else:
        check_times_given(times, standardization.time_step is not None, name)
        if times is not None:
            step_scale, _ = check_times(
                times, X.shape[1], lengths, time_step=standardization.time_step
            )
    inputs = {
        "x": standardize(
            X, observed, standardization.x_mean, standardization.x_scale,
            standardization.offset(X.shape[1]),
        ),
        "lengths": lengths,
    }
    if step_scale is not None:
        inputs["step_scale"] = step_scale
    return inputs, standardization
