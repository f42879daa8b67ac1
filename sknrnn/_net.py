"""The training loop: everything in sknrnn that knows skorch, and nothing else does.

The estimators (``_base.py``, ``_classes.py``) own the scikit-learn side:
parameters, data, random streams, the module's arguments. This module receives
their values (the loop's settings as a ``_plan.LoopSettings``, never the
estimator), builds a skorch ``NeuralNet`` around the module and runs it: the
callbacks (non-finite-loss stop, progress bar, epoch log, learning-rate
schedule, clipping, early stopping), the sample-weighted loss, the batch
dataset, fused Adam, the classifier and regressor nets (the regressor's loss
standardizes the targets), building a net, applying changed parameters to a
fitted net, partial-fit mode, the warm-start restart of the schedule, and the
net's state as plain arrays for saving and loading.
"""

import math
import sys
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import Callback, EarlyStopping, GradientNormClipping, LRScheduler, PrintLog
from skorch.dataset import Dataset, ValidSplit
from skorch.history import History
from skorch.utils import Ansi, to_tensor
from torch.utils.data import default_convert

from ._inference import batch_rows, module_device
from ._validation import unstandardize


# -- callbacks ------------------------------------------------------------------
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


class _Warmup(Callback):
    """The learning rate rises linearly over the first epoch of each training call.

    At batch ``k`` (from 0) of the first epoch of ``b`` batches the optimizer steps
    at ``(k + 1) / b`` of the rate that the schedule sets, restored after the step,
    so that it composes with any scheduler. Adam's first steps move every weight by
    about the full rate whatever its gradient; at 0.01 they made the recursion
    explode on the first epoch of some seeds (losses of 1e3 to 1e6) and lost
    up to 0.2 accuracy on digits (see ``benchmarks/README.md``).
    """

    def initialize(self):
        self.batches_ = self.seen_ = 0
        self.saved_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        self.batches_ = self.seen_ = 0

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.seen_ == 0 and dataset_train is not None:
            self.batches_ = max(1, math.ceil(len(dataset_train) / net.batch_size))

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training or self.seen_ >= self.batches_:
            return
        groups = net.optimizer_.param_groups
        self.saved_ = [group["lr"] for group in groups]
        for group in groups:
            group["lr"] = group["lr"] * (self.seen_ + 1) / self.batches_

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        if self.saved_ is not None:
            for group, lr in zip(net.optimizer_.param_groups, self.saved_):
                group["lr"] = lr
            self.saved_ = None
        self.seen_ += 1


def _silent(*args, **kwargs):
    pass


def _callbacks(loop, epochs, *, held_out):
    """The callbacks of the training loop, from its settings ``loop`` (a LoopSettings)."""
    callbacks = [("nonfinite_loss", _StopOnNonFiniteLoss())]
    if loop.lr_schedule == "cosine":
        # Each fit runs a schedule of its own (last_epoch=-1: not continued from the
        # epochs of an earlier call), over the epochs it plans (see restart_schedule).
        callbacks.append(
            ("lr_scheduler", LRScheduler("CosineAnnealingLR", T_max=epochs, last_epoch=-1))
        )
        callbacks.append(("warmup", _Warmup()))
    if loop.clip_grad_norm is not None:
        callbacks.append(("clipping", GradientNormClipping(loop.clip_grad_norm)))
    for i, callback in enumerate(loop.callbacks):
        if isinstance(callback, tuple):
            callbacks.append(callback)
        else:
            callbacks.append((f"user_{i}_{type(callback).__name__}", callback))
    verbose = loop.verbose
    if verbose == 1:
        callbacks.append(("progress", _EpochProgress(total=int(epochs))))
    elif verbose >= 2:
        callbacks.append(("epoch_log", _EpochLog()))
    if held_out:
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    patience=int(loop.n_iter_no_change),
                    threshold=loop.tol,
                    threshold_mode="abs",
                    load_best=True,
                    sink=print if verbose >= 2 else _silent,
                ),
            )
        )
    return callbacks


# -- the validation set of early stopping ------------------------------------------
def n_held_out(validation_fraction, n_samples):
    """Sequences that the validation split holds out of ``n_samples`` (as ValidSplit)."""
    return math.ceil(validation_fraction * n_samples)


