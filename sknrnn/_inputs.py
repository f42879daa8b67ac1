"""X and observation times as the module reads them: standardized, scaled.

Fit learns the statistics of X (weighted, in float64) and the spacing of its
observation times (a :class:`~sknrnn._plan.Standardization`); this module
computes and applies them, for training, prediction and the tools alike. It
takes and returns values: the estimator keeps the statistics.
"""

import numpy as np
from sklearn.utils.validation import _check_sample_weight

from ._plan import Standardization
from ._validation import check_times, mean_and_scale, observed_mask


def module_inputs(X, lengths, times, *, standardization=None, sample_weight=None,
                  name="estimator"):
    """The dict of arrays that the net's module takes, and the standardization it used.

    ``X`` and ``lengths`` come from :func:`sknrnn._validation.check_sequences`.
    ``standardization`` None learns it from this data (fit: weighted by
    ``sample_weight``, with the spacing of ``times``); otherwise X and times are
    read with it (prediction, continued training), and times must be given
    exactly when fit had them (``name`` names the estimator in that error). A
    ``sample_weight`` adds the validated weights (float64, key ``"sample_weight"``).

    Returns
    -------
    inputs : dict
    standardization : Standardization
    """
    observed = observed_mask(lengths, X.shape[1])
    weights = None
    if sample_weight is not None:
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    step_scale = None
    if standardization is None:
        # In float64, before the cast to float32: unit-free (offsets of 1e9 and scales
        # of 1e-13 or 1e18 standardize as well as unit data).
        step_weights = None if weights is None else np.broadcast_to(
            weights[:, None], observed.shape
        )[observed]
        x_mean, x_scale = mean_and_scale(X[observed], step_weights)
        time_step = None
        if times is not None:  # predict and continued training use the spacing learned here
            step_scale, time_step = check_times(times, X.shape[1], lengths)
        standardization = Standardization(x_mean, x_scale, time_step)
    else:
        _check_times_given(times, standardization.time_step is not None, name)
        if times is not None:
            step_scale, _ = check_times(
                times, X.shape[1], lengths, time_step=standardization.time_step
            )
    inputs = {"x": _standardize(X, observed, standardization), "lengths": lengths}
    if weights is not None:
        inputs["sample_weight"] = weights
    if step_scale is not None:
        inputs["step_scale"] = step_scale
    return inputs, standardization


def _check_times_given(times, fitted_with_times, name):
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


def _standardize(X, observed, standardization):
    """X (float64, 3D) standardized with the statistics of fit, as float32; padding 0."""
    with np.errstate(over="ignore"):
        Z = ((X - standardization.x_mean) / standardization.x_scale).astype(np.float32)
    Z[~observed] = 0.0
    if not np.isfinite(Z).all():
        raise ValueError(
            "X has values more than 3e38 standard deviations (those of the data given to "
            "fit) away from the mean of fit: check the units of X."
        )
    return Z
