"""The scikit-learn estimator shared by the classifier and the regressor.

``BaseNoisyRNN`` holds the parameters (their table: ``_params.py``) and turns
them, with the data of each training call, into one plan (``_plan.FitPlan``:
the arguments of :class:`sknrnn._sde.NoisyRNN`, the training budget, the seed
of the random streams, X (and times) checked and standardized, the loop's
settings) from which it assigns its fitted attributes in one place. A
training call goes down once: y, its weights and the split first, then X
through ``_inputs.py`` and ``_validation.py`` into the plan, which comes back
to be assigned; the modules below receive values and return values. It trains
through ``_net.py`` (the only module that knows skorch; the net is a fitted
attribute, so ``get_params`` shows only sknrnn's parameters), predicts through
``_inference.py``, and saves as plain arrays (older saves: ``_compat.py``).
"""

import warnings
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    _check_sample_weight, check_is_fitted, validate_data,
)

from . import _net
from ._compat import upgrade_saved_state
from ._continued import apply_params, changed_params, tracked_params
from ._inference import deterministic_outputs
from ._inputs import module_inputs
from ._params import ACCELERATORS, IN_MODULE, device_type, parameter_constraints
from ._plan import LoopSettings, Standardization, plan_call, training_budget
from ._sde import NoisyRNN


def _noise_pair(noise_type, level):
    """``(additive, multiplicative)`` levels as ``noise_level`` (``level``) gives them.

    The rule of the estimators, which accept a pair only with
    ``noise_type="mixed"`` (or ``"none"``, whose levels a grid may pair with
    anything). :func:`sknrnn._sde.noise_levels`, called by the module, decides
    which of them ``noise_type`` uses: ``"none"`` none.
    """
    if isinstance(level, (tuple, list)):
        if noise_type not in ("mixed", "none"):
            raise ValueError(
                "noise_level may be an (additive, multiplicative) pair only with "
                f"noise_type='mixed'; got noise_level={level!r} with "
                f"noise_type={noise_type!r}. Pass a single float otherwise."
            )
        return float(level[0]), float(level[1])
    return float(level), float(level)


def _available(kind):
    """Whether torch can put weights on a device of type ``kind`` on this machine."""
    if kind == "cpu":
        return True
    backend = torch
    for part in ACCELERATORS[kind][1].split("."):
        backend = getattr(backend, part, None)
    return backend is not None and backend.is_available()


