"""The scikit-learn estimator shared by the classifier and the regressor.

``BaseNoisyRNN`` holds the parameters and turns them into what the rest
needs: the arguments of :class:`sknrnn._sde.NoisyRNN` (one translation, used by
fit, warm start and load), the training budget (the ``_AUTO_*`` constants
below), the random streams, X (and times) checked and standardized. It trains
through ``_net.py`` (the only module that knows skorch; the net is a fitted
attribute, so ``get_params`` shows only sknrnn's parameters), predicts through
``_inference.py``, and saves as plain arrays (older saves: ``_compat.py``).
"""

import math
import warnings
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from sklearn.utils._param_validation import Interval, StrOptions

from . import _net
from ._compat import upgrade_saved_state
from ._continued import apply_params, changed_params, tracked_params
from ._inference import deterministic_outputs, module_device
from ._inputs import module_inputs
from ._sde import NOISE_INCREMENTS, NOISE_TYPES, READOUTS, SOLVERS, NoisyRNN

# The adaptive training budget (batch_size="auto", max_iter="auto"), chosen by
# measurement on the development suite (benchmarks/accuracy.py): minibatches of
# n / 16 sequences between 8 and 64, and as many epochs as give about
# _AUTO_STEPS optimizer steps, between _AUTO_EPOCHS[0] and _AUTO_EPOCHS[1].
_AUTO_BATCH = (16, 8, 64)  # (divisor of n, smallest, largest)
_AUTO_STEPS = 2000
_AUTO_EPOCHS = (10, 1000)
# window="auto": as many observations per step as give a recurrence of at most
# _AUTO_WINDOW_STEPS steps. dt="auto" for a recurrence of S steps: per-unit steps
# spread over (1 / S, 1) when S > _AUTO_DT_RANGE (None: never), else one step
# min(1, 64 / S) (1 for S <= 64).
_AUTO_WINDOW_STEPS = 128
_AUTO_DT_RANGE = 64

# Screen only (issue 26), off when 0: the additive training noise relative to each
# unit's running state scale, at this level (NoisyRNN.set_noise_relative).
_AUTO_NOISE_RELATIVE = 0.0
# With it: measure the state scale on a noiseless pass (True) or on the noisy states (False).
_AUTO_NOISE_RELATIVE_CLEAN = False

_AUTO_NAMES = ("_AUTO_BATCH", "_AUTO_STEPS", "_AUTO_EPOCHS", "_AUTO_WINDOW_STEPS", "_AUTO_DT_RANGE",
               "_AUTO_NOISE_RELATIVE", "_AUTO_NOISE_RELATIVE_CLEAN")


@contextmanager
def auto_budget(**values):
    """Set some of the ``_AUTO_*`` constants above for the block, then put them back.

    The supported way for benchmarks and tests to try other budgets: the
    constants are read by every training call, so the fits inside the block
    use the values given, e.g. ``with auto_budget(_AUTO_STEPS=4000): est.fit(X, y)``.
    Not thread-safe: the constants are module globals.

    Examples
    --------
    >>> from sknrnn import _base
    >>> with _base.auto_budget(_AUTO_STEPS=100):
    ...     _base._AUTO_STEPS
    100
    >>> _base._AUTO_STEPS == 100
    False
    """
    unknown = sorted(set(values) - set(_AUTO_NAMES))
    if unknown:
        raise ValueError(f"auto_budget sets only {', '.join(_AUTO_NAMES)}; got {unknown}.")
    module = globals()
    before = {name: module[name] for name in values}
    module.update(values)
    try:
        yield
    finally:
        module.update(before)


def _typical_length(lengths):
    """The length that the "auto" rules read: the median of the sequences' lengths.

    Not the padded length: one long sequence among short ones must not make
    every short one a single step of wide windows.
    """
    return int(math.ceil(np.median(lengths)))


def _auto_window(window, n_steps):
    """Observations per recurrence step: ``window``, or the "auto" rule on ``n_steps``."""
    if window == "auto":
        return max(1, math.ceil(n_steps / _AUTO_WINDOW_STEPS)) if _AUTO_WINDOW_STEPS else 1
    return int(window)