def validation_split(validation_fraction, n_classes, seed):
    """skorch's split of the validation set (stratified for a classifier)."""
    return ValidSplit(validation_fraction, stratified=n_classes > 0, random_state=seed)


def checked_validation_split(loop, targets, classes, seed):
    """The validation split of fit for early stopping (None without), checked on y.

    ``loop``: the LoopSettings; ``classes``: a classifier's classes (None for a regressor).
    """
    n_classes = 0 if classes is None else len(classes)
    if not loop.early_stopping:
        return None
    n_samples = len(targets)
    n_valid = n_held_out(loop.validation_fraction, n_samples)
    needed = max(n_classes, 1)
    what = f" with all {n_classes} classes" if n_classes else ""
    if n_valid < needed:
        raise ValueError(
            f"early_stopping=True holds out validation_fraction={loop.validation_fraction} "
            f"of {n_samples} samples ({n_valid}), too few for a validation set{what}. Use "
            "more data, a larger validation_fraction, or early_stopping=False."
        )
    if n_samples - n_valid < needed:
        raise ValueError(
            f"early_stopping=True with validation_fraction={loop.validation_fraction} leaves "
            f"{n_samples - n_valid} of {n_samples} samples for training, too few{what}. Use "
            "more data, a smaller validation_fraction, or early_stopping=False."
        )
    if n_classes:
        counts = np.bincount(targets, minlength=n_classes)
        if counts.min() < 2:
            rare = classes[counts < 2][:5].tolist()
            raise ValueError(
                f"early_stopping=True splits off a stratified validation set, which needs at "
                f"least 2 samples of each class; classes {rare} have fewer. Use more data "
                "of these classes, or early_stopping=False."
            )
    return validation_split(loop.validation_fraction, n_classes, seed)


# -- the loss, the data and the optimizer ------------------------------------------
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


class _ClassifierNet(_WeightedLoss, NeuralNetClassifier):
    """skorch's NeuralNetClassifier with a sample-weighted loss."""


class _RegressorNet(_WeightedLoss, NeuralNetRegressor):
    """skorch's NeuralNetRegressor with a sample-weighted loss."""


class _StandardizedMSELoss(torch.nn.MSELoss):
    """Mean squared error on targets standardized (in float64) with the statistics of fit."""

    def __init__(self, mean, scale, **kwargs):
        super().__init__(**kwargs)
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean), dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale), dtype=torch.float64))

    def forward(self, input, target):
        z = (target.to(self.mean.dtype) - self.mean) / self.scale
        return super().forward(input, z.to(input.dtype))


class _Unstandardize:
    """The net's outputs back in the units of y (float64): what skorch's scoring sees."""

    def __init__(self, mean, scale):
        self.mean, self.scale = np.asarray(mean), np.asarray(scale)

    def __call__(self, outputs):
        mean = torch.as_tensor(self.mean, device=outputs.device)
        scale = torch.as_tensor(self.scale, device=outputs.device)
        return unstandardize(outputs.to(torch.float64), mean, scale)


def _net_settings(n_classes, target_scaling):
    """``(skorch net class, its settings)``: a classifier's, or a regressor's when
    ``target_scaling`` is the ``(mean, scale)`` of its targets.

    The criterion, and what the net's ``predict`` / ``predict_proba`` give back,
    which is what skorch's scoring callbacks (``EpochScoring``) score: class
    indices and probabilities, or predictions in the units of y.
    """
    if target_scaling is None:
        return _ClassifierNet, dict(
            criterion=torch.nn.CrossEntropyLoss,
            criterion__reduction="none",  # per-sequence losses, weighted in get_loss
            classes=list(range(n_classes)),  # y reaches the net as indices into classes_
            predict_nonlinearity="auto",  # softmax: the net's predict_proba gives probabilities
            callbacks__valid_acc=None,  # no extra validation scoring unless asked for
        )
    mean, scale = target_scaling
    return _RegressorNet, dict(
        criterion=_StandardizedMSELoss,
        criterion__reduction="none",  # per-sequence losses, weighted in get_loss
        criterion__mean=mean,
        criterion__scale=scale,
        predict_nonlinearity=_Unstandardize(mean, scale),
    )


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


