"""X and observation times as the module reads them: checked, standardized, scaled.

The estimator's statistics of X (weighted, in float64, learned in fit) and the
spacing of its observation times live on the estimator; this module computes
and applies them, for training, prediction and the tools alike.
"""

import numpy as np
from sklearn.utils.validation import _check_sample_weight

from ._validation import check_sequences, check_times, mean_and_scale, observed_mask


def module_inputs(est, X, times, *, reset, sample_weight=None):
    """Validated X (and times) as the dict of arrays that the net's module takes.

    Training (``reset`` or a ``sample_weight``) adds the validated weights
    (float64, key ``"sample_weight"``); fit's statistics of X are weighted.
    """
    X, lengths = check_sequences(est, X, reset=reset)
    observed = observed_mask(lengths, X.shape[1])
    weights = None
    if sample_weight is not None:
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    if reset:
        # In float64, before the cast to float32: unit-free (offsets of 1e9 and scales
        # of 1e-13 or 1e18 standardize as well as unit data).
        step_weights = None if weights is None else np.broadcast_to(
            weights[:, None], observed.shape
        )[observed]
        est._x_mean, est._x_scale = mean_and_scale(X[observed], step_weights)
    inputs = {"x": _standardize(est, X, observed), "lengths": lengths}
    if weights is not None:
        inputs["sample_weight"] = weights
    fitted_with_times = getattr(est, "time_step_", None) is not None
    if reset:
        est.time_step_ = None
    elif times is None and fitted_with_times:
        raise ValueError(
            f"This {type(est).__name__} was fitted with observation times: pass times= "
            "here too. In GridSearchCV or cross_validate, enable metadata routing "
            "(sklearn.set_config(enable_metadata_routing=True)) and request them: "
            "estimator.set_fit_request(times=True).set_score_request(times=True)."
        )
    elif times is not None and not fitted_with_times:
        raise ValueError(
            f"This {type(est).__name__} was fitted without observation times (evenly "
            "spaced steps), so times have no spacing to refer to: fit with times= to "
            "use them, or leave them out here."
        )
    if times is not None:
        inputs["step_scale"], time_step = check_times(
            times, X.shape[1], lengths, time_step=None if reset else est.time_step_
        )
        if reset:  # predict and continued training use the spacing learned here
            est.time_step_ = time_step
    return inputs


def _standardize(est, X, observed):
    """X (float64, 3D) standardized with the statistics of fit, as float32; padding 0."""
    with np.errstate(over="ignore"):
        Z = ((X - est._x_mean) / est._x_scale).astype(np.float32)
    Z[~observed] = 0.0
    if not np.isfinite(Z).all():
        raise ValueError(
            "X has values more than 3e38 standard deviations (those of the data given to "
            "fit) away from the mean of fit: check the units of X."
        )
    return Z
