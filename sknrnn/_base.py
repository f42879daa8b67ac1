"""The scikit-learn plumbing shared by the classifier and the regressor.

``BaseNoisyRNN`` validates parameters and data, seeds everything, builds a skorch
``NeuralNet`` around :class:`sknrnn._sde.NoisyRNN` in ``fit`` (composition: the
net is a fitted attribute, so ``get_params`` shows only sknrnn's parameters) and
streams predictions in batches.
"""

import math
import sys
import warnings
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback, EarlyStopping, GradientNormClipping, LRScheduler, PrintLog
from skorch.dataset import Dataset, ValidSplit
from skorch.history import History
from skorch.utils import Ansi, to_tensor
from torch.utils.data import default_convert

from ._sde import NOISE_INCREMENTS, NOISE_TYPES, SOLVERS, NoisyRNN, noise_levels
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
# window="auto": as many observations per step as give a recurrence of at most
# _AUTO_WINDOW_STEPS steps. dt="auto" for a recurrence of S steps: per-unit steps
# spread over (1 / S, 1) when S > _AUTO_DT_RANGE (None: never), else one step
# min(1, 64 / S) (1 for S <= 64).
_AUTO_WINDOW_STEPS = 128
_AUTO_DT_RANGE = 64


class _StopOnNonFiniteLoss(Callback):
    """Stop training with a clear error as soon as the training loss is NaN or inf.

    The error names the likely cause, read from the net as it trained: a step
    ``dt`` above 1, a damping ``gamma`` so large that the explicit step
    overshoots (``gamma * dt > 2``), or else the learning rate (and gradient
    clipping when it is off). The weights are left as the diverging step made
    them.
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if training and loss is not None and not torch.isfinite(loss).all():
            raise FloatingPointError(
                f"The training loss became {loss.item()} in epoch {len(net.history)}: "
                f"training diverged. {_divergence_cause(net)} The model keeps the weights "
                "of the diverging step (not finite): fit anew after the change (X and y are "
                "standardized inside, so their units are not the cause)."
            )


def _divergence_cause(net):
    """The likely cause of a diverging fit, and what to change, in one sentence."""
    module = net.module_
    # The initial step (the largest of a range); the learned step may be NaN by now.
    initial = getattr(module, "dt_init", 0.0)
    dt = float(max(initial) if isinstance(initial, tuple) else initial)
    with torch.no_grad():
        learned = float(module.step_size().max())
    if math.isfinite(learned):
        dt = max(dt, learned)
    gamma = max(float(getattr(module, "gamma_a", 0.0)), float(getattr(module, "gamma_w", 0.0)))
    lr = net.optimizer_.param_groups[0]["lr"]
    clipped = any(isinstance(cb, GradientNormClipping) for _, cb in net.callbacks_)
    if dt > 1:
        return (
            f"The integration step dt is {dt:.3g} at most (steps much above 1 make the "
            "recursion explode): lower dt (\"auto\" keeps it at most 1)."
        )
    if gamma * dt > 2:
        return (
            f"The damping gamma={gamma:.3g} times the integration step dt={dt:.3g} is "
            f"{gamma * dt:.3g}, above 2, where each explicit step overshoots and the "
            "recursion explodes: lower gamma (the default is 0.001)."
        )
    return (
        f"The learning rate was {lr:.3g}: lower learning_rate_init"
        + ("." if clipped else ", or set clip_grad_norm (e.g. 1.0, the default).")
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


class _EpochProgress(Callback):
    """A progress bar over the epochs that a training call plans (``verbose=1``).

    tqdm's ``tqdm.auto`` draws it: a widget in a notebook (with ipywidgets), text
    on stderr in a terminal. ``total`` is the number of epochs planned, set by the
    estimator for each call; the bar shows the last training (and validation)
    loss, and closes at the end of the call, an early stop included.
    """

    def __init__(self, total=None):
        self.total = total

    def initialize(self):
        self.bar_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self._close()
        self.bar_ = tqdm(total=self.total, unit="epoch", desc="fit", leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        losses = {key: f"{row[key]:.4g}" for key in ("train_loss", "valid_loss") if key in row}
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        if self.bar_ is not None and self.total and self.bar_.n < self.total:
            self.bar_.set_description("fit (stopped early)", refresh=False)
        self._close()

    def _close(self):
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
        self.bar_ = None


class _WeightedLoss:
    """Mixed into skorch's net classes: a sample-weighted loss.

    skorch hands the criterion only the predictions and the targets, so the
    weights travel in the input dict (key ``"sample_weight"``, scaled by the
    estimator to a mean of 1 over the data of the call): ``infer`` keeps them
    from the module, and ``get_loss`` returns the batch mean of the weighted
    per-sequence losses (the criterion has ``reduction="none"``),
    ``mean(w * loss)``. Its expectation over the shuffled minibatches is the
    weighted mean loss of the data, and a minibatch of low-weight sequences
    moves the model little (a per-batch ``sum(w * loss) / sum(w)`` would give
    it full weight).
    """

    def infer(self, x, **fit_params):
        if isinstance(x, dict) and "sample_weight" in x:
            x = {key: value for key, value in x.items() if key != "sample_weight"}
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        losses = super().get_loss(y_pred, y_true, X=X, training=training)
        losses = losses.reshape(len(losses), -1).mean(dim=1)  # one loss per sequence
        if not isinstance(X, dict) or "sample_weight" not in X:
            return losses.mean()
        weights = to_tensor(X["sample_weight"], device=self.device).to(losses.dtype)
        return (weights * losses).mean()


class _BatchDataset(Dataset):
    """skorch's Dataset over the estimator's input dict, read a whole minibatch at a time.

    torch's DataLoader fetches a batch through ``__getitems__`` when the dataset
    has one (and through a ``Subset`` of it, as skorch's validation split makes):
    each array of the input dict (numpy, one row per sequence) and the targets are
    indexed once per batch, instead of once per sequence followed by collating the
    pieces. The batch is made of tensors by ``default_convert`` (the ``collate_fn``
    of the net's iterators), as ``default_collate`` made them of the pieces.
    """

    def __getitems__(self, indices):
        rows = np.asarray(indices, dtype=np.intp)
        y = np.zeros(len(rows), dtype=np.float32) if self.y is None else self.y[rows]
        return {key: value[rows] for key, value in self.X.items()}, y


def _sub_seed(seed, *stream):
    """A 63-bit seed for one random stream of a fit, derived from the estimator's seed."""
    state = np.random.SeedSequence([seed, *stream]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


# The random streams of a fit, each seeded from the estimator's seed.
_INIT, _NOISE = 0, 1


def _fused_adam(device):
    """Whether Adam runs as one fused kernel on ``device`` (CUDA; the CPU from torch 2.4)."""
    kind = torch.device(device).type
    return kind == "cuda" or (kind == "cpu" and torch.torch_version.TorchVersion(
        torch.__version__) >= (2, 4))


def module_device(module):
    """The device the module's weights are on."""
    return next(module.parameters()).device


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


_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")


def resolve_device(device, *, warn=False):
    """Map ``"auto"`` to CUDA when available, and CUDA to CPU on a machine without it.

    ``warn``: say so (a UserWarning) when CUDA was asked for and the CPU is used:
    training calls warn; loading a model trained on CUDA does not.
    """
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
        if warn and device != "auto" and not torch.cuda.is_available():
            warnings.warn(
                f"device={device!r}, but CUDA is not available here "
                "(torch.cuda.is_available() is False): training on the CPU. Pass "
                "device='cpu' or 'auto' to train on the CPU without this warning, or install "
                "a CUDA build of torch to train on the GPU.",
                UserWarning,
                stacklevel=4,
            )
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


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
        beta=0.75,
        gamma=0.001,
        linear_weight=1.0,
        max_iter="auto",
        batch_size="auto",
        learning_rate_init=0.003,
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
    def _prepare_targets(self, y, *, reset, classes=None, sample_weight=None):
        """Validate and encode y for training; return ``(targets, n_outputs)``.

        ``reset=True`` learns the encoding (classes, target scaling) from y (or
        from ``classes``; the scaling weighted by ``sample_weight``);
        ``reset=False`` applies the one learned before.
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
        if self.noise_type != "none" and isinstance(level, (tuple, list)):
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
        return noise_levels(self.noise_type, level)  # "none": (0, 0), the level ignored

    def _resolve_window(self, n_steps):
        """Observations per recurrence step: ``window``, or the "auto" rule on ``n_steps``."""
        if self.window == "auto":
            return max(1, math.ceil(n_steps / _AUTO_WINDOW_STEPS)) if _AUTO_WINDOW_STEPS else 1
        return int(self.window)

    def _resolve_dt(self, n_steps):
        """The initial step (or range of steps) for a recurrence of ``n_steps`` steps."""
        dt = self.dt
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
            return (float(dt[0]), float(dt[1]))
        return float(dt)

    def _build_module(self, n_steps, n_channels, n_outputs, seed, device):
        add, mult = self._noise_levels()
        window = self._resolve_window(n_steps)
        dt = self._resolve_dt(math.ceil(n_steps / window))
        # Plain settings from which the module is rebuilt when a saved model is loaded.
        self._module_kwargs = dict(
            input_size=n_channels,
            hidden_size=int(self.hidden_size),
            output_size=n_outputs,
            noise_type=self.noise_type,
            noise_additive=add,
            noise_multiplicative=mult,
            noise_increment=self.noise_increment,
            solver=self.solver,
            dt=dt,
            learn_dt=self.learn_dt,
            beta=self.beta,
            gamma_a=self.gamma,
            gamma_w=self.gamma,
            linear_weight=self.linear_weight,
            window=window,
            bidirectional=bool(self.bidirectional),
            augment=float(self.augment),
        )
        self.window_ = window
        # Built on the meta device (nothing drawn), then initialized from the
        # estimator's own generator: torch's global generator is never touched.
        with torch.device("meta"):
            module = NoisyRNN(**self._module_kwargs)
        module = module.to_empty(device=device)
        module.reset_parameters(torch.Generator().manual_seed(_sub_seed(seed, _INIT)))
        return module

    def _budget(self, n_samples, *, validation):
        """``(batch_size, epochs)`` of a call given ``n_samples`` sequences, of which
        ``validation_fraction`` is held out when ``validation`` is True.

        Both are functions of the data of each call (``fit``, a warm-start ``fit``,
        ``partial_fit``), never of an earlier call: ``batch_size="auto"`` takes
        ``n / 16`` sequences, between 8 and 64; ``max_iter="auto"`` runs as many
        epochs as give about 2000 optimizer steps, between 10 and 1000 epochs, so
        that a small set trains to convergence and a large one stops early.
        """
        if validation:
            n_samples -= self._n_held_out(n_samples)
        if self.batch_size == "auto":
            divisor, smallest, largest = _AUTO_BATCH
            batch_size = max(smallest, min(largest, n_samples // divisor))
        else:
            batch_size = int(self.batch_size)  # numpy integers too
        batch_size = min(batch_size, n_samples)
        if self.max_iter != "auto":
            return batch_size, int(self.max_iter)
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
            # One kernel for the whole update (CPU: torch >= 2.4): on small sets, where
            # the steps are short, the per-parameter loop of Adam cost 8% of a fit.
            optimizer__fused=_fused_adam(device),
            lr=self.learning_rate_init,
            dataset=_BatchDataset,
            max_epochs=epochs,
            batch_size=batch_size,
            train_split=train_split,
            # Early stopping reads the validation loss: only where there is a validation set.
            callbacks=self._callbacks(epochs, validation=train_split is not None),
            iterator_train__shuffle=True,
            iterator_train__collate_fn=default_convert,
            iterator_valid__collate_fn=default_convert,
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
            # Each fit runs a schedule of its own (last_epoch=-1: not continued from the
            # epochs of an earlier call), over the epochs it plans (see _restart_schedule).
            callbacks.append(
                ("lr_scheduler", LRScheduler("CosineAnnealingLR", T_max=epochs, last_epoch=-1))
            )
        if self.clip_grad_norm is not None:
            callbacks.append(("clipping", GradientNormClipping(self.clip_grad_norm)))
        for i, callback in enumerate(self.callbacks or []):
            if isinstance(callback, tuple):
                callbacks.append(callback)
            else:
                callbacks.append((f"user_{i}_{type(callback).__name__}", callback))
        verbose = int(self.verbose)
        if verbose == 1:
            callbacks.append(("progress", _EpochProgress(total=int(epochs))))
        elif verbose >= 2:
            callbacks.append(("epoch_log", _EpochLog()))
        if validation:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        patience=int(self.n_iter_no_change),
                        threshold=self.tol,
                        threshold_mode="abs",
                        load_best=True,
                        sink=print if verbose >= 2 else _silent,
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
        n_valid = self._n_held_out(n_samples)
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

    def _n_held_out(self, n_samples):
        """Sequences that the validation split holds out of ``n_samples`` (as ValidSplit)."""
        return math.ceil(self.validation_fraction * n_samples)

    def _valid_split(self, n_classes, seed):
        return ValidSplit(self.validation_fraction, stratified=n_classes > 0, random_state=seed)

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
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
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
        self._validate_params()
        return self._fit(
            X, y, epochs=1, reset=not hasattr(self, "net_"), classes=classes,
            incremental=True, sample_weight=sample_weight, times=times,
        )

    def _inputs(self, X, times, *, reset, sample_weight=None):
        """Validated X (and times) as the dict of arrays that the net's module takes.

        Training (``reset`` or a ``sample_weight``) adds the validated weights
        (float64, key ``"sample_weight"``); fit's statistics of X are weighted.
        """
        X, lengths = check_sequences(self, X, reset=reset)
        observed = np.arange(X.shape[1])[None, :] < lengths[:, None]
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
            self._x_mean, self._x_scale = mean_and_scale(X[observed], step_weights)
        inputs = {"x": self._standardize(X, observed), "lengths": lengths}
        if weights is not None:
            inputs["sample_weight"] = weights
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

    def _sample_weight(self, sample_weight, targets, *, reset, incremental):
        """The weight of each sequence in the loss; the classifier adds class_weight."""
        return sample_weight

    def _fit(self, X, y, *, epochs, reset, classes=None, incremental=False, sample_weight=None,
             times=None):
        """Train: fit (``reset``), a warm-start fit, or ``partial_fit`` (``incremental``).

        Everything the call needs (the checks of the parameters, X, y, the weights
        and the times, the classes, the input statistics, the validation split and
        the budget) is worked out before training starts, and the estimator's
        attributes are put back as they were if any of it raises: a call that fails
        before training leaves the fitted model exactly as it was.
        """
        with self._restored_on_error():
            self._noise_levels()
            self._check_callbacks()
            device = resolve_device(self.device, warn=True)
            # Refuse what cannot change on a fitted model.
            changed = set() if reset else self._changed_params()
            Xd = self._inputs(X, times, reset=reset, sample_weight=sample_weight)
            X = Xd["x"]
            weights = Xd.pop("sample_weight", None)
            targets, n_outputs = self._prepare_targets(
                y, reset=reset, classes=classes, sample_weight=weights
            )
            if len(targets) != len(X):
                raise ValueError(
                    f"X has {len(X)} samples but y has {len(targets)}: give one target per "
                    "sequence."
                )
            weights = np.ones(len(X)) if weights is None else weights
            weights = self._sample_weight(weights, targets, reset=reset, incremental=incremental)
            Xd["sample_weight"] = (weights / weights.mean()).astype(np.float32)  # only ratios
            n_classes = n_outputs if hasattr(self, "classes_") else 0
            if reset or "random_state" in changed:
                seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            else:
                seed = self._seed
            # fit (a warm-start fit too) holds out a validation set under early_stopping;
            # partial_fit never does (see _incremental).
            train_split = None if incremental else self._train_split(targets, n_classes, seed)
            # Minibatches sized for this call's data, and the epochs it plans.
            batch_size, planned = self._budget(len(X), validation=train_split is not None)
            epochs = planned if epochs is None else epochs
            if reset:
                self._seed = seed
                # partial_fit trains without a validation set (its first call included): the
                # net keeps what it was built with, and a saved model is rebuilt with the same.
                self._validation = train_split is not None
                # The cosine schedule spans the epochs that the fit plans (kept on save).
                self._schedule_epochs = planned
                module = self._build_module(X.shape[1], X.shape[2], n_outputs, seed, device)
                self.n_iter_ = 0
                net = self._make_net(
                    module, batch_size, self._schedule_epochs, train_split, n_classes, seed,
                    device,
                )
                net.initialize()
                self.net_ = net
                self._built_params = self._tracked_params()
            else:
                # Go on from the current weights, with the parameters as they are now.
                self._apply_params(changed, seed, train_split, incremental, device)
                self.net_.batch_size = batch_size
                if not incremental:
                    self._restart_schedule(planned)
            progress = dict(self.net_.callbacks_).get("progress")
            if progress is not None:  # the bar counts the epochs of this call
                progress.set_params(total=int(epochs))
            self._seed_noise()  # noise of this call's own stream
        with self._incremental(incremental):
            self.net_.partial_fit(Xd, targets, epochs=epochs)
        return self._record_history()

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

    def _restart_schedule(self, epochs):
        """A warm-start fit is a new fit from the fitted weights: its own schedule.

        The rate restarts at ``learning_rate_init`` (skorch's ``lr``, set on every
        parameter group; Adam's moments are kept), which is also the peak
        (``initial_lr``) of the cosine schedule, annealed to 0 over the ``epochs``
        that this call plans (the scheduler starts afresh, ``last_epoch=-1``).
        """
        net = self.net_
        self._schedule_epochs = epochs
        net.set_params(lr=self.learning_rate_init)
        for group in net.optimizer_.param_groups:
            group["initial_lr"] = group["lr"]
        scheduler = dict(net.callbacks_).get("lr_scheduler")
        if scheduler is not None:
            scheduler.set_params(T_max=epochs, last_epoch=-1)

    # -- continued training: the parameters as they are now ------------------------
    # Parameters that shape the weights: they cannot change on a fitted model.
    _FIXED_PARAMS = ("hidden_size", "dt", "learn_dt", "window", "bidirectional")
    # Parameters of the module's equations, changed in place on the fitted module.
    _MODULE_PARAMS = (
        "noise_type", "noise_level", "noise_increment", "solver", "beta", "gamma",
        "linear_weight", "augment",
    )
    # Parameters of the training loop's callbacks, rebuilt when one of them changes.
    # (max_iter and batch_size need nothing rebuilt: every call plans its own budget.)
    _CALLBACK_PARAMS = (
        "lr_schedule", "clip_grad_norm", "early_stopping", "validation_fraction",
        "n_iter_no_change", "tol", "verbose", "callbacks",
    )

    def _tracked_params(self):
        return {
            key: value for key, value in self.get_params(deep=False).items()
            if key != "warm_start"
        }

    def _changed_params(self):
        """Names of the parameters changed since the net was built; errors for the fixed ones."""
        built = getattr(self, "_built_params", None)
        if built is None:  # a model saved before this was recorded: nothing known to differ
            self._built_params = built = self._tracked_params()
        now = self._tracked_params()
        changed = {key for key in now if not _same(now[key], built.get(key))}
        fixed = sorted(changed.intersection(self._FIXED_PARAMS))
        if fixed:
            was = ", ".join(f"{key}={built.get(key)!r}" for key in fixed)
            raise ValueError(
                f"{', '.join(fixed)} changed since this {type(self).__name__} was fitted "
                f"({was} then), but it shapes the fitted weights, so training cannot go on "
                "from them. Set it back to go on training, or fit anew (warm_start=False; "
                "partial_fit on a fresh estimator)."
            )
        return changed

    def _apply_params(self, changed, seed, train_split, incremental, device):
        """Rebuild the parts of the fitted net whose parameters changed (as skorch does).

        ``seed``, ``train_split`` and ``device`` were worked out (and checked) by the
        caller; a warm-start fit (not ``incremental``) holds out ``train_split``.
        """
        net = self.net_
        if changed.intersection(self._MODULE_PARAMS):
            add, mult = self._noise_levels()
            self._module_kwargs.update(
                noise_type=self.noise_type, noise_additive=add, noise_multiplicative=mult,
                noise_increment=self.noise_increment, solver=self.solver, beta=self.beta,
                gamma_a=self.gamma, gamma_w=self.gamma, linear_weight=self.linear_weight,
            )
            self._module_kwargs["augment"] = float(self.augment)
            net.module_.augment = float(self.augment)
            net.module_.configure(**{
                key: self._module_kwargs[key]
                for key in ("noise_type", "noise_additive", "noise_multiplicative",
                            "noise_increment", "solver", "beta", "gamma_a", "gamma_w",
                            "linear_weight")
            })
        if "random_state" in changed:  # the shuffling and the noise streams
            self._seed = seed
            net.iterator_train__generator.manual_seed(seed)
        if "device" in changed:
            net.set_params(device=device)
            net.module_.to(device)
            net.optimizer_.load_state_dict(net.optimizer_.state_dict())  # moves Adam's state
        validation = getattr(self, "_validation", net.train_split is not None)
        if not incremental:  # partial_fit holds nothing out (see _incremental)
            net.train_split = train_split
            validation, self._validation = train_split is not None, train_split is not None
        if changed.intersection(self._CALLBACK_PARAMS) or (
            "early_stopping" in dict(net.callbacks_)) != validation:
            net.verbose = int(self.verbose)
            net.set_params(callbacks=self._callbacks(self._schedule_epochs, validation=validation))
            net.initialize_callbacks()
        self._built_params = self._tracked_params()

    @contextmanager
    def _incremental(self, incremental):
        """partial_fit: one epoch at the constant rate learning_rate_init, on all the data.

        As in scikit-learn's MLP, partial_fit neither follows the learning-rate
        schedule (counted across calls, it would reach rate 0 and climb back)
        nor holds out data for early stopping. (A later warm-start fit runs its
        own schedule from learning_rate_init.)
        """
        if not incremental:
            yield
            return
        net = self.net_
        callbacks, split = net.callbacks_, net.train_split
        net.callbacks_ = [
            (name, cb) for name, cb in callbacks if name not in ("lr_scheduler", "early_stopping")
        ]
        net.train_split = None
        net.set_params(lr=self.learning_rate_init)
        try:
            yield
        finally:
            net.callbacks_, net.train_split = callbacks, split

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
        state.setdefault("noise_increment", "gaussian")  # saved before it was a parameter
        # Saved by 0.3 and before: one observation per step, read one way.
        state.setdefault("window", 1)
        state.setdefault("bidirectional", False)
        state.setdefault("augment", 0.0)
        if module_state is not None:
            state.setdefault("window_", 1)
            for key, value in (("window", 1), ("bidirectional", False), ("augment", 0.0)):
                state.get("_built_params", {}).setdefault(key, value)
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
            if not hasattr(self, "_schedule_epochs"):  # saved by 0.1: max_iter was the span
                self._schedule_epochs = self.max_iter
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


def _same(a, b):
    """Whether a parameter kept its value (callbacks and other objects: the same object)."""
    if a is b:
        return True
    if _is_number(a) and _is_number(b):  # np.int64(8) is 8: numpy and Python numbers alike
        return bool(a == b)
    try:
        return bool(type(a) is type(b) and a == b)
    except (TypeError, ValueError):
        return False


def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))


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
