"""The scikit-learn plumbing shared by the classifier and the regressor.

``BaseNoisyRNN`` validates parameters and data, seeds everything, builds a skorch
``NeuralNet`` around :class:`sknrnn._sde.NoisyRNN` in ``fit`` (composition: the
net is a fitted attribute, so ``get_params`` shows only sknrnn's parameters) and
streams predictions in batches.
"""

import math
import sys
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback, EarlyStopping, GradientNormClipping, LRScheduler, PrintLog
from skorch.dataset import ValidSplit
from skorch.history import History
from skorch.utils import Ansi

from ._sde import NOISE_TYPES, SOLVERS, NoisyRNN
from ._validation import check_sequences, check_times, mean_and_scale

# Batches of this many sequences at prediction time: memory stays flat on any n.
_PREDICT_BATCH = 1024

# The adaptive training budget (batch_size="auto", max_iter="auto"), chosen by
# measurement on the development suite (benchmarks/accuracy.py): minibatches of
# n / 16 sequences between 8 and 64, and as many epochs as give about
# _AUTO_STEPS optimizer steps, between _AUTO_EPOCHS[0] and _AUTO_EPOCHS[1].
_AUTO_BATCH = (16, 8, 64)  # (divisor of n, smallest, largest)
_AUTO_STEPS = 2000
_AUTO_EPOCHS = (10, 1000)


class _StopOnNonFiniteLoss(Callback):
    """Stop training with a clear error as soon as the training loss is NaN or inf."""

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if training and loss is not None and not torch.isfinite(loss).all():
            with torch.no_grad():
                dt = float(net.module_.step_size().max())
            raise FloatingPointError(
                f"The training loss became {loss.item()} in epoch {len(net.history)}: "
                f"training diverged. The integration step dt is {dt:.3g} at most"
                + (
                    " (steps much above 1 make the recursion explode): lower dt"
                    if dt > 1
                    else ": lower dt"
                )
                + " or learning_rate_init, or set clip_grad_norm (X and y are standardized "
                "inside, so their units are not the cause)."
            )


class _PlainPrintLog(PrintLog):
    """skorch's PrintLog, without colour codes where the output is not a terminal."""

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if _is_terminal() or not isinstance(text, str):
            return text
        return text.replace(color, "").replace(Ansi.ENDC.value, "")


def _is_terminal():
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


class _EpochLog(Callback):
    """One line per epoch, written before early stopping may end the training.

    skorch puts any PrintLog after all other callbacks, so the epoch at which
    EarlyStopping stops (by raising in its ``on_epoch_end``) was never printed:
    this callback is not a PrintLog and is placed before early stopping.
    """

    def initialize(self):
        self.log_ = _PlainPrintLog().initialize()
        return self

    def on_epoch_end(self, net, **kwargs):
        self.log_.on_epoch_end(net, **kwargs)


