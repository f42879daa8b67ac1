"""The estimators' parameters, in one table: everything else about them derives from it.

Each :class:`Param` holds a parameter's default, its constraints (checked by
scikit-learn's ``_validate_params`` before any data is read: types, ranges, the
elements of pairs, device names, callbacks, module classes), its role, the value
that models saved before it existed had (``legacy``, filled in by
``_compat.py``), and its documentation. From the table come:

- ``parameter_constraints``: the estimators' ``_parameter_constraints``;
- ``FIXED`` / ``IN_MODULE`` / ``READING`` / ``IN_LOOP``: which parameters shape the
  weights (they cannot change on a fitted model), which the fitted module takes
  in place, which it reads its input with, and which rebuild the training
  loop's callbacks when they change (``_continued.py``);
- ``LEGACY``: the defaults that ``_compat.py`` fills in for older saves;
- ``parameter_docs``: the "Parameters" section of the estimators' docstrings.

``tests/test_parameters.py`` holds the estimators' signatures and the documentation's
parameter table (``docs/user_guide/estimators.md``) equal to it.
"""

import math
import textwrap
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, Options, StrOptions
from skorch.callbacks import Callback

from ._sde import NOISE_INCREMENTS, NOISE_TYPES, READOUTS, SOLVERS, NoisyRNN

# Roles: what changing a parameter does to a fitted model.
SHAPE = "shape"  # shapes the weights: fixed after the first fit
EQUATION = "equation"  # a constant of the module's equations: changed in place
READING = "reading"  # how the module reads its input: changed in place
LOOP = "loop"  # the training loop's callbacks: rebuilt when it changes
BUDGET = "budget"  # read by each training call: nothing to rebuild
SEED = "seed"  # reseeds the shuffling and the noise streams
DEVICE = "device"  # moves the net
TARGETS = "targets"  # how the targets are weighed (the classifier's class_weight)
CALL = "call"  # how fit treats a fitted model (warm_start): not a setting of the model

_PRESENT = object()  # legacy of a parameter that every saved model has


@dataclass(frozen=True)
class Param:
    """One parameter of the estimators: see the module docstring."""

    name: str
    default: object
    role: str
    constraints: list
    kind: str  # its type, as the docstring's "name : kind, default=..." line says it
    legacy: object = _PRESENT
    doc: str = ""
    only: str = None  # "classifier": a parameter of that estimator alone

    def entry(self):
        """The numpydoc entry of the parameter."""
        header = f"    {self.name} : {self.kind}, default={_shown(self.default)}"
        return f"{header}\n{textwrap.indent(self.doc, '    ')}"


def _shown(value):
    """A default as the docs write it: strings in double quotes."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


# -- constraints that scikit-learn's validation does not have --------------------------
class _Test(Options):
    """A constraint with a test and a description of its own.

    A subclass of ``Options`` only so that scikit-learn's validation takes it as
    a constraint object; it lists no options.
    """

    def __init__(self, test, description):
        super().__init__(object, set())
        self.test, self.description = test, description

    def is_satisfied_by(self, val):
        return self.test(val)

    def __str__(self):
        return self.description


class _AtLeastFloat32(Interval):
    """A number at least float32's smallest normal number (the module computes in float32)."""

    TINY = float(np.finfo(np.float32).tiny)

    def __init__(self):
        super().__init__(Real, self.TINY, None, closed="left")

    def __str__(self):
        return (
            f"a float of at least {self.TINY:.2g} (float32's smallest normal number: the "
            "model computes in float32, where a smaller value is 0 or has lost its precision)"
        )


def is_real(value):
    """Whether ``value`` is a real number, numpy's or Python's (not a bool)."""
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))


def _is_number(value, low=None):
    return is_real(value) and math.isfinite(value) and (low is None or value >= low)


def _is_level_pair(value):
    return isinstance(value, (tuple, list)) and len(value) == 2 and all(
        _is_number(v, 0) for v in value
    )


def _is_dt_range(value):
    return (
        isinstance(value, (tuple, list)) and len(value) == 2
        and all(_is_number(v, _AtLeastFloat32.TINY) for v in value) and value[0] <= value[1]
    )


# The accelerators: their name, the torch module whose is_available() says one is
# here, and how to get one.
ACCELERATORS = {
    "cuda": ("CUDA", "cuda", "install a CUDA build of torch"),
    "mps": ("MPS", "backends.mps", "run on a Mac with Apple silicon"),
    "xpu": ("XPU", "xpu", "install an XPU build of torch"),
}
DEVICE_TYPES = ("cpu", *ACCELERATORS)