# The smallest normal float32 number: the module computes in float32, where a step
# or clip below it is 0 or has lost its precision.
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def _check_float32(name, value, smallest, advice):
    """Refuse a parameter whose ``smallest`` value is below float32's smallest normal number."""
    if smallest < _FLOAT32_TINY:
        raise ValueError(
            f"{name}={value!r} is below {_FLOAT32_TINY:.2g}, the smallest normal float32 "
            "number: the model computes in float32, where it is 0 or has lost its "
            f"precision. Pass {name} of at least {_FLOAT32_TINY:.2g}{advice}."
        )


def _auto_dt(dt, n_steps):
    """The initial step (or range of steps) for a recurrence of ``n_steps`` steps."""
    if isinstance(dt, str):  # "auto"
        if _AUTO_DT_RANGE is not None and n_steps > _AUTO_DT_RANGE:
            return (1.0 / n_steps, 1.0)
        # A total integration time of about 64 time units, steps at most 1.
        return min(1.0, 64.0 / max(n_steps, 1))
    if isinstance(dt, (tuple, list)):
        if len(dt) != 2 or not all(
            isinstance(v, Real) and math.isfinite(v) and v > 0 for v in dt
        ) or dt[0] > dt[1]:
            raise ValueError(
                "dt must be 'auto', a positive float, or a (dt_min, dt_max) range of "
                f"positive floats with dt_min <= dt_max; got {dt!r}."
            )
        _check_float32("dt", dt, dt[0], "")
        return (float(dt[0]), float(dt[1]))
    _check_float32("dt", dt, dt, ' (or "auto")')
    return float(dt)