def _fused_adam(device):
    """Whether Adam runs as one fused kernel on ``device`` (CUDA; the CPU from torch 2.4)."""
    kind = torch.device(device).type
    return kind == "cuda" or (kind == "cpu" and torch.torch_version.TorchVersion(
        torch.__version__) >= (2, 4))


# -- building a net, and changing a fitted one -------------------------------------
def build_net(loop, module, *, batch_size, epochs, split, n_classes, target_scaling, seed,
              device):
    """An initialized skorch net that trains ``module`` with the estimator's parameters.

    ``split``: the validation split of early stopping, or None; ``seed`` seeds the
    shuffling (and the validation loader); ``target_scaling``: None for a
    classifier of ``n_classes`` classes, the targets' ``(mean, scale)`` for a
    regressor.
    """
    net_class, settings = _net_settings(n_classes, target_scaling)
    net = net_class(
        module=module,
        optimizer=torch.optim.Adam,
        # One kernel for the whole update (CPU: torch >= 2.4): on small sets, where
        # the steps are short, the per-parameter loop of Adam cost 8% of a fit.
        optimizer__fused=_fused_adam(device),
        lr=loop.learning_rate_init,
        dataset=_BatchDataset,
        max_epochs=epochs,
        batch_size=batch_size,
        train_split=split,
        # Early stopping reads the validation loss: only where there is a validation set.
        callbacks=_callbacks(loop, epochs, held_out=split is not None),
        iterator_train__shuffle=True,
        iterator_train__collate_fn=default_convert,
        iterator_valid__collate_fn=default_convert,
        iterator_train__generator=torch.Generator().manual_seed(seed),
        # The DataLoader draws a base seed from its generator even without shuffling:
        # give it one of its own, so that validation never draws from torch's global one.
        iterator_valid__generator=torch.Generator().manual_seed(seed),
        iterator_valid__batch_size=batch_rows(),
        verbose=loop.verbose,
        device=device,
        callbacks__print_log=None,  # replaced by _EpochLog ("epoch_log") in _callbacks
        **settings,
    )
    return net.initialize()


def update_net(net, loop, *, rebuild_callbacks, seed=None, device=None, split=None,
               partial=False, epochs):
    """Apply the estimator's changed parameters to a fitted net, through skorch's ``set_params``.

    ``seed``: reseed the shuffling (``random_state`` changed); ``device``: move the
    net (``device`` changed); ``split``: the validation split of a warm-start fit
    (``partial``: partial_fit, which holds nothing out, keeps the net's). The
    callbacks are rebuilt when ``rebuild_callbacks`` or when early stopping
    must come or go with the validation set. Returns whether the net holds out a
    validation set.
    """
    if seed is not None:  # the shuffling stream
        net.iterator_train__generator.manual_seed(seed)
    if device is not None:
        net.set_params(device=device)
        net.module_.to(device)
        net.optimizer_.load_state_dict(net.optimizer_.state_dict())  # moves Adam's state
    if not partial:
        net.set_params(train_split=split)
    held_out = net.train_split is not None
    if rebuild_callbacks or ("early_stopping" in dict(net.callbacks_)) != held_out:
        net.set_params(
            verbose=loop.verbose,
            callbacks=_callbacks(loop, epochs, held_out=held_out),
        )
        net.initialize_callbacks()
    return held_out


def restart_schedule(net, learning_rate, epochs):
    """A warm-start fit is a new fit from the fitted weights: its own schedule.

    The rate restarts at ``learning_rate`` (skorch's ``lr``, set on every
    parameter group; Adam's moments are kept), which is also the peak
    (``initial_lr``) of the cosine schedule, annealed to 0 over the ``epochs``
    that this call plans (the scheduler starts afresh, ``last_epoch=-1``).
    """
    net.set_params(lr=learning_rate)
    for group in net.optimizer_.param_groups:
        group["initial_lr"] = group["lr"]
    scheduler = dict(net.callbacks_).get("lr_scheduler")
    if scheduler is not None:
        scheduler.set_params(T_max=epochs, last_epoch=-1)