def device_type(device):
    """The type of a torch device name (``"cuda:1"`` -> ``"cuda"``); None for other strings."""
    try:
        return torch.device(device).type
    except (RuntimeError, TypeError, ValueError):
        return None


def _is_device(value):
    return isinstance(value, str) and (value == "auto" or device_type(value) in DEVICE_TYPES)


def _is_callback(item):
    callback = item[1] if isinstance(item, tuple) and len(item) == 2 else item
    name_ok = not isinstance(item, tuple) or isinstance(item[0], str)
    return name_ok and (isinstance(callback, Callback) or (
        isinstance(callback, type) and issubclass(callback, Callback)
    ))


_LEVEL = _Test(lambda value: _is_number(value, 0), "a finite float >= 0")
_LEVEL_PAIR = _Test(_is_level_pair, "an (additive, multiplicative) pair of finite floats >= 0")
_AT_LEAST_FLOAT32 = _AtLeastFloat32()
_DT_RANGE = _Test(
    _is_dt_range,
    f"a (dt_min, dt_max) pair of finite floats of at least {_AtLeastFloat32.TINY:.2g} with "
    "dt_min <= dt_max",
)
_DEVICE_NAME = _Test(
    _is_device,
    "'auto' or a torch device that holds weights, such as 'cpu', 'cuda' or 'cuda:1' "
    "(lower case)",
)
_SKORCH_CALLBACKS = _Test(
    lambda value: isinstance(value, list) and all(_is_callback(item) for item in value),
    "a list of skorch callbacks (e.g. skorch.callbacks.Checkpoint(...)) or (name, callback) "
    "pairs (skorch's own logging is on with verbose=1)",
)
_MODULE_CLASS = _Test(
    lambda value: isinstance(value, type) and issubclass(value, NoisyRNN),
    "a subclass of sknrnn.NoisyRNN (the class, not an instance)",
)


