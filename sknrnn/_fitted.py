"""What the tools may read of a fitted estimator, in one function.

The perturbations, the diagnostics and the robustness tools take a fitted
sknrnn estimator (or a Pipeline or fitted search ending in one) and need its
torch module, X as the module reads it, y as the loss reads it, the scale of
the input standardization and the training loss. :func:`_fitted_model` hands
them these: the tools read no private attribute of the estimator themselves.
"""

from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from . import _net
from ._base import BaseNoisyRNN
from ._inference import module_device


def _is_passthrough(step):
    return step is None or (isinstance(step, str) and step == "passthrough")


def final_estimator(estimator, *, caller, require_passthrough=True, hint=""):
    """The fitted sknrnn estimator inside ``estimator``: itself, a Pipeline's last step, or
    a fitted search's ``best_estimator_`` (GridSearchCV and the like), recursively.

    ``require_passthrough``: the tool feeds X to the sknrnn estimator itself, so the
    Pipeline's other steps must leave X as it is. ``hint`` ends the error for
    other estimators.
    """
    if isinstance(estimator, Pipeline):
        if require_passthrough:
            for name, step in estimator.steps[:-1]:
                if not _is_passthrough(step):
                    raise TypeError(
                        f"{caller} cannot use this Pipeline: step {name!r} "
                        f"({type(step).__name__}) transforms X before the sknrnn estimator, "
                        f"and {caller} has no gradient or inverse through it. Pass the sknrnn "
                        f"estimator itself with X already transformed, e.g. {caller}(pipe[-1], "
                        "pipe[:-1].transform(X), ...), or use a Pipeline whose other steps are "
                        "'passthrough' or None (sknrnn estimators standardize X themselves, so a "
                        "scaler in front can usually be dropped)."
                    )
        return final_estimator(
            estimator.steps[-1][1], caller=caller, require_passthrough=require_passthrough,
            hint=hint,
        )
    if not isinstance(estimator, BaseNoisyRNN) and hasattr(estimator, "best_estimator_"):
        # A fitted search (GridSearchCV, ...) predicts with its best_estimator_.
        return final_estimator(
            estimator.best_estimator_, caller=caller, require_passthrough=require_passthrough,
            hint=hint,
        )
    if not isinstance(estimator, BaseNoisyRNN):
        raise TypeError(
            f"{caller} needs a fitted NoisyRNNClassifier or NoisyRNNRegressor (or a Pipeline "
            "ending in one, or a fitted search such as GridSearchCV, refit=True, whose "
            f"best_estimator_ is one); got {type(estimator).__name__}.{hint}"
        )
    check_is_fitted(estimator)
    return estimator


def _fitted_model(estimator, X=None, y=None, *, times=None, caller, hint="",
                  require_passthrough=True):
    """The parts of a fitted sknrnn estimator that a tool reads, as a Bunch.

    Parameters
    ----------
    estimator : estimator
        A fitted sknrnn estimator, or a Pipeline (other steps ``"passthrough"``)
        or fitted search ending in one (see :func:`final_estimator`).
    X : array-like or None
        Sequences, validated as ``predict`` validates them.
    y : array-like or None
        Targets, encoded as the training loss reads them (class indices, or
        the regressor's targets in their own units).
    times : array-like or None
        Observation times, as for ``predict``.
    caller : str
        The tool's name, for the error messages.
    hint : str
        Ends the error for estimators that are not sknrnn's.
    require_passthrough : bool
        Refuse a Pipeline whose other steps transform X (the tool feeds X to
        the sknrnn estimator itself); False for tools that read no X.

    Returns
    -------
    model : Bunch
        ``estimator`` (the sknrnn estimator), ``module`` (its torch module),
        ``device``; ``inputs`` (X standardized, as the dict of arrays the
        module takes) and ``targets`` (None without X, y); ``x_scale`` (the
        scale per channel by which X is divided, after its mean is
        subtracted: its standard deviation, or that of what its mean series
        leaves under ``standardize_="step"``);
        ``loss(outputs, targets)`` (the training loss of the module's outputs
        against encoded targets, a scalar tensor); ``fitted_with_times``
        (whether fit had observation times).
    """
    est = final_estimator(
        estimator, caller=caller, hint=hint, require_passthrough=require_passthrough
    )
    inputs = None if X is None else est._inputs(X, times)
    targets = None if y is None else est._prepare_targets(y, reset=False)[0]
    return Bunch(
        estimator=est,
        module=est.net_.module_,
        device=module_device(est.net_.module_),
        inputs=inputs,
        targets=targets,
        x_scale=est._x_scale,
        loss=lambda outputs, target: _net.loss(est.net_, outputs, target),
        fitted_with_times=getattr(est, "time_step_", None) is not None,
    )
