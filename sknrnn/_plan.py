"""The plan of a training call: plain, immutable values that the lower modules receive.

``fit`` and ``partial_fit`` turn the parameters and the data into one
:class:`FitPlan` before anything is trained or assigned (``BaseNoisyRNN._plan``),
by the rules of this module: the training budget (``training_budget`` and the
``_AUTO_*`` constants, which ``auto_budget`` sets for a block), the "auto" window
and step, and the module's arguments. The estimator then assigns its fitted
attributes from it in one place (``BaseNoisyRNN._apply``). The modules below the estimator (``_inputs``,
``_validation``, ``_continued``, ``_net``) take the values they need from it
(the training loop's settings as a :class:`LoopSettings`, the input
statistics as a :class:`Standardization`) and return values: none of them
reads or writes an attribute of the estimator.
"""

import math
from contextlib import contextmanager
from dataclasses import dataclass, fields
from types import MappingProxyType

import numpy as np

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

# standardize="auto": subtract the mean series when what is left of the training data's
# variance (channels averaged) is below _AUTO_STEP_SHARE: the sequences then differ by
# under a tenth of the input's scale, less than the training noise puts into the state.
_AUTO_STEP_SHARE = 0.01

_AUTO_NAMES = (
    "_AUTO_BATCH", "_AUTO_STEPS", "_AUTO_EPOCHS", "_AUTO_WINDOW_STEPS", "_AUTO_DT_RANGE",
    "_AUTO_STEP_SHARE",
)