@contextmanager
def _partial_fit_mode(net, learning_rate):
    """partial_fit: one epoch at the constant rate ``learning_rate``, on all the data.

    As in scikit-learn's MLP, partial_fit neither follows the learning-rate
    schedule (counted across calls, it would reach rate 0 and climb back)
    nor holds out data for early stopping. (A later warm-start fit runs its
    own schedule from learning_rate_init.)
    """
    callbacks, split = net.callbacks_, net.train_split
    net.callbacks_ = [
        (name, cb) for name, cb in callbacks
        if name not in ("lr_scheduler", "warmup", "early_stopping")
    ]
    net.set_params(train_split=None, lr=learning_rate)
    try:
        yield
    finally:
        net.callbacks_, net.train_split = callbacks, split


def train(net, inputs, targets, *, epochs, batch_size, partial=False, learning_rate=None):
    """Train ``net`` for ``epochs`` epochs on the input dict and targets.

    ``partial``: partial_fit mode (see ``_partial_fit_mode``) at ``learning_rate``.
    The history keeps the epochs that ran to their end: an epoch cut short (a
    diverging loss, a KeyboardInterrupt) leaves no row. skorch ends training
    quietly on a KeyboardInterrupt: here a UserWarning says so, and the last
    row of the history records it (``"interrupted": True``).
    """
    net.set_params(batch_size=batch_size)
    progress = dict(net.callbacks_).get("progress")
    if progress is not None:  # the bar counts the epochs of this call
        progress.set_params(total=int(epochs))
    before = len(net.history)
    try:
        if partial:
            with _partial_fit_mode(net, learning_rate):
                net.partial_fit(inputs, targets, epochs=epochs)
        else:
            net.partial_fit(inputs, targets, epochs=epochs)
    finally:
        if len(net.history) and "train_loss" not in net.history[-1]:
            net.history.pop()  # the epoch that did not end
    ran = len(net.history) - before
    if ran < epochs and (partial or not _stopped_early(net)):
        _interrupted(net, ran, epochs)
    return net.history


def _stopped_early(net):
    """Whether early stopping ended the last training call (skorch stops it by a KeyboardInterrupt)."""
    stopping = dict(net.callbacks_).get("early_stopping")
    return stopping is not None and stopping.misses_ >= stopping.patience


def _interrupted(net, ran, epochs):
    """Record and say that a KeyboardInterrupt ended training after ``ran`` of ``epochs``."""
    if len(net.history):
        net.history.record("interrupted", True)
    warnings.warn(
        f"Training was interrupted (KeyboardInterrupt) after {ran} of the {epochs} epochs "
        "that this call planned: the model keeps the weights of the last step that ran, "
        "n_iter_ counts the epochs that ran to their end, and the last row of net_.history "
        "says interrupted=True. Call fit again to start over, or go on training with "
        "partial_fit (or fit with warm_start=True).",
        UserWarning,
        stacklevel=5,
    )


def loss(net, outputs, targets):
    """The training loss of ``outputs`` (the module's) against encoded ``targets``."""
    return net.get_loss(outputs, targets)


# -- the net's state as plain arrays (persistence) ---------------------------------
def net_state(net):
    """What a saved model keeps of the net: NumPy arrays and plain values only.

    The module's weights, the history (without the batches), and what training
    more after a load needs to go on exactly as without the save: the
    optimizer's state (Adam's moments, the scheduled learning rate) and the
    state of the shuffling generator.
    """
    return {
        "_module_state": {
            name: tensor.detach().cpu().numpy() for name, tensor in net.module_.state_dict().items()
        },
        "_history": [
            {key: _plain(value) for key, value in row.items() if key != "batches"}
            for row in net.history
        ],
        "_optimizer_state": _to_arrays(net.optimizer_.state_dict()),
        "_shuffle_state": net.iterator_train__generator.get_state().numpy(),
    }


def restore_net(loop, module, state, *, split, n_classes, target_scaling, seed, device, epochs):
    """The net of a loaded model, from ``module`` (weights loaded) and ``net_state``'s dict."""
    # The batch size is set anew by every training call from its own data.
    net = build_net(
        loop, module, batch_size=1, epochs=epochs, split=split, n_classes=n_classes,
        target_scaling=target_scaling, seed=seed, device=device,
    )
    net.history = History(state["_history"])
    if state.get("_optimizer_state") is not None:
        net.optimizer_.load_state_dict(_to_tensors(state["_optimizer_state"]))
    if state.get("_shuffle_state") is not None:
        net.iterator_train__generator.set_state(torch.from_numpy(np.array(state["_shuffle_state"])))
    return net


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


