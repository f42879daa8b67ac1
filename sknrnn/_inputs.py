"""X and observation times as the module reads them: checked, standardized, scaled.

Fit learns the statistics of X (weighted, in float64) and the spacing of its
observation times (a :class:`~sknrnn._plan.Standardization`); this module
checks X, computes and applies them, for training, prediction and the tools
alike, through the checks and statistics of ``_validation.py``. It takes and
returns values: the estimator keeps the statistics.
"""

from ._plan import Standardization, auto_standardize
from ._validation import (
    check_sequences, check_times, check_times_given, observed_mask, standardize,
    standardization_statistics,
)


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
        x_mean, x_scale, x_offset, left_scale = standardization_statistics(
            X, observed, sample_weight, steps=kind != "channel"
        )
        if auto_standardize(kind, x_scale, left_scale) == "step":
            x_scale = left_scale  # what the mean series leaves, at unit scale
        else:
            x_offset = None
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
