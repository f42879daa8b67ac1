"""One plan per training call; the modules below the estimator never touch it.

``fit`` and ``partial_fit`` work out a :class:`sknrnn._plan.FitPlan` (plain,
immutable values) and assign the fitted attributes from it in one place; the
lower modules receive values and return values: none of them writes an attribute
of the estimator, and a training call never climbs back into the estimator's
modules from below.
"""

import ast
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor
from sknrnn._plan import FitPlan, LoopSettings
from sknrnn._params import IN_LOOP

from conftest import TINY

PACKAGE = Path(__file__).resolve().parents[1] / "sknrnn"
ESTIMATOR_MODULES = {"sknrnn._base", "sknrnn._classes"}
# Below the estimator: what a training call goes down into.
LOWER = {
    "sknrnn._compat", "sknrnn._continued", "sknrnn._fused", "sknrnn._inference",
    "sknrnn._inputs", "sknrnn._net", "sknrnn._params", "sknrnn._plan", "sknrnn._sde",
    "sknrnn._triton", "sknrnn._validation",
}


def _calls(X, y, Estimator, **params):
    """fit, a warm-start fit with changed parameters, partial_fit, a save and load."""
    import pickle

    est = Estimator(**TINY, **params).fit(X, y)
    est.set_params(warm_start=True, noise_level=0.1, lr_schedule="constant").fit(X, y)
    est.partial_fit(X, y)
    return pickle.loads(pickle.dumps(est)).partial_fit(X, y)


WRITERS = set()  # (the module whose code assigned, the attribute)
READERS = set()  # (a module below the estimator whose code read, the attribute)


class _Spy:
    """Records which module's code assigns each attribute of the estimator, and reads
    of its attributes by the modules below it."""

    def __setattr__(self, name, value):
        WRITERS.add((sys._getframe(1).f_globals["__name__"], name))
        super().__setattr__(name, value)

    def __getattribute__(self, name):
        module = sys._getframe(1).f_globals.get("__name__", "")
        if module in LOWER:
            READERS.add((module, name))
        return super().__getattribute__(name)


class SpyClassifier(_Spy, NoisyRNNClassifier):
    pass


class SpyRegressor(_Spy, NoisyRNNRegressor):
    pass


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("Spy", [SpyClassifier, SpyRegressor])
def test_only_the_estimator_assigns_its_attributes(toy, Spy):
    X, y = toy
    WRITERS.clear()
    READERS.clear()
    _calls(X, y.astype(float) if Spy is SpyRegressor else y, Spy,
           early_stopping=True, validation_fraction=0.25)
    writers = set(WRITERS)
    modules = {module for module, _ in writers}
    # the estimator's own modules, scikit-learn's validate_data (n_features_in_) and
    # BaseEstimator's __setstate__ / set_params: never a module below the estimator
    assert modules & LOWER == set(), sorted(w for w in writers if w[0] in LOWER)
    assert READERS == set()  # they receive values, never the estimator
    assert {"sknrnn._base"} <= modules
    fitted = {name for module, name in writers if module == "sknrnn._base"}
    assert {"n_channels_in_", "_x_mean", "window_", "net_", "_built_params"} <= fitted


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_training_call_never_climbs_back_into_the_estimator(toy):
    X, y = toy
    climbs = []

    def profile(frame, event, arg):
        if event != "call" or frame.f_back is None:
            return
        callee = frame.f_globals.get("__name__", "")
        caller = frame.f_back.f_globals.get("__name__", "")
        if callee in ESTIMATOR_MODULES and caller in LOWER:
            climbs.append((caller, callee, frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        _calls(X, y, NoisyRNNClassifier, early_stopping=True, validation_fraction=0.25,
               verbose=0)
    finally:
        sys.setprofile(None)
    assert climbs == []


def test_the_lower_modules_take_no_estimator():
    # No function below the estimator has a parameter that is the estimator.
    for module in sorted(LOWER):
        tree = ast.parse((PACKAGE / f"{module.split('.')[1]}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = {a.arg for a in node.args.args + node.args.kwonlyargs}
                assert not names & {"est", "estimator"}, (module, node.name)


def test_the_plan_is_immutable_and_complete(toy):
    X, y = toy
    clf = NoisyRNNClassifier(**TINY)
    plan = clf._plan(X, y, epochs=None, reset=True, classes=None, partial=False,
                     sample_weight=None, times=None)
    assert isinstance(plan, FitPlan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.seed = 1
    for mapping in (plan.inputs, plan.equations, plan.module_kwargs, plan.params):
        with pytest.raises(TypeError):
            mapping["x"] = None
    assert plan.module_kwargs["hidden_size"] == TINY["hidden_size"]
    assert plan.epochs == plan.planned == TINY["max_iter"]
    assert plan.standardization.n_channels == 1
    np.testing.assert_allclose(plan.standardization.x_mean, [X.mean()])
    # the same plan, the same fit: the fitted model is the plan applied and trained
    fitted = NoisyRNNClassifier(**TINY).fit(X, y)
    assert fitted._seed == plan.seed and fitted._module_kwargs == dict(plan.module_kwargs)


def test_the_loop_settings_are_the_loop_parameters_and_the_rate():
    fields = {field.name for field in dataclasses.fields(LoopSettings)}
    assert fields == set(IN_LOOP) | {"learning_rate_init"}