# -- what the estimator keeps of a training call -------------------------------------
def sub_seed(seed, *stream):
    """A 63-bit seed for one random stream of a fit, derived from the estimator's seed."""
    state = np.random.SeedSequence([seed, *stream]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


# The random streams of a fit, each seeded from the estimator's seed.
INIT, NOISE = 0, 1


def new_module(module_class, module_kwargs, seed, device):
    """A module of ``module_class`` built from ``module_kwargs``, initialized from ``seed``.

    Built on the meta device (nothing drawn), then initialized from a generator of
    its own seeded by the fit's seed: torch's global generator is never touched.
    """
    with torch.device("meta"):
        module = module_class(**module_kwargs)
    module = module.to_empty(device=device)
    module.reset_parameters(torch.Generator().manual_seed(sub_seed(seed, INIT)))
    return module


def loaded_module(module_class, module_kwargs, weights, device):
    """A module of ``module_class`` with the saved ``weights`` (a dict of arrays).

    Built without initialization (on the meta device, then given the weights):
    loading draws nothing from torch's random generator, so it cannot disturb a
    fit running meanwhile in another thread.
    """
    with torch.device("meta"):
        module = module_class(**module_kwargs)
    module.load_state_dict(
        {k: torch.from_numpy(np.array(v)) for k, v in weights.items()}, assign=True
    )
    return module.to(device)


def seed_noise(module, seed, n_iter):
    """Give the module its own noise generator, seeded for the next training call.

    Each call (fit, or each continued fit / partial_fit) draws its noise from a
    stream of its own, a function of the fit's ``seed`` and of the ``n_iter``
    epochs run so far: a saved and loaded model goes on with the same noise.
    """
    generator = torch.Generator(device=module_device(module))
    module.generator = generator.manual_seed(sub_seed(seed, NOISE, n_iter))


def history_summary(net, *, held_out):
    """``(n_iter_, loss_curve_, best_loss_)`` of the net's history.

    As scikit-learn's MLP, ``best_loss_`` is the lowest training loss, None when
    the call held out a validation set (``held_out``: early stopping keeps the
    epoch of the lowest validation loss instead) or no epoch ended.
    """
    history = net.history
    # (skorch's history refuses a key when it holds no epoch: a first epoch that diverged)
    curve = list(history[:, "train_loss"]) if len(history) else []
    return len(history), curve, None if held_out or not curve else min(curve)


def warn_if_still_improving(net, loop, epochs, *, held_out, name):
    """A ConvergenceWarning where scikit-learn's MLP warns and it means something.

    Only at a constant rate: the cosine schedule anneals the rate to 0 at the
    end of the epochs a fit plans, so running them all is the plan. At a
    constant rate, a fit that ran all its ``epochs`` was cut short by
    ``max_iter`` when early stopping (which did not stop it) held out a
    validation set, or else when the training loss still improved by more than
    ``tol`` within the last ``n_iter_no_change`` epochs. The message says what
    the loss that counts (the validation loss under early stopping) did.
    ``loop``: the LoopSettings; ``held_out``: whether the net held out a validation
    set; ``name``: the estimator's, for the message.
    """
    if loop.lr_schedule != "constant":
        return
    key = "valid_loss" if held_out else "train_loss"
    curve = list(net.history[-epochs:, key])
    recent = curve[-(loop.n_iter_no_change + 1):]
    if not held_out and len(recent) > 1 and (min(recent[1:]) >= recent[0] - loop.tol):
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
        f"n_iter_no_change={loop.n_iter_no_change} epochs without an improvement by more "
        f"than tol={loop.tol}" if held_out else
        f"the loss fell by more than tol={loop.tol} within the last "
        f"n_iter_no_change={loop.n_iter_no_change} epochs and {state}"
    )
    warnings.warn(
        f"{name} ran all {epochs} epochs that this fit planned at the "
        f"constant rate learning_rate_init, and {what}: it has not converged. "
        "Raise max_iter, or use lr_schedule='cosine', which anneals the rate over the "
        "planned epochs.",
        ConvergenceWarning,
    )