def training_budget(batch_size, max_iter, n_samples):
    """``(batch_size, epochs)`` of a training call on ``n_samples`` sequences.

    Both are functions of the data of each call (``fit``, a warm-start ``fit``,
    ``partial_fit``), never of an earlier call: ``batch_size="auto"`` takes
    ``n / 16`` sequences, between 8 and 64; ``max_iter="auto"`` runs as many
    epochs as give about 2000 optimizer steps, between 10 and 1000 epochs, so
    that a small set trains to convergence and a large one stops early (the
    ``_AUTO_*`` constants).
    """
    if batch_size == "auto":
        divisor, smallest, largest = _AUTO_BATCH
        batch_size = max(smallest, min(largest, n_samples // divisor))
    else:
        batch_size = int(batch_size)  # numpy integers too
    batch_size = min(batch_size, n_samples)
    if max_iter != "auto":
        return batch_size, int(max_iter)
    steps_per_epoch = math.ceil(n_samples / batch_size)
    lo, hi = _AUTO_EPOCHS
    return batch_size, max(lo, min(hi, math.ceil(_AUTO_STEPS / steps_per_epoch)))


def _noise_pair(noise_type, level):
    """``(additive, multiplicative)`` levels as ``noise_level`` (``level``) gives them.

    :func:`sknrnn._sde.noise_levels`, called by the module, decides which of
    them ``noise_type`` uses (and checks their values): here only the rule
    of the estimators, a pair only with ``noise_type="mixed"``.
    """
    if noise_type != "none" and isinstance(level, (tuple, list)):
        if noise_type != "mixed":
            raise ValueError(
                "noise_level may be an (additive, multiplicative) pair only with "
                f"noise_type='mixed'; got noise_level={level!r} with "
                f"noise_type={noise_type!r}. Pass a single float otherwise."
            )
        if len(level) != 2:
            raise ValueError(
                "noise_level for noise_type='mixed' is a float (both levels) or an "
                f"(additive, multiplicative) pair; got {len(level)} values {level!r}."
            )
    if noise_type == "none":
        return 0.0, 0.0  # no noise, whatever the level (a grid may pair them)
    return tuple(level) if isinstance(level, (tuple, list)) else (level, level)


def _sub_seed(seed, *stream):
    """A 63-bit seed for one random stream of a fit, derived from the estimator's seed."""
    state = np.random.SeedSequence([seed, *stream]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


# The random streams of a fit, each seeded from the estimator's seed.
_INIT, _NOISE = 0, 1


# The accelerators: their name, the torch module whose is_available() says one is
# here, and how to get one.
_ACCELERATORS = {
    "cuda": ("CUDA", "cuda", "install a CUDA build of torch"),
    "mps": ("MPS", "backends.mps", "run on a Mac with Apple silicon"),
    "xpu": ("XPU", "xpu", "install an XPU build of torch"),
}
_DEVICE_TYPES = ("cpu", *_ACCELERATORS)


def _available(kind):
    """Whether torch can put weights on a device of type ``kind`` on this machine."""
    if kind == "cpu":
        return True
    backend = torch
    for part in _ACCELERATORS[kind][1].split("."):
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
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError, ValueError):
        kind = None
    if kind not in _DEVICE_TYPES:
        raise ValueError(
            f"device must be 'auto' or a torch device that holds weights, such as 'cpu', "
            f"'cuda' or 'cuda:1' (lower case); got {device!r}."
        )
    if _available(kind):
        return device
    if warn:
        name, backend, how = _ACCELERATORS[kind]
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

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "noise_type": [StrOptions(set(NOISE_TYPES))],
        "noise_level": [Interval(Real, 0, None, closed="left"), tuple, list],
        "noise_increment": [StrOptions(set(NOISE_INCREMENTS))],
        "solver": [StrOptions(set(SOLVERS))],
        "dt": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), tuple, list],
        "window": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "bidirectional": ["boolean"],
        "augment": [Interval(Real, 0, 0.5, closed="left")],
        "input_clip": [Interval(Real, 0, None, closed="neither"), None],
        "readout": [StrOptions(set(READOUTS))],
        "learn_dt": ["boolean"],
        "beta": [Interval(Real, 0, 1, closed="both")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "linear_weight": [Interval(Real, None, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [str],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
    }

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
        """The module's constants from the parameters: what a fitted module may change."""
        add, mult = _noise_pair(self.noise_type, self.noise_level)
        if self.input_clip is not None:
            _check_float32("input_clip", self.input_clip, self.input_clip,
                           " (None reads the input unclipped)")
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
            augment=float(self.augment),
            input_clip=None if self.input_clip is None else float(self.input_clip),
        )

    def _module_arguments(self, n_steps, n_channels, n_outputs):
        """All the arguments of :class:`NoisyRNN` for data of ``n_steps`` steps."""
        window = _auto_window(self.window, n_steps)
        return dict(
            input_size=n_channels,
            hidden_size=int(self.hidden_size),
            output_size=n_outputs,
            dt=_auto_dt(self.dt, math.ceil(n_steps / window)),
            learn_dt=self.learn_dt,
            window=window,
            bidirectional=bool(self.bidirectional),
            readout=self.readout,
            **self._equation_arguments(),
        )

    def _build_module(self, n_steps, n_channels, n_outputs, seed, device):
        # Plain settings from which the module is rebuilt when a saved model is loaded.
        self._module_kwargs = self._module_arguments(n_steps, n_channels, n_outputs)
        self.window_ = self._module_kwargs["window"]
        # Built on the meta device (nothing drawn), then initialized from the
        # estimator's own generator: torch's global generator is never touched.
        with torch.device("meta"):
            module = NoisyRNN(**self._module_kwargs)
        module = module.to_empty(device=device)
        module.reset_parameters(torch.Generator().manual_seed(_sub_seed(seed, _INIT)))
        if _AUTO_NOISE_RELATIVE:  # screen only: relative additive noise
            module.set_noise_relative(_AUTO_NOISE_RELATIVE, clean=_AUTO_NOISE_RELATIVE_CLEAN)
        return module

    # -- random streams ---------------------------------------------------------
    def _draw_seed(self):
        """The seed of a fit, drawn from ``random_state`` (every stream derives from it)."""
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _seed_noise(self):
        """Give the module its own noise generator, seeded for the next training call.

        Each call (fit, or each continued fit / partial_fit) draws its noise from
        a stream of its own, a function of the estimator's seed and of the epochs
        run so far: a saved and loaded model goes on with the same noise.
        """
        module = self.net_.module_
        generator = torch.Generator(device=module_device(module))
        module.generator = generator.manual_seed(
            _sub_seed(self._seed, _NOISE, getattr(self, "n_iter_", 0))
        )

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

    def _inputs(self, X, times, *, reset, sample_weight=None):
        """X (and times) as the module reads them: see ``_inputs.module_inputs``."""
        return module_inputs(self, X, times, reset=reset, sample_weight=sample_weight)

    def _fit(self, X, y, *, epochs, reset, classes=None, partial=False, sample_weight=None,
             times=None):
        """Train: fit (``reset``), a warm-start fit, or ``partial_fit`` (``partial``).

        Everything the call needs (the checks of the parameters, X, y, the weights
        and the times, the classes, the input statistics, the validation split and
        the budget) is worked out before training starts, and the estimator's
        attributes are put back as they were if any of it raises: a call that fails
        before training leaves the fitted model exactly as it was.
        """
        with self._restored_on_error():
            equations = self._equation_arguments()
            _net.check_callbacks(self.callbacks)
            device = resolve_device(self.device, warn=True)
            # Refuse what cannot change on a fitted model.
            changed = set() if reset else changed_params(self)
            inputs = self._inputs(X, times, reset=reset, sample_weight=sample_weight)
            n_samples = len(inputs["x"])
            weights = inputs.pop("sample_weight", None)
            self._check_y_given(y)
            targets, n_outputs = self._prepare_targets(
                y, reset=reset, classes=classes, sample_weight=weights
            )
            if len(targets) != n_samples:
                raise ValueError(
                    f"X has {n_samples} samples but y has {len(targets)}: give one target per "
                    "sequence."
                )
            weights = np.ones(n_samples) if weights is None else weights
            weights = self._loss_weights(weights, targets, reset=reset, partial=partial)
            inputs["sample_weight"] = (weights / weights.mean()).astype(np.float32)  # only ratios
            n_classes = n_outputs if hasattr(self, "classes_") else 0
            seed = self._draw_seed() if reset or "random_state" in changed else self._seed
            # fit (a warm-start fit too) holds out a validation set under early_stopping;
            # partial_fit never does.
            split = (
                None if partial else _net.checked_validation_split(self, targets, n_classes, seed)
            )
            # Minibatches sized for this call's data, and the epochs it plans.
            held_out = (
                _net.n_held_out(self.validation_fraction, n_samples) if split is not None else 0
            )
            batch_size, planned = training_budget(
                self.batch_size, self.max_iter, n_samples - held_out
            )
            epochs = planned if epochs is None else epochs
            if reset:
                self._seed = seed
                # partial_fit trains without a validation set (its first call included): the
                # net keeps what it was built with, and a saved model is rebuilt with the same.
                self._validation_held_out = split is not None
                # The cosine schedule spans the epochs that the fit plans (kept on save).
                self._schedule_epochs = planned
                module = self._build_module(
                    _typical_length(inputs["lengths"]), inputs["x"].shape[2], n_outputs, seed,
                    device,
                )
                self.n_iter_ = 0
                self.net_ = _net.build_net(
                    self, module, batch_size=batch_size, epochs=planned, split=split,
                    n_classes=n_classes, target_scaling=self._target_scaling(), seed=seed,
                    device=device,
                )
                self._built_params = tracked_params(self)
            else:
                # Go on from the current weights, with the parameters as they are now.
                apply_params(self, changed, equations, seed, split, partial, device)
                if not partial:  # a warm-start fit: a schedule of its own
                    self._schedule_epochs = planned
                    _net.restart_schedule(self.net_, self.learning_rate_init, planned)
            self._seed_noise()  # noise of this call's own stream
        before = self.n_iter_
        try:
            _net.train(
                self.net_, inputs, targets, epochs=epochs, batch_size=batch_size,
                partial=partial, learning_rate=self.learning_rate_init,
            )
        finally:  # a diverged fit too: n_iter_, loss_curve_ and the history agree
            self._record_history(partial)
        ran = self.n_iter_ - before
        if not partial and ran == epochs:
            _warn_if_still_improving(self, epochs)
        return self

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

    def _record_history(self, partial=False):
        history = self.net_.history
        self.n_iter_ = len(history)
        # (skorch's history refuses a key when it holds no epoch: a first epoch that diverged)
        self.loss_curve_ = list(history[:, "train_loss"]) if len(history) else []
        # As scikit-learn's MLP: the lowest training loss, None when this call held out a
        # validation set (early stopping keeps the epoch of the lowest validation loss
        # instead; partial_fit never holds one out).
        held_out = self._validation_held_out and not partial
        self.best_loss_ = None if held_out or not self.loss_curve_ else min(self.loss_curve_)
        return self

    def _deterministic_outputs(self, X, times=None):
        """The module's deterministic outputs on X (standardized), float64, in batches."""
        inputs = self._inputs(X, times, reset=False)  # checks that the model is fitted
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
        upgrade_saved_state(state, module_state)  # saves of 0.1 to 0.3
        super().__setstate__(state)
        if module_state is None:
            return
        # Built without initialization (on the meta device, then given the saved
        # weights): loading draws nothing from torch's random generator, so it cannot
        # disturb a fit running meanwhile in another thread.
        with torch.device("meta"):
            module = NoisyRNN(**self._module_kwargs)
        module.load_state_dict(
            {k: torch.from_numpy(np.array(v)) for k, v in module_state.items()}, assign=True
        )
        device = resolve_device(self.device)
        n_classes = len(self.classes_) if hasattr(self, "classes_") else 0
        self.net_ = _net.restore_net(
            self, module.to(device), saved_net,
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


def _warn_if_still_improving(est, epochs):
    """A ConvergenceWarning where scikit-learn's MLP warns and it means something.

    Only at a constant rate: the cosine schedule anneals the rate to 0 at the
    end of the epochs a fit plans, so running them all is the plan. At a
    constant rate, a fit that ran all its ``epochs`` was cut short by
    ``max_iter`` when early stopping (which did not stop it) held out a
    validation set, or else when the training loss still improved by more than
    ``tol`` within the last ``n_iter_no_change`` epochs. The message says what
    the loss that counts (the validation loss under early stopping) did.
    """
    if est.lr_schedule != "constant":
        return
    held_out = est._validation_held_out
    curve = (
        list(est.net_.history[-epochs:, "valid_loss"]) if held_out else est.loss_curve_[-epochs:]
    )
    recent = curve[-(est.n_iter_no_change + 1):]
    if not held_out and len(recent) > 1 and (min(recent[1:]) >= recent[0] - est.tol):
        return
    best = int(np.argmin(curve))
    if best == len(curve) - 1:
        state = f"was still improving (its lowest, {curve[-1]:.4g}, in the last epoch)"
    else:
        state = (
            f"had not settled (its lowest, {curve[best]:.4g}, in epoch {best + 1} of "
            f"{epochs}; {curve[-1]:.4g} in the last)"
        )
    what = (
        f"the validation loss {state}; early stopping ends a fit only after "
        f"n_iter_no_change={est.n_iter_no_change} epochs without an improvement by more "
        f"than tol={est.tol}" if held_out else
        f"the loss fell by more than tol={est.tol} within the last "
        f"n_iter_no_change={est.n_iter_no_change} epochs and {state}"
    )
    warnings.warn(
        f"{type(est).__name__} ran all {epochs} epochs that this fit planned at the "
        f"constant rate learning_rate_init, and {what}: it has not converged. "
        "Raise max_iter, or use lr_schedule='cosine', which anneals the rate over the "
        "planned epochs.",
        ConvergenceWarning,
    )