def _sub_seed(seed, *stream):
    """A 63-bit seed for one random stream of a fit, derived from the estimator's seed."""
    state = np.random.SeedSequence([seed, *stream]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


# The random streams of a fit, each seeded from the estimator's seed.
_INIT, _NOISE = 0, 1


def module_device(module):
    """The device the module's weights are on."""
    return next(module.parameters()).device


def _is_passthrough(step):
    return step is None or (isinstance(step, str) and step == "passthrough")


def final_estimator(estimator, *, caller, require_passthrough=True, hint=""):
    """The fitted sknrnn estimator inside ``estimator`` (itself, or a Pipeline's last step).

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
    if not isinstance(estimator, BaseNoisyRNN):
        raise TypeError(
            f"{caller} needs a fitted NoisyRNNClassifier or NoisyRNNRegressor (or a Pipeline "
            f"ending in one); got {type(estimator).__name__}.{hint}"
        )
    check_is_fitted(estimator)
    return estimator


_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")


def resolve_device(device):
    """Map ``"auto"`` to CUDA when available, and CUDA to CPU on a machine without it."""
    if device != "auto":
        try:
            kind = torch.device(device).type
        except (RuntimeError, TypeError, ValueError):
            kind = None
        if kind not in _DEVICE_TYPES:
            raise ValueError(
                f"device must be 'auto' or a torch device that holds weights, such as 'cpu', "
                f"'cuda' or 'cuda:1' (lower case); got {device!r}."
            )
    if device == "auto" or (str(device).startswith("cuda") and not torch.cuda.is_available()):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class BaseNoisyRNN(BaseEstimator, metaclass=ABCMeta):
    """Base class for noisy RNN estimators. Use the classifier or the regressor."""

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "noise_type": [StrOptions(set(NOISE_TYPES))],
        "noise_level": [Interval(Real, 0, None, closed="left"), tuple, list],
        "solver": [StrOptions(set(SOLVERS))],
        "dt": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
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

    @abstractmethod
    def __init__(
        self,
        hidden_size,
        *,
        noise_type,
        noise_level,
        solver,
        dt,
        learn_dt,
        beta,
        gamma,
        linear_weight,
        max_iter,
        batch_size,
        learning_rate_init,
        lr_schedule,
        clip_grad_norm,
        early_stopping,
        validation_fraction,
        n_iter_no_change,
        tol,
        random_state,
        verbose,
        device,
        warm_start,
        callbacks,
    ):
        self.hidden_size = hidden_size
        self.noise_type = noise_type
        self.noise_level = noise_level
        self.solver = solver
        self.dt = dt
        self.learn_dt = learn_dt
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
    @abstractmethod
    def _prepare_targets(self, y, *, reset, classes=None):
        """Validate and encode y for training; return ``(targets, n_outputs)``.

        ``reset=True`` learns the encoding (classes, target scaling) from y (or
        from ``classes``); ``reset=False`` applies the one learned before.
        """

    @abstractmethod
    def _net_settings(self, n_classes):
        """``(skorch net class, its settings)`` that differ between the subclasses.

        The criterion, and what the net's ``predict`` / ``predict_proba`` give back,
        which is what skorch's scoring callbacks (``EpochScoring``) score: class
        indices and probabilities, or predictions in the units of y.
        """

    # -- parameters -----------------------------------------------------------
    def _noise_levels(self):
        """``(additive, multiplicative)`` levels from ``noise_type`` and ``noise_level``."""
        level = self.noise_level
        if self.noise_type == "none":
            return 0.0, 0.0  # noise_level is ignored, whatever it is (a grid may pair them)
        if isinstance(level, (tuple, list)):
            if self.noise_type != "mixed":
                raise ValueError(
                    "noise_level may be an (additive, multiplicative) pair only with "
                    f"noise_type='mixed'; got noise_level={level!r} with "
                    f"noise_type={self.noise_type!r}. Pass a single float otherwise."
                )
            if len(level) != 2:
                raise ValueError(
                    "noise_level for noise_type='mixed' is a float (both levels) or an "
                    f"(additive, multiplicative) pair; got {len(level)} values {level!r}."
                )
            add, mult = level
        else:
            add = mult = level
        for value in (add, mult):
            if not isinstance(value, Real) or not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"noise_level must be finite and >= 0; got {level!r}."
                )
        return float(add), float(mult)

    def _build_module(self, n_steps, n_channels, n_outputs, seed, device):
        add, mult = self._noise_levels()
        # "auto": a total integration time of about 64 time units, steps at most 1.
        dt = min(1.0, 64.0 / n_steps) if self.dt == "auto" else self.dt
        # Plain settings from which the module is rebuilt when a saved model is loaded.
        self._module_kwargs = dict(
            input_size=n_channels,
            hidden_size=self.hidden_size,
            output_size=n_outputs,
            noise_type=self.noise_type,
            noise_additive=add,
            noise_multiplicative=mult,
            solver=self.solver,
            dt=dt,
            learn_dt=self.learn_dt,
            beta=self.beta,
            gamma_a=self.gamma,
            gamma_w=self.gamma,
            linear_weight=self.linear_weight,
        )
        # Built on the meta device (nothing drawn), then initialized from the
        # estimator's own generator: torch's global generator is never touched.
        with torch.device("meta"):
            module = NoisyRNN(**self._module_kwargs)
        module = module.to_empty(device=device)
        module.reset_parameters(torch.Generator().manual_seed(_sub_seed(seed, _INIT)))
        return module

    def _budget(self, n_samples):
        """``(batch_size, epochs)`` of a call that trains on ``n_samples`` sequences
        (those left for training once a validation set is held out).

        Both are functions of the data of each call (``fit``, a warm-start ``fit``,
        ``partial_fit``), never of an earlier call: ``batch_size="auto"`` takes
        ``n / 16`` sequences, between 8 and 64; ``max_iter="auto"`` runs as many
        epochs as give about 2000 optimizer steps, between 10 and 1000 epochs, so
        that a small set trains to convergence and a large one stops early.
        """
        if self.batch_size == "auto":
            divisor, smallest, largest = _AUTO_BATCH
            batch_size = max(smallest, min(largest, n_samples // divisor))
        else:
            batch_size = self.batch_size
        batch_size = min(batch_size, n_samples)
        if self.max_iter != "auto":
            return batch_size, self.max_iter
        steps_per_epoch = math.ceil(n_samples / batch_size)
        lo, hi = _AUTO_EPOCHS
        return batch_size, max(lo, min(hi, math.ceil(_AUTO_STEPS / steps_per_epoch)))

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

    def _make_net(self, module, batch_size, epochs, train_split, n_classes, seed, device):
        net_class, settings = self._net_settings(n_classes)
        return net_class(
            module=module,
            optimizer=torch.optim.Adam,
            lr=self.learning_rate_init,
            max_epochs=epochs,
            batch_size=batch_size,
            train_split=train_split,
            # Early stopping reads the validation loss: only where there is a validation set.
            callbacks=self._callbacks(epochs, validation=train_split is not None),
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(seed),
            # The DataLoader draws a base seed from its generator even without shuffling:
            # give it one of its own, so that validation never draws from torch's global one.
            iterator_valid__generator=torch.Generator().manual_seed(seed),
            iterator_valid__batch_size=_PREDICT_BATCH,
            verbose=int(self.verbose),
            device=device,
            callbacks__print_log=None,  # replaced by _EpochLog ("epoch_log") in _callbacks
            **settings,
        )

    def _callbacks(self, epochs, *, validation):
        callbacks = [("nonfinite_loss", _StopOnNonFiniteLoss())]
        if self.lr_schedule == "cosine":
            callbacks.append(("lr_scheduler", LRScheduler("CosineAnnealingLR", T_max=epochs)))
        if self.clip_grad_norm is not None:
            callbacks.append(("clipping", GradientNormClipping(self.clip_grad_norm)))
        for i, callback in enumerate(self.callbacks or []):
            if isinstance(callback, tuple):
                callbacks.append(callback)
            else:
                callbacks.append((f"user_{i}_{type(callback).__name__}", callback))
        if self.verbose:
            callbacks.append(("epoch_log", _EpochLog()))
        if validation:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        patience=self.n_iter_no_change,
                        threshold=self.tol,
                        threshold_mode="abs",
                        load_best=True,
                        sink=print if self.verbose else _silent,
                    ),
                )
            )
        return callbacks

    def _check_callbacks(self):
        for item in self.callbacks or []:
            callback = item[1] if isinstance(item, tuple) and len(item) == 2 else item
            name_ok = not isinstance(item, tuple) or isinstance(item[0], str)
            if not (name_ok and (isinstance(callback, Callback) or (
                isinstance(callback, type) and issubclass(callback, Callback)
            ))):
                raise ValueError(
                    "callbacks must hold skorch callbacks (e.g. "
                    "skorch.callbacks.Checkpoint(...)) or (name, callback) pairs; got "
                    f"{item!r}. skorch's own logging is on with verbose=1."
                )

    def _train_split(self, targets, n_classes, seed):
        """The validation split of fit for early stopping (None without), checked on y."""
        if not self.early_stopping:
            return None
        n_samples = len(targets)
        n_valid = math.ceil(self.validation_fraction * n_samples)
        needed = max(n_classes, 1)
        what = f" with all {n_classes} classes" if n_classes else ""
        if n_valid < needed:
            raise ValueError(
                f"early_stopping=True holds out validation_fraction={self.validation_fraction} "
                f"of {n_samples} samples ({n_valid}), too few for a validation set{what}. Use "
                "more data, a larger validation_fraction, or early_stopping=False."
            )
        if n_samples - n_valid < needed:
            raise ValueError(
                f"early_stopping=True with validation_fraction={self.validation_fraction} leaves "
                f"{n_samples - n_valid} of {n_samples} samples for training, too few{what}. Use "
                "more data, a smaller validation_fraction, or early_stopping=False."
            )
        if n_classes:
            counts = np.bincount(targets, minlength=n_classes)
            if counts.min() < 2:
                rare = self.classes_[counts < 2][:5].tolist()
                raise ValueError(
                    f"early_stopping=True splits off a stratified validation set, which needs at "
                    f"least 2 samples of each class; classes {rare} have fewer. Use more data "
                    "of these classes, or early_stopping=False."
                )
        return self._valid_split(n_classes, seed)

    def _valid_split(self, n_classes, seed):
        return ValidSplit(self.validation_fraction, stratified=n_classes > 0, random_state=seed)

    # -- fit / predict --------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, times=None):
        """Fit the model to sequences X and targets y.

        With ``warm_start=True`` and a fitted model, training goes on from the
        current weights for ``max_iter`` more epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
            Sequences; unequal lengths are NaN-padded at the end.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
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
        return self._fit(X, y, epochs=None, reset=restart, times=times)

    def _partial_fit(self, X, y, classes=None, times=None):
        if not hasattr(self, "net_"):
            self._validate_params()
            return self._fit(
                X, y, epochs=1, reset=True, classes=classes, incremental=True, times=times
            )
        return self._fit(X, y, epochs=1, reset=False, classes=classes, incremental=True, times=times)

    def _inputs(self, X, times, *, reset):
        """Validated X (and times) as the dict of arrays that the net's module takes."""
        X, lengths = check_sequences(self, X, reset=reset)
        observed = np.arange(X.shape[1])[None, :] < lengths[:, None]
        if reset:
            # In float64, before the cast to float32: unit-free (offsets of 1e9 and scales
            # of 1e-13 or 1e18 standardize as well as unit data).
            self._x_mean, self._x_scale = mean_and_scale(X[observed])
        inputs = {"x": self._standardize(X, observed), "lengths": lengths}
        fitted_with_times = getattr(self, "time_step_", None) is not None
        if reset:
            self.time_step_ = None
        elif times is None and fitted_with_times:
            raise ValueError(
                f"This {type(self).__name__} was fitted with observation times: pass times= "
                "here too. In GridSearchCV or cross_validate, enable metadata routing "
                "(sklearn.set_config(enable_metadata_routing=True)) and request them: "
                "estimator.set_fit_request(times=True).set_score_request(times=True)."
            )
        elif times is not None and not fitted_with_times:
            raise ValueError(
                f"This {type(self).__name__} was fitted without observation times (evenly "
                "spaced steps), so times have no spacing to refer to: fit with times= to "
                "use them, or leave them out here."
            )
        if times is not None:
            inputs["step_scale"], time_step = check_times(
                times, X.shape[1], lengths, time_step=None if reset else self.time_step_
            )
            if reset:  # predict and continued training use the spacing learned here
                self.time_step_ = time_step
        return inputs

    def _standardize(self, X, observed):
        """X (float64, 3D) standardized with the statistics of fit, as float32; padding 0."""
        with np.errstate(over="ignore"):
            Z = ((X - self._x_mean) / self._x_scale).astype(np.float32)
        Z[~observed] = 0.0
        if not np.isfinite(Z).all():
            raise ValueError(
                "X has values more than 3e38 standard deviations (those of the data given to "
                "fit) away from the mean of fit: check the units of X."
            )
        return Z

    def _fit(self, X, y, *, epochs, reset, classes=None, incremental=False, times=None):
        self._noise_levels()
        self._check_callbacks()
        resolve_device(self.device)
        Xd = self._inputs(X, times, reset=reset)
        X = Xd["x"]
        targets, n_outputs = self._prepare_targets(y, reset=reset, classes=classes)
        if len(targets) != len(X):
            raise ValueError(
                f"X has {len(X)} samples but y has {len(targets)}: give one target per sequence."
            )
        if not reset:
            # Go on from the current weights, in minibatches sized for this call's data,
            # with noise of this call's own stream.
            n_train = len(X)
            if self.net_.train_split is not None:
                n_train -= math.ceil(self.validation_fraction * len(X))
            self.net_.batch_size, planned = self._budget(n_train)
            self._seed_noise()
            self.net_.partial_fit(Xd, targets, epochs=planned if epochs is None else epochs)
            return self._record_history()

        n_classes = n_outputs if hasattr(self, "classes_") else 0
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self._seed = seed
        # partial_fit trains without a validation set (its first call included): the net
        # keeps what it was built with, and a saved model is rebuilt with the same.
        train_split = None if incremental else self._train_split(targets, n_classes, seed)
        self._validation = train_split is not None
        n_train = len(X)
        if train_split is not None:
            n_train -= math.ceil(self.validation_fraction * len(X))
        batch_size, planned = self._budget(n_train)
        # The cosine schedule spans the epochs planned by the first fit (kept on save).
        self._schedule_epochs = planned if epochs is None else max(planned, epochs)

        device = resolve_device(self.device)
        module = self._build_module(X.shape[1], X.shape[2], n_outputs, seed, device)
        self.n_iter_ = 0
        self.net_ = self._make_net(
            module, batch_size, self._schedule_epochs, train_split, n_classes, seed, device
        )
        self.net_.initialize()
        self._seed_noise()
        self.net_.partial_fit(Xd, targets, epochs=planned if epochs is None else epochs)
        return self._record_history()

    def _record_history(self):
        self.n_iter_ = len(self.net_.history)
        self.loss_curve_ = list(self.net_.history[:, "train_loss"])
        return self

    def _forward(self, X, times=None):
        """Deterministic outputs as a float64 array, streamed in batches.

        Reads the fitted module as it is: the deterministic recursion (``noise=False``,
        whatever the module's mode), nothing drawn from any random generator, and the
        module left on its device and in its mode.
        """
        inputs = self._inputs(X, times, reset=False)
        module = self.net_.module_
        device = module_device(module)
        n = len(inputs["x"])
        outputs = []
        with torch.no_grad():
            for start in range(0, n, _PREDICT_BATCH):
                batch = {
                    key: torch.from_numpy(value[start : start + _PREDICT_BATCH]).to(device)
                    for key, value in inputs.items()
                }
                outputs.append(module(**batch, noise=False).to("cpu", torch.float64).numpy())
        if not outputs:
            return np.empty((0, module.decoder.out_features))
        return np.concatenate(outputs, axis=0)

    # -- persistence: weights as plain arrays, settings as plain values ----------
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never strip the live object
        net = state.pop("net_", None)
        if net is not None:
            state["_module_state"] = {
                name: tensor.detach().cpu().numpy()
                for name, tensor in net.module_.state_dict().items()
            }
            state["_history"] = [
                {key: _plain(value) for key, value in row.items() if key != "batches"}
                for row in net.history
            ]
            # What training more after a load needs to go on exactly as without the
            # save: the optimizer's state (Adam's moments, the scheduled learning rate)
            # and the state of the shuffling generator, as arrays and plain values.
            state["_optimizer_state"] = _to_arrays(net.optimizer_.state_dict())
            state["_shuffle_state"] = net.iterator_train__generator.get_state().numpy()
        return state

    def __setstate__(self, state):
        module_state = state.pop("_module_state", None)
        history = state.pop("_history", None)
        optimizer_state = state.pop("_optimizer_state", None)
        shuffle_state = state.pop("_shuffle_state", None)
        super().__setstate__(state)
        if module_state is not None:
            if "x_mean" in module_state:  # saved before the estimator standardized X itself
                self._x_mean = np.asarray(module_state.pop("x_mean"), dtype=np.float64)
                self._x_scale = np.asarray(module_state.pop("x_scale"), dtype=np.float64)
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
            train_split = (
                self._valid_split(n_classes, self._seed)
                if getattr(self, "_validation", self.early_stopping)  # (older saves: fit's)
                else None
            )
            # The batch size is set anew by every training call from its own data.
            self.net_ = self._make_net(
                module.to(device), 1, self._schedule_epochs, train_split, n_classes, self._seed,
                device,
            )
            self.net_.initialize()
            self.net_.history = History(history)
            if optimizer_state is not None:
                self.net_.optimizer_.load_state_dict(_to_tensors(optimizer_state))
            if shuffle_state is not None:
                self.net_.iterator_train__generator.set_state(torch.from_numpy(np.array(shuffle_state)))

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


def _silent(*args, **kwargs):
    pass


def _map_leaves(value, kind, convert):
    """A nested state (dicts, lists, tuples) with every leaf of type ``kind`` converted."""
    if isinstance(value, kind):
        return convert(value)
    if isinstance(value, dict):
        return {key: _map_leaves(v, kind, convert) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map_leaves(v, kind, convert) for v in value)
    return value


def _to_arrays(value):
    """A nested state with every tensor as a NumPy array."""
    return _map_leaves(value, torch.Tensor, lambda t: t.detach().cpu().numpy())


def _to_tensors(value):
    """The inverse of ``_to_arrays``."""
    return _map_leaves(value, np.ndarray, lambda a: torch.from_numpy(np.array(a)))


def _plain(value):
    """A history entry as plain Python values (no numpy or torch scalars)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.generic, torch.Tensor)):
        return value.item()
    return value