@contextmanager
def auto_budget(**values):
    """Set some of the ``_AUTO_*`` constants above for the block, then put them back.

    The supported way for benchmarks and tests to try other budgets: the
    constants are read by every training call, so the fits inside the block
    use the values given, e.g. ``with auto_budget(_AUTO_STEPS=4000): est.fit(X, y)``.
    Not thread-safe: the constants are module globals.

    Examples
    --------
    >>> from sknrnn import _plan
    >>> with _plan.auto_budget(_AUTO_STEPS=100):
    ...     _plan._AUTO_STEPS
    100
    >>> _plan._AUTO_STEPS == 100
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


def typical_length(lengths):
    """The length that the "auto" rules read: the median of the sequences' lengths.

    Not the padded length: one long sequence among short ones must not make
    every short one a single step of wide windows.
    """
    return int(math.ceil(np.median(lengths)))


def auto_window(window, n_steps):
    """Observations per recurrence step: ``window``, or the "auto" rule on ``n_steps``."""
    if window == "auto":
        return max(1, math.ceil(n_steps / _AUTO_WINDOW_STEPS)) if _AUTO_WINDOW_STEPS else 1
    return int(window)


def auto_dt(dt, n_steps):
    """The initial step (or range of steps) for a recurrence of ``n_steps`` steps."""
    if isinstance(dt, str):  # "auto"
        if _AUTO_DT_RANGE is not None and n_steps > _AUTO_DT_RANGE:
            return (1.0 / n_steps, 1.0)
        # A total integration time of about 64 time units, steps at most 1.
        return min(1.0, 64.0 / max(n_steps, 1))
    if isinstance(dt, (tuple, list)):  # (the constraints of _params.py checked it)
        return (float(dt[0]), float(dt[1]))
    return float(dt)


def share_left(x_scale, left_scale):
    """The share of the variance of X that its mean series leaves, ``(left_scale /
    x_scale) ** 2`` averaged over the channels (``x_scale``: the channels' scales;
    ``left_scale``: those of what the mean series leaves)."""
    return float(np.mean((left_scale / x_scale) ** 2))


def auto_standardize(standardize, x_scale, left_scale):
    """``"channel"`` or ``"step"``: ``standardize``, or the "auto" rule on the share of
    the variance of X that its mean series leaves (``share_left``)."""
    if standardize == "auto":
        return "step" if share_left(x_scale, left_scale) < _AUTO_STEP_SHARE else "channel"
    return standardize


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






def module_arguments(params, n_steps, n_channels, n_outputs, equations, reading):
    """All the arguments of :class:`sknrnn.NoisyRNN` for data of ``n_steps`` steps.

    ``params``: the estimator's parameters; ``equations`` and ``reading``: the
    module's constants from them (see ``BaseNoisyRNN._equation_arguments``).
    """
    window = auto_window(params["window"], n_steps)
    return dict(
        input_size=n_channels,
        hidden_size=int(params["hidden_size"]),
        output_size=n_outputs,
        dt=auto_dt(params["dt"], math.ceil(n_steps / window)),
        learn_dt=params["learn_dt"],
        window=window,
        bidirectional=bool(params["bidirectional"]),
        readout=params["readout"],
        **equations,
        **reading,
    )


def frozen(mapping):
    """A read-only view of a copy of ``mapping`` (for the plan's dicts)."""
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Standardization:
    """What fit learned of X: its per-channel statistics, its mean series, and the
    spacing of its times.

    ``x_mean`` and ``x_scale`` are float64 arrays ``(n_channels,)``; ``x_offset``
    ``(n_steps, n_channels)`` is fit's mean series as deviations from ``x_mean``
    (``standardize="step"``; None: ``"channel"``), subtracted after ``x_mean`` before
    the division by ``x_scale``; ``time_step`` is the median spacing of the observation
    times given to fit (None: fitted without times).
    """

    x_mean: np.ndarray
    x_scale: np.ndarray
    time_step: float = None
    x_offset: np.ndarray = None

    @property
    def n_channels(self):
        return len(self.x_mean)

    @property
    def kind(self):
        """``"step"`` with a mean series, else ``"channel"`` (the fitted ``standardize_``)."""
        return "channel" if self.x_offset is None else "step"

    def offset(self, n_steps):
        """``x_offset`` for sequences of ``n_steps`` steps (None without one): its first
        ``n_steps`` rows, the last row repeated past the steps that fit saw."""
        if self.x_offset is None:
            return None
        offset = self.x_offset[:n_steps]
        if n_steps > len(offset):
            extra = np.repeat(self.x_offset[-1:], n_steps - len(offset), axis=0)
            offset = np.concatenate([offset, extra])
        return offset


@dataclass(frozen=True)
class LoopSettings:
    """The parameters that the training loop reads (its callbacks, optimizer and split).

    The fields are the parameters of ``_params.py`` whose role is ``LOOP`` and the
    learning rate, which skorch's net takes as ``lr``.
    """

    learning_rate_init: float
    lr_schedule: str
    clip_grad_norm: float
    early_stopping: bool
    validation_fraction: float
    n_iter_no_change: int
    tol: float
    verbose: int
    callbacks: tuple

    @classmethod
    def of(cls, params):
        """The settings in ``params`` (an estimator's ``get_params()``)."""
        values = {field.name: params[field.name] for field in fields(cls)}
        values["callbacks"] = tuple(values["callbacks"] or ())
        values["verbose"] = int(values["verbose"])
        return cls(**values)


@dataclass(frozen=True)
class FitPlan:
    """Everything a training call does, worked out (and checked) before it starts.

    Attributes
    ----------
    reset, partial : bool
        A new fit (``reset``) or continued training; ``partial_fit`` (``partial``).
    inputs : mapping
        The arrays the module reads (``x``, ``lengths``, ``sample_weight``, and
        ``step_scale`` with times).
    targets : ndarray
        The encoded targets.
    standardization : Standardization
        The statistics of X (learned by this call when ``reset``).
    n_outputs, n_classes : int
        Outputs of the decoder; classes of a classifier (0 for a regressor).
    seed : int
        The seed of the call's random streams.
    split : skorch ValidSplit or None
        The validation split of early stopping.
    batch_size, epochs, planned : int
        Minibatch size, epochs this call runs, epochs the fit plans (its schedule).
    device : str
        The torch device, resolved.
    loop : LoopSettings
        The training loop's settings.
    equations, reading : mapping
        The constants of the module's equations (``NoisyRNN.configure``) and how it
        reads its input (``augment``, ``input_clip``): what a fitted module takes in
        place.
    module_kwargs : mapping or None
        All the module's arguments (a new fit); None when training goes on.
    changed : frozenset
        The parameters changed since the net was built (continued training).
    params : mapping
        The parameters of this call, against which the next call's changes are found.
    """

    reset: bool
    partial: bool
    inputs: MappingProxyType
    targets: np.ndarray
    standardization: Standardization
    n_outputs: int
    n_classes: int
    seed: int
    split: object
    batch_size: int
    epochs: int
    planned: int
    device: str
    loop: LoopSettings
    equations: MappingProxyType
    reading: MappingProxyType
    module_kwargs: MappingProxyType
    changed: frozenset
    params: MappingProxyType


def plan_call(params, inputs, *, reset, tracked, equations, reading, n_outputs, **values):
    """The FitPlan of a training call from what the estimator worked out.

    ``inputs``: the module's input dict (its lengths and channels decide the
    module's arguments in a new fit, ``reset``); ``tracked``: the parameters
    against which the next call's changes are found; ``values``: the other fields.
    """
    module_kwargs = None
    if reset:
        module_kwargs = frozen(module_arguments(
            params, typical_length(inputs["lengths"]), inputs["x"].shape[2], n_outputs,
            equations, reading,
        ))
    return FitPlan(
        reset=reset, inputs=frozen(inputs), n_outputs=n_outputs, equations=frozen(equations),
        reading=frozen(reading), module_kwargs=module_kwargs, params=frozen(tracked),
        **values,
    )