def resolve_device(device, *, warn=False):
    """Map ``"auto"`` to CUDA when available, and an unavailable device to the CPU.

    A CUDA, MPS or XPU device on a machine without one is the CPU. ``warn``: say
    so (a UserWarning) when that happens: training calls warn; loading a model
    trained on a GPU does not.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    kind = device_type(device)  # one of DEVICE_TYPES: the constraints of _params.py checked it
    if _available(kind):
        return device
    if warn:
        name, backend, how = ACCELERATORS[kind]
        warnings.warn(
            f"device={device!r}, but {name} is not available here "
            f"(torch.{backend}.is_available() is False): "
            "training on the CPU. Pass device='cpu' or 'auto' to train on the CPU without "
            f"this warning, or {how} to train on the GPU.",
            UserWarning,
            stacklevel=4,
        )
    return "cpu"


class BaseNoisyRNN(BaseEstimator, metaclass=ABCMeta):
    """Base class for noisy RNN estimators. Use the classifier or the regressor."""

    # The table of _params.py: each parameter's constraints, role, legacy value and docs.
    _parameter_constraints: dict = parameter_constraints()

    def __init__(
        self,
        hidden_size=64,
        *,
        noise_type="mixed",
        noise_level=0.2,
        noise_increment="rademacher",
        solver="euler",
        dt="auto",
        learn_dt=True,
        window="auto",
        bidirectional=True,
        augment=0.0,
        standardize="auto",
        input_clip=3.0,
        readout="mean",
        beta=0.75,
        gamma=0.001,
        linear_weight=1.0,
        max_iter="auto",
        batch_size="auto",
        learning_rate_init=0.005,
        lr_schedule="cosine",
        clip_grad_norm=1.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        verbose=0,
        device="auto",
        warm_start=False,
        callbacks=None,
        module=None,
    ):
        self.hidden_size = hidden_size
        self.noise_type = noise_type
        self.noise_level = noise_level
        self.noise_increment = noise_increment
        self.solver = solver
        self.dt = dt
        self.learn_dt = learn_dt
        self.window = window
        self.bidirectional = bidirectional
        self.augment = augment
        self.standardize = standardize
        self.input_clip = input_clip
        self.readout = readout
        self.beta = beta
        self.gamma = gamma
        self.linear_weight = linear_weight
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.lr_schedule = lr_schedule
        self.clip_grad_norm = clip_grad_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.module = module

    # -- what the subclasses define -----------------------------------------
    # What y holds, for the error when it is missing ("pass ... of each sequence").
    _TARGET_NAME = "the target"

    @abstractmethod
    def _prepare_targets(self, y, *, reset, classes=None, sample_weight=None):
        """Validate and encode y for training; return ``(targets, n_outputs)``.

        ``reset=True`` learns the encoding (classes, target scaling) from y (or
        from ``classes``; the scaling weighted by ``sample_weight``);
        ``reset=False`` applies the one learned before.
        """

    def _target_scaling(self):
        """The targets' ``(mean, scale)`` for the regressor's loss; None for a classifier."""
        return None

    def _loss_weights(self, sample_weight, targets, *, reset, partial):
        """The weight of each sequence in the loss; the classifier adds class_weight."""
        return sample_weight

    def _check_y_given(self, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                f"pass {self._TARGET_NAME} of each sequence."
            )

    # -- parameters -> the module's arguments (fit, warm start; load reads them back) --
    def _equation_arguments(self):
        """The constants of the module's equations (``NoisyRNN.configure``), from the
        parameters: a fitted module takes them in place."""
        add, mult = _noise_pair(self.noise_type, self.noise_level)
        return dict(
            noise_type=self.noise_type,
            noise_additive=add,
            noise_multiplicative=mult,
            noise_increment=self.noise_increment,
            solver=self.solver,
            beta=self.beta,
            gamma_a=self.gamma,
            gamma_w=self.gamma,
            linear_weight=self.linear_weight,
        )

    def _reading_arguments(self):
        """How the module reads its input (its attributes ``augment``, ``input_clip``):
        a fitted module takes them in place."""
        return dict(
            augment=float(self.augment),
            input_clip=None if self.input_clip is None else float(self.input_clip),
        )

    def _module_class(self):
        """The class of the recursion's module: ``module``, or :class:`NoisyRNN` when None."""
        return NoisyRNN if self.module is None else self.module

    # -- random streams ---------------------------------------------------------
    def _draw_seed(self):
        """The seed of a fit, drawn from ``random_state`` (every stream derives from it)."""
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    # -- fit / predict --------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, times=None):
        """Fit the model to sequences X and targets y.

        With ``warm_start=True`` and a fitted model, training goes on from the
        current weights for ``max_iter`` more epochs, with the parameters as
        they are now (see ``set_params``: those that shape the weights cannot
        change on a fitted model): a new fit from the fitted weights, with its
        own learning-rate schedule from ``learning_rate_init`` (Adam's moments
        are kept) and, with ``early_stopping``, its own validation set. A call
        that raises before training starts leaves a fitted model as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
            Sequences; unequal lengths are NaN-padded at the end.
        y : array-like of shape (n_samples,), or (n_samples, n_outputs) for the regressor
            Targets: class labels (the classifier takes one per sequence), or
            target values (the regressor takes one or several outputs).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sequence in the loss (only the ratios
            between the weights of a call count): training minimizes the
            weighted mean loss, and the input (and target) standardization
            uses weighted statistics. None: equal weights.
        times : array-like of shape (n_samples, n_timesteps), default=None
            Observation time of each step (irregular sampling), strictly
            increasing along each sequence, NaN at padded steps. The step that
            reads observation ``k`` then spans ``dt * (t_k - t_{k-1}) /
            time_step_``, where ``time_step_`` is the median spacing of these
            times. None: evenly spaced steps. A model fitted with times needs
            times at prediction too.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        restart = not (self.warm_start and hasattr(self, "net_"))
        return self._fit(
            X, y, epochs=None, reset=restart, sample_weight=sample_weight, times=times
        )

    def _partial_fit(self, X, y, classes=None, sample_weight=None, times=None):
        if hasattr(self, "net_"):
            # _fit_context validates the parameters of a first partial_fit only; the
            # later calls apply the parameters as they are now, so they check them too.
            self._validate_params()
        return self._fit(
            X, y, epochs=1, reset=not hasattr(self, "net_"), classes=classes,
            partial=True, sample_weight=sample_weight, times=times,
        )

    # -- X as the module reads it ------------------------------------------------
    def _table_check(self, reset):
        """scikit-learn's check of a 2D table against fit (``n_features_in_``, feature
        names), as ``_validation.check_sequences`` calls it, NaN allowed."""
        return partial(
            validate_data, self, reset=reset, dtype=(np.float64, np.float32),
            ensure_all_finite=False, allow_nd=True,
        )

    def _standardization(self):
        """What fit learned of X, as the Standardization that ``module_inputs`` reads."""
        return Standardization(
            self._x_mean, self._x_scale, getattr(self, "time_step_", None), self._x_offset
        )

    def _inputs(self, X, times=None):
        """X (and times) as the fitted module reads them: see ``_inputs.module_inputs``."""
        check_is_fitted(self)
        inputs, _ = module_inputs(
            X, times, standardization=self._standardization(),
            table_check=self._table_check(reset=False), n_features=self.n_features_in_,
            n_channels=self.n_channels_in_, name=type(self).__name__,
        )
        return inputs

    # -- a training call: its plan, the attributes it assigns, the training ------
    def _fit(self, X, y, *, epochs, reset, classes=None, partial=False, sample_weight=None,
             times=None):
        """Train: fit (``reset``), a warm-start fit, or ``partial_fit`` (``partial``).

        Everything the call needs is worked out before training starts, into one
        :class:`~sknrnn._plan.FitPlan` (``_plan``); the fitted attributes are then
        assigned from it in one place (``_apply``). If anything before training
        raises, the estimator's attributes are put back as they were (scikit-learn's
        ``validate_data`` and the target encodings assign theirs while they check):
        a call that fails before training leaves the fitted model exactly as it was.
        """
        with self._restored_on_error():
            plan = self._plan(
                X, y, epochs=epochs, reset=reset, classes=classes, partial=partial,
                sample_weight=sample_weight, times=times,
            )
            self._apply(plan)
        before = self.n_iter_
        held_out = self._validation_held_out
        try:
            _net.train(
                self.net_, dict(plan.inputs), plan.targets, epochs=plan.epochs,
                batch_size=plan.batch_size, partial=partial,
                learning_rate=plan.loop.learning_rate_init,
            )
        finally:  # a diverged fit too: n_iter_, loss_curve_ and the history agree
            # (best_loss_: None when this call held out a validation set; partial_fit
            # never holds one out)
            self.n_iter_, self.loss_curve_, self.best_loss_ = _net.history_summary(
                self.net_, held_out=held_out and not partial
            )
        if not partial and self.n_iter_ - before == plan.epochs:
            _net.warn_if_still_improving(
                self.net_, plan.loop, plan.epochs, held_out=held_out, name=type(self).__name__
            )
        return self

    def _plan(self, X, y, *, epochs, reset, classes, partial, sample_weight, times):
        """The FitPlan of a training call: the parameters and the data, checked and decided.

        The checks of the parameters, X, y, the weights and the times, the classes,
        the input statistics, the validation split, the budget and the module's
        arguments. Assigns nothing but what scikit-learn's checks of X and y assign.
        """
        params = self.get_params(deep=False)
        equations, reading = self._equation_arguments(), self._reading_arguments()
        device = resolve_device(self.device, warn=True)
        tracked = tracked_params(params)
        changed = frozenset()
        if not reset:  # refuse what cannot change on a fitted model
            built = getattr(self, "_built_params", None)  # None: saved before it was kept
            changed = changed_params(
                tracked if built is None else built, tracked,
                chosen={"window": self.window_, "standardize": self.standardize_},
                name=type(self).__name__,
            )
        loop = LoopSettings.of(params)
        # y, its weights and the split first: X then goes down once, and what comes of
        # it (its checks, statistics and lengths) into the plan's rules.
        self._check_y_given(y)
        weights = None if sample_weight is None else _check_sample_weight(
            sample_weight, y, dtype=np.float64, ensure_non_negative=True
        )
        targets, n_outputs = self._prepare_targets(
            y, reset=reset, classes=classes, sample_weight=weights
        )
        n_samples = len(targets)
        loss_weights = self._loss_weights(
            np.ones(n_samples) if weights is None else weights, targets, reset=reset,
            partial=partial,
        )
        classes_ = getattr(self, "classes_", None)
        seed = self._draw_seed() if reset or "random_state" in changed else self._seed
        # fit (a warm-start fit too) holds out a validation set under early_stopping;
        # partial_fit never does.
        split = None if partial else _net.checked_validation_split(loop, targets, classes_, seed)
        # Minibatches sized for this call's data, and the epochs it plans.
        held_out = 0 if split is None else _net.n_held_out(loop.validation_fraction, n_samples)
        batch_size, planned = training_budget(
            self.batch_size, self.max_iter, n_samples - held_out
        )
        inputs, standardization = module_inputs(
            X, times, standardization=None if reset else self._standardization(),
            sample_weight=weights, n_samples=n_samples, kind=self.standardize,
            table_check=self._table_check(reset),
            n_features=None if reset else self.n_features_in_,
            n_channels=None if reset else self.n_channels_in_, name=type(self).__name__,
        )
        inputs["sample_weight"] = (loss_weights / loss_weights.mean()).astype(np.float32)
        return plan_call(
            params, inputs, reset=reset, partial=partial, targets=targets,
            standardization=standardization, n_outputs=n_outputs,
            n_classes=0 if classes_ is None else n_outputs, seed=seed, split=split,
            batch_size=batch_size, epochs=planned if epochs is None else epochs,
            planned=planned, device=device, loop=loop, equations=equations,
            reading=reading, changed=changed, tracked=tracked,
        )

    def _apply(self, plan):
        """Assign the fitted attributes of a training call from its plan: the one place."""
        self._seed = plan.seed
        if not plan.reset:
            # Go on from the current weights, with the parameters as they are now.
            if plan.changed.intersection(IN_MODULE):
                self._module_kwargs = {**self._module_kwargs, **plan.equations, **plan.reading}
            self._validation_held_out = apply_params(
                self.net_, plan, epochs=self._schedule_epochs
            )
            if not plan.partial:  # a warm-start fit: a schedule of its own
                self._schedule_epochs = plan.planned
                _net.restart_schedule(self.net_, plan.loop.learning_rate_init, plan.planned)
        else:
            self.n_channels_in_ = plan.standardization.n_channels
            self._x_mean = plan.standardization.x_mean
            self._x_scale = plan.standardization.x_scale
            self._x_offset = plan.standardization.x_offset
            self.standardize_ = plan.standardization.kind
            self.time_step_ = plan.standardization.time_step
            # Plain settings from which the module is rebuilt when a saved model is loaded.
            self._module_kwargs = dict(plan.module_kwargs)
            self.window_ = plan.module_kwargs["window"]
            # partial_fit trains without a validation set (its first call included): the
            # net keeps what it was built with, and a saved model is rebuilt with the same.
            self._validation_held_out = plan.split is not None
            # The cosine schedule spans the epochs that the fit plans (kept on save).
            self._schedule_epochs = plan.planned
            self.n_iter_ = 0
            self.net_ = _net.build_net(
                plan.loop,
                _net.new_module(self._module_class(), plan.module_kwargs, plan.seed, plan.device),
                batch_size=plan.batch_size, epochs=plan.planned, split=plan.split,
                n_classes=plan.n_classes, target_scaling=self._target_scaling(),
                seed=plan.seed, device=plan.device,
            )
        self._built_params = dict(plan.params)
        # The noise of this call's own stream (a function of the seed and the epochs run
        # so far: a saved and loaded model goes on with the same noise).
        _net.seed_noise(self.net_.module_, self._seed, self.n_iter_)

    @contextmanager
    def _restored_on_error(self):
        """Put every attribute of the estimator back as it was if the block raises."""
        before = dict(vars(self))
        try:
            yield
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    def _deterministic_outputs(self, X, times=None):
        """The module's deterministic outputs on X (standardized), float64, in batches."""
        inputs = self._inputs(X, times)  # checks that the model is fitted
        return deterministic_outputs(self.net_.module_, inputs)

    # -- persistence: weights as plain arrays, settings as plain values ----------
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never strip the live object
        net = state.pop("net_", None)
        if net is not None:
            state.update(_net.net_state(net))
        return state

    def __setstate__(self, state):
        saved_net = {key: state.pop(key, None) for key in (
            "_module_state", "_history", "_optimizer_state", "_shuffle_state"
        )}
        module_state = saved_net["_module_state"]
        upgrade_saved_state(state, module_state)  # saves of 0.1 to 0.4
        super().__setstate__(state)
        if module_state is None:
            return
        device = resolve_device(self.device)
        module = _net.loaded_module(
            self._module_class(), self._module_kwargs, module_state, device
        )
        n_classes = len(self.classes_) if hasattr(self, "classes_") else 0
        self.net_ = _net.restore_net(
            LoopSettings.of(self.get_params(deep=False)), module, saved_net,
            split=(
                _net.validation_split(self.validation_fraction, n_classes, self._seed)
                if self._validation_held_out else None
            ),
            n_classes=n_classes, target_scaling=self._target_scaling(), seed=self._seed,
            device=device, epochs=self._schedule_epochs,
        )

    @property
    def module_(self):
        """The fitted torch module (:class:`sknrnn._sde.NoisyRNN`)."""
        check_is_fitted(self)
        return self.net_.module_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # NaN is allowed only as end padding, not anywhere: keep allow_nan False.
        tags.input_tags.three_d_array = True
        return tags