PARAMS = (
    Param(
        "hidden_size", 64, SHAPE,
        [Interval(Integral, 1, None, closed="left")],
        'int',
        doc="""\
    Dimension of the hidden state.
""",
    ),
    Param(
        "noise_type", "mixed", EQUATION,
        [StrOptions(set(NOISE_TYPES))],
        '{"none", "additive", "multiplicative", "mixed"}',
        doc="""\
    Diffusion of the SDE: ``sigma(h) = s1`` (additive), ``s2 * h``
    (multiplicative) or ``s1 + s2 * h`` (mixed), elementwise per hidden unit.
    ``"none"`` is the deterministic Lipschitz RNN. Noise is injected in
    training only; prediction is deterministic. The default, mixed noise of
    level 0.2, was chosen on the six sets of 0.4's development suite
    (``benchmarks/accuracy.py``) by accuracy under perturbed inputs at
    matched clean accuracy; on the 27 sets of today's suite it keeps its
    lead under perturbed inputs but costs clean accuracy on a few small
    sets (``benchmarks/README.md``).
""",
    ),
    Param(
        "noise_level", 0.2, EQUATION,
        [_LEVEL, _LEVEL_PAIR],
        'float or (float, float)',
        doc="""\
    The level ``s1`` and/or ``s2``; for ``"mixed"`` a single float sets both
    or a pair gives ``(s1, s2)``. Levels are those of the continuous-time SDE:
    each step adds ``sqrt(dt) * sigma(h) * xi`` with ``xi`` of mean 0 and
    variance 1 per unit (see ``noise_increment``), so the noise does not change
    meaning when ``dt`` changes. Ignored when ``noise_type="none"``.
""",
    ),
    Param(
        "noise_increment", "rademacher", EQUATION,
        [StrOptions(set(NOISE_INCREMENTS))],
        '{"rademacher", "gaussian"}',
        legacy="gaussian",
        doc="""\
    Distribution of the draws ``xi`` of the noise increment:
    ``"gaussian"``, ``xi ~ N(0, I)``, is Euler-Maruyama; ``"rademacher"``
    draws -1 or +1 with equal probability, the same mean and covariance per
    step: a weak order-1 scheme of the same SDE, which the training noise
    (a regularizer whose effect goes through its covariance) cannot tell
    apart, and several times cheaper to draw. Chosen as the default on the
    development suite of ``benchmarks/accuracy.py``, where both give the
    same accuracy, clean and perturbed (``benchmarks/README.md``).
""",
    ),
    Param(
        "solver", "euler", EQUATION,
        [StrOptions(set(SOLVERS))],
        '{"euler", "midpoint"}',
        doc="""\
    Integrator: Euler-Maruyama, or the explicit midpoint rule for the drift
    (two drift evaluations a step, the noise term unchanged).
""",
    ),
    Param(
        "dt", "auto", SHAPE,
        [_AT_LEAST_FLOAT32, StrOptions({"auto"}), _DT_RANGE],
        'float, (float, float) or "auto"',
        doc="""\
    Initial integration step per hidden unit: a float gives every unit that
    step; a ``(dt_min, dt_max)`` range spreads the units' steps geometrically
    over it, so that some units integrate over the whole sequence and others
    over a few steps (every step at least ``1.2e-38``, float32's smallest
    normal number). ``"auto"``, for a recurrence of ``S`` steps
    (``S = ceil(L / window_)``, ``L`` the median length of the sequences
    given to fit, see ``window``): every unit at 1 up to 64 steps (the
    recurrence spans the sequence at full resolution), the range
    ``(1 / S, 1)`` beyond.
""",
    ),
    Param(
        "learn_dt", True, SHAPE,
        ["boolean"],
        'bool',
        doc="""\
    Train the per-unit step (kept strictly positive by a softplus).
""",
    ),
    Param(
        "window", "auto", SHAPE,
        [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        'int or "auto"',
        legacy=1,
        doc="""\
    Observations read per step of the recurrence: each step reads a window
    of ``window`` consecutive observations through a learned projection,
    so a series of ``T`` steps is integrated in ``ceil(T / window)`` steps
    (faster, and easier to train over long series). ``"auto"`` takes
    ``ceil(L / 128)``, where ``L`` is the median length of the sequences
    given to fit (their NaN end padding not counted, so one long sequence
    among short ones leaves them at full resolution): one observation per
    step up to 128 steps, windows beyond. The value used is ``window_``:
    continued training takes ``"auto"`` and the number ``window_`` alike
    (a fitted model keeps its window).
""",
    ),
    Param(
        "bidirectional", True, SHAPE,
        ["boolean"],
        'bool',
        legacy=False,
        doc="""\
    Read each sequence both ways: a second SDE, with weights of its own,
    reads the windows from the last to the first, and the decoder reads
    both readers (twice the cost of one way; see ``readout``).
""",
    ),
    Param(
        "augment", 0.0, READING,
        [Interval(Real, 0, 0.5, closed="left")],
        'float in [0, 0.5)',
        legacy=0.0,
        doc="""\
    Training-time augmentation of the input: each training sequence is
    cropped by up to this fraction of its length at each end, scaled by
    ``1 + augment * e`` and jittered by ``augment * z`` (``e``, ``z``
    standard normal, in the units of the standardized input), freshly at
    every epoch and never at prediction. 0 disables it.
""",
    ),
    Param(
        "standardize", "auto", SHAPE,
        [StrOptions({"auto", "channel", "step"})],
        '{"auto", "channel", "step"}',
        legacy="channel",
        doc="""\
    How fit standardizes X before the model reads it (the same statistics
    at prediction). ``"channel"``: each channel minus its mean, over its
    standard deviation. ``"step"``: the mean series of the training data
    (the mean at each step and channel, over the sequences observed there)
    subtracted, then each channel over the standard deviation of what is
    left; for aligned series that share one shape (spectra of one kind of
    sample), whose differences per-channel standardization leaves too small
    for the model to read beside its training noise. Steps past fit's longest
    sequence take its last mean. ``"auto"``: ``"step"`` when the mean series
    accounts for more than 99% of the variance (channels averaged), else
    ``"channel"``. The choice is ``standardize_``.
""",
    ),
    Param(
        "input_clip", 3.0, READING,
        [_AT_LEAST_FLOAT32, None],
        'float >= 1.2e-38 or None',
        legacy=None,
        doc="""\
    The model reads ``input_clip * tanh(x / input_clip)`` of the
    standardized input ``x``, in training and at prediction: values within
    one or two standard deviations pass almost unchanged (1 reads as 0.96),
    an outlier (a sensor's spike, a reading stuck at its rail) reaches at
    most ``input_clip``. Smooth, so gradient attacks still see the input.
    None reads the input as it is.
""",
    ),
    Param(
        "readout", "mean", SHAPE,
        [StrOptions(set(READOUTS))],
        '{"mean", "last", "max", "positions"}',
        legacy="last",
        doc="""\
    What the decoder reads of each reader's states: ``"mean"`` the last
    state and the mean of the states over the sequence's steps; ``"last"``
    the last state alone; ``"max"`` the last state and the elementwise
    maximum of the states; ``"positions"`` the last state and the states
    at a quarter, half and three quarters of the sequence.
""",
    ),
    Param(
        "beta", 0.75, EQUATION,
        [Interval(Real, 0, 1, closed="both")],
        'float',
        doc="""\
    Lipschitz parametrization of the hidden matrices, from symmetric (0) to
    skew-symmetric (1).
""",
    ),
    Param(
        "gamma", 0.001, EQUATION,
        [Interval(Real, 0, None, closed="left")],
        'float',
        doc="""\
    Damping: shifts the spectrum of both hidden matrices left by ``gamma``.
""",
    ),
    Param(
        "linear_weight", 1.0, EQUATION,
        [Interval(Real, None, None, closed="neither")],
        'float',
        doc="""\
    Weight of the linear term ``A h`` in the drift (the paper's alpha).
""",
    ),
    Param(
        "max_iter", "auto", BUDGET,
        [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        'int or "auto"',
        doc="""\
    Number of epochs (an upper bound with ``early_stopping``). ``"auto"``
    runs as many epochs as give about 2000 optimizer steps, between 10 and
    1000 epochs: a small set trains to convergence (50 sequences in
    batches of 8: 286 epochs) and a large one stops sooner (10,000
    sequences in batches of 64: 13 epochs). Each call computes it from
    its own data (a warm-start ``fit`` runs that many more epochs).
""",
    ),
    Param(
        "batch_size", "auto", BUDGET,
        [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        'int or "auto"',
        doc="""\
    Minibatch size, capped at the number of samples. ``"auto"`` takes
    ``n_samples // 16`` sequences, between 8 and 64, from the data of
    each training call (after the validation set is held out).
""",
    ),
    Param(
        "learning_rate_init", 0.005, BUDGET,
        [Interval(Real, 0, None, closed="neither")],
        'float',
        doc="""\
    Learning rate of the Adam optimizer.
""",
    ),
    Param(
        "lr_schedule", "cosine", LOOP,
        [StrOptions({"cosine", "constant"})],
        '{"cosine", "constant"}',
        doc="""\
    Learning-rate schedule of each ``fit``: ``"cosine"`` starts at
    ``learning_rate_init`` and anneals to 0 over the epochs that the call
    plans (``max_iter``, or the "auto" budget), its first epoch warming up
    (batch ``k`` of ``b`` at ``k / b`` of the rate); ``"constant"`` trains at
    ``learning_rate_init``. A warm-start ``fit`` runs a schedule of its own
    in the same way, from the rate set now (Adam's moments are kept).
    ``partial_fit`` trains at the constant ``learning_rate_init``.
""",
    ),
    Param(
        "clip_grad_norm", 1.0, LOOP,
        [Interval(Real, 0, None, closed="neither"), None],
        'float or None',
        doc="""\
    Clip the gradient norm to this value at every step; None disables.
""",
    ),
    Param(
        "early_stopping", False, LOOP,
        ["boolean"],
        'bool',
        doc="""\
    Hold out ``validation_fraction`` of the training data (stratified for
    classification), stop when the validation loss has not improved by
    ``tol`` for ``n_iter_no_change`` epochs, and keep the best epoch.
    Applies to every ``fit``, a warm-start one included (also when
    ``partial_fit`` trained the model first); ``partial_fit`` never holds
    out a validation set.
""",
    ),
    Param(
        "validation_fraction", 0.1, LOOP,
        [Interval(Real, 0, 1, closed="neither")],
        'float',
        doc="""\
    Share of the training data held out when ``early_stopping=True``.
""",
    ),
    Param(
        "n_iter_no_change", 10, LOOP,
        [Interval(Integral, 1, None, closed="left")],
        'int',
        doc="""\
    Patience of early stopping, in epochs.
""",
    ),
    Param(
        "tol", 1e-4, LOOP,
        [Interval(Real, 0, None, closed="left")],
        'float',
        doc="""\
    Smallest decrease of the validation loss that counts as an improvement.
""",
    ),
    Param(
        "random_state", None, SEED,
        ["random_state"],
        'int, RandomState instance or None',
        doc="""\
    Seeds initialization, shuffling, the validation split and the noise,
    each drawn from a generator of the estimator's own: torch's global
    generators (CPU and CUDA) are neither used nor moved. The same value
    gives the same model on the CPU.
""",
    ),
    Param(
        "verbose", 0, LOOP,
        ["verbose"],
        'int',
        doc="""\
    0 is silent; 1 draws a progress bar over the epochs that each training
    call plans, with the last training (and validation) loss (tqdm: a
    widget in a notebook, on stderr in a terminal); 2 or more prints one
    line per epoch (skorch's log table, on stdout), and the epoch at which
    early stopping stops.
""",
    ),
    Param(
        "device", "auto", DEVICE,
        [_DEVICE_NAME],
        'str',
        doc="""\
    Torch device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``,
    ``"xpu"``, ... ``"auto"`` uses CUDA when available. A CUDA, MPS or XPU
    device on a machine without one trains on the CPU with a UserWarning
    (pass ``"cpu"`` or ``"auto"`` to go without it), and a model trained on
    a GPU loads and predicts on a CPU-only machine. The recurrence runs
    step by step, so a fit is not faster on a GPU yet (1.2-1.8x slower
    than the same machine's CPU where measured): ``"cpu"`` is the faster
    choice for now.
""",
    ),
    Param(
        "warm_start", False, CALL,
        ["boolean"],
        'bool',
        doc="""\
    When True, ``fit`` on a fitted model goes on from its weights instead
    of starting anew: a new fit from the fitted weights, for ``max_iter``
    more epochs, with its own learning-rate schedule (see
    ``lr_schedule``) and, with ``early_stopping``, its own validation set.
""",
    ),
    Param(
        "callbacks", None, LOOP,
        [_SKORCH_CALLBACKS, None],
        'list of skorch callbacks or None',
        doc="""\
    Extra skorch callbacks (e.g. ``skorch.callbacks.Checkpoint``), or
    ``(name, callback)`` pairs, added to the training loop. skorch's
    scoring callbacks (``EpochScoring``) score class probabilities against
    y as indices into ``classes_`` (classifier), or predictions against y
    in its own units (regressor).
""",
    ),
    Param(
        "module", None, SHAPE,
        [_MODULE_CLASS, None],
        'subclass of :class:`sknrnn.NoisyRNN` or None',
        legacy=None,
        doc="""\
    The torch module of the recursion, as skorch's ``module=``: a class
    built with the keyword arguments that ``NoisyRNN`` takes. None is
    ``NoisyRNN`` itself. A subclass may override ``NoisyRNN``'s documented
    hooks to try a variant of the model (see its docstring) while the
    estimator keeps the data handling, the training loop and the
    persistence; a saved model refers to the class by its import path, so
    define it in an importable module. It shapes the weights: it cannot
    change on a fitted model.
""",
    ),
    Param(
        "class_weight", None, TARGETS,
        [StrOptions({"balanced"}), dict, None],
        'dict, "balanced" or None',
        only="classifier",
        doc="""\
    Weight of each class in the loss, multiplying ``sample_weight`` there
    (the standardization of X stays weighted by ``sample_weight`` alone):
    ``{label: weight}`` (finite and non-negative, not all 0; classes left
    out weigh 1; a label that is not a class raises a ValueError),
    ``"balanced"`` for ``n_samples / (n_classes * np.bincount(y))`` from
    the y given to ``fit`` (a warm-start ``fit``
    balances the classes present in its y; an absent class has no sequence
    to weigh), or None for equal weights. ``partial_fit`` takes a dict or
    None (compute balanced weights once with
    ``sklearn.utils.class_weight.compute_class_weight`` and pass them).
""",
    ),
)

BY_NAME = {param.name: param for param in PARAMS}
SHARED = tuple(param for param in PARAMS if param.only is None)


def _named(role):
    return tuple(param.name for param in PARAMS if param.role == role)


FIXED = _named(SHAPE)
READING_PARAMS = _named(READING)
IN_MODULE = _named(EQUATION) + READING_PARAMS
IN_LOOP = _named(LOOP)
# Models saved before a parameter existed behaved as its legacy value says.
LEGACY = {param.name: param.legacy for param in PARAMS if param.legacy is not _PRESENT}


def parameter_constraints(only=None):
    """``_parameter_constraints`` of the shared parameters, and those of estimator ``only``."""
    return {
        param.name: list(param.constraints) for param in PARAMS
        if param.only is None or param.only == only
    }


def parameter_docs(only=None):
    """The numpydoc entries of the shared parameters (``only``: those of that estimator)."""
    return "\n".join(
        param.entry() for param in PARAMS
        if (param.only is None if only is None else param.only == only)
    )
