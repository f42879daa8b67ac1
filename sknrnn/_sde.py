"""The noisy recurrent neural network as a PyTorch module.

This file holds the mathematics of sknrnn and nothing else (no scikit-learn).
The hidden state follows the Ito SDE

    dh = f(h, x) dt + sigma(h) dB_t,    h(0) = 0,
    f(h, x) = a * A h + tanh(W h + U x + b),

with the Lipschitz-RNN parametrization of the hidden matrices

    A = beta (M_A - M_A^T) + (1 - beta)(M_A + M_A^T) - gamma_A I,
    W = beta (M_W - M_W^T) + (1 - beta)(M_W + M_W^T) - gamma_W I,

and the diffusion

    additive        sigma(h) = s_1
    multiplicative  sigma(h) = s_2 * h            (elementwise, i.e. s_2 diag(h))
    mixed           sigma(h) = s_1 + s_2 * h

It is integrated with one step per observation (Euler-Maruyama or the explicit
midpoint rule for the drift):

    euler     h_{k+1} = h_k + dt f(h_k, x_k) + sqrt(dt) sigma(h_k) xi_k
    midpoint  h~ = h_k + (dt / 2) f(h_k, x_k)
              h_{k+1} = h_k + dt f(h~, x_k) + sqrt(dt) sigma(h_k) xi_k

with xi_k ~ N(0, I) drawn per sample, unit and step (or, with
``noise_increment="rademacher"``, xi_k = +-1 with equal probability: the same
mean and covariance per step, a weak order-1 scheme that is cheaper to draw). The noise levels are
therefore those of the continuous-time SDE: over a unit of time the additive
noise accumulates a variance s_1^2 whatever the step. ``dt`` is a vector
(one step per hidden unit), strictly positive through a softplus, learned by
default. Noise is only drawn in training mode; in evaluation mode the module is
the deterministic recursion (the Lipschitz RNN).

A linear encoder (U, b) feeds the input (standardized by the estimator, in float64,
before it reaches the module) and a linear decoder reads the final
hidden state. Sequences shorter than the padded length keep their state once
they end: padded steps do not move it.

Windows (``window = w``): the recursion reads ``w`` consecutive observations per
step, ``x~_j = (x_{jw}, ..., x_{jw+w-1})`` (``w * C`` channels, a partial last
window padded with zeros), so a series of ``T`` observations is integrated in
``ceil(T / w)`` steps, ``u_j = U x~_j + b`` being a learned projection of the window
(as neural rough and controlled differential equations bin a series into
intervals). ``w = 1`` is one step per observation.

Reading both ways (``bidirectional``): a second SDE with its own ``A``, ``W``,
``U``, ``b`` and ``dt`` reads the windows of each sequence in reverse order (the
last valid window first), and the decoder reads both readers (``readout`` below),
``y = V [r_fwd; r_bwd] + c`` with ``r`` what the readout takes of each reader.

Readout (``readout``): what the decoder reads of each reader, with ``h_1 .. h_S``
the states after each of the ``S`` valid steps of a sequence:

    last       h_S
    mean       [h_S; (1 / S) sum_k h_k]
    max        [h_S; max_k h_k]                     (elementwise)
    positions  [h_S; h_ceil(S / 4); h_ceil(S / 2); h_ceil(3 S / 4)]

The mean reads what every step of the recurrence saw, not only what the last
state kept of it; the states are those of the SDE (noisy in training).

Augmentation (``augment = a``, training only, like the noise): before the windows
are formed, each training sequence of ``L`` observations is cropped by up to
``floor(a L)`` observations at each end (a random shift of the shape in time),
scaled by ``1 + a e`` and jittered, ``x~_k = (1 + a e) x_{k+s} + a z_k`` with
``e, z_k ~ N(0, 1)``: a training set of a few hundred series then stops being
memorized by the readout. ``a = 0`` leaves the input as it is.

Input clipping (``input_clip = c``): the module reads ``c tanh(x / c)`` of the
(standardized) input, in training and at prediction, as the windows are formed
(after the augmentation): a value within one or two standard deviations passes
almost unchanged (``x = 1`` reads as 0.96 at ``c = 3``), an outlier (a sensor's
spike, a reading stuck at its rail) reaches at most ``c``. Smooth and monotone, so
the gradient still reaches the input (the attacks of ``sknrnn.robustness`` see it).
``c = None`` reads the input as it is.

Time scales: ``dt`` may be a range ``(dt_min, dt_max)``; the per-unit steps then
start spread geometrically over it (unit ``i`` of ``N`` at
``dt_min (dt_max / dt_min)^(i / (N - 1))``), so that some units integrate over the
whole sequence and others over a few steps (as chrono and S4D initializations do).
The noise of unit ``i`` scales with ``sqrt(dt_i)``, as the SDE says.

Irregular sampling: the step that reads observation k may be scaled per sample,
``dt_k = dt * r_k`` with ``r_k > 0`` (the time elapsed since the previous
observation, in units of the usual spacing); drift and noise then follow the
SDE over that interval (``dt_k f`` and ``sqrt(dt_k) sigma xi``). ``r = 1``
everywhere is the evenly sampled recursion above. A window's step is scaled by the
mean ``r`` of its observations.
"""

import math
from numbers import Real

import torch
from torch import nn
from torch.nn import functional as F

from ._fused import NOISE_INCREMENTS, any_shorter, euler_final_state, has_noise, noise_draws

NOISE_TYPES = ("none", "additive", "multiplicative", "mixed")
SOLVERS = ("euler", "midpoint")
READOUTS = ("last", "mean", "max", "positions")
# The fractions of each sequence's length at which readout="positions" reads the state.
_POSITIONS = (0.25, 0.5, 0.75)
# The methods that the fused recursion computes in its own way: a subclass that
# overrides one of them runs the reference loop (NoisyRNN.runs_fused).
_STEP_HOOKS = ("initial_state", "sde_step", "clean_step", "drift", "diffusion")


def noise_levels(noise_type, noise_level):
    """The levels ``(s_1, s_2)`` of the diffusion that ``noise_type`` uses.

    The one place that decides which noise a type has: ``s_1`` (additive) is
    nonzero only for ``"additive"`` and ``"mixed"``, ``s_2`` (multiplicative)
    only for ``"multiplicative"`` and ``"mixed"``; ``"none"`` gives ``(0.0, 0.0)``,
    no noise, whatever the level.

    Parameters
    ----------
    noise_type : {"none", "additive", "multiplicative", "mixed"}
    noise_level : float or (float, float)
        A level for each term the type has, or an ``(additive,
        multiplicative)`` pair (for ``"mixed"``; the estimators accept a pair
        only there).

    Returns
    -------
    (s1, s2) : tuple of float
    """
    if noise_type not in NOISE_TYPES:
        raise ValueError(f"noise_type must be one of {NOISE_TYPES}, got {noise_type!r}.")
    if noise_type == "none":
        return 0.0, 0.0  # the level is ignored, whatever it is (a grid may pair them)
    if isinstance(noise_level, (tuple, list)):
        if len(noise_level) != 2:
            raise ValueError(
                "noise_level must be a float or an (additive, multiplicative) pair; got "
                f"{noise_level!r}."
            )
        add, mult = noise_level
    else:
        add = mult = noise_level
    for value in (add, mult):
        if not isinstance(value, Real) or not math.isfinite(value) or value < 0:
            raise ValueError(f"noise_level must be finite and >= 0; got {noise_level!r}.")
    return (
        float(add) if noise_type in ("additive", "mixed") else 0.0,
        float(mult) if noise_type in ("multiplicative", "mixed") else 0.0,
    )


def lipschitz_matrix(M, beta, gamma):
    """Return ``beta (M - M^T) + (1 - beta)(M + M^T) - gamma I``.

    Written as the formula reads, operation by operation: fitted models then give
    the same numbers in every version (``M + (1 - 2 beta) M^T - gamma I`` would be
    two operations instead of eight, but rounds differently).
    """
    eye = torch.eye(M.shape[0], dtype=M.dtype, device=M.device)
    return beta * (M - M.T) + (1.0 - beta) * (M + M.T) - gamma * eye


def _inverse_softplus(y):
    return y + math.log(-math.expm1(-y))


def initial_steps(dt, n):
    """The initial per-unit steps: ``dt`` for every unit, or a geometric spread over a
    ``(dt_min, dt_max)`` range (smallest first), as a float64 tensor ``(n,)``."""
    if isinstance(dt, (tuple, list)):
        lo, hi = (float(v) for v in dt)
        if n == 1:
            return torch.tensor([math.sqrt(lo * hi)], dtype=torch.float64)
        return torch.logspace(math.log10(lo), math.log10(hi), n, dtype=torch.float64)
    return torch.full((n,), float(dt), dtype=torch.float64)


def observed_steps(lengths, n_steps):
    """Boolean ``(B, T)``: which of the ``T`` steps of each sequence are observed."""
    return torch.arange(n_steps, device=lengths.device)[None, :] < lengths[:, None]


def readout_features(final, states, lengths, readout):
    """What the decoder reads of one direction: ``(B, N)`` or ``(B, N * (1 + P))``.

    ``"last"``: the last valid state; ``"mean"`` / ``"max"``: it and the mean / the
    elementwise maximum of the states over each sequence's valid steps;
    ``"positions"``: it and the states at fractions ``_POSITIONS`` of each length.
    """
    if readout == "last":
        return final
    batch, n_steps = states.shape[0], states.shape[1]
    if lengths is None:
        lengths = torch.full((batch,), n_steps, dtype=torch.long, device=states.device)
    lengths = lengths.clamp(1, max(n_steps, 1))
    if readout == "mean":
        pooled = states.sum(1) / lengths[:, None].to(states.dtype)
    elif readout == "max":
        valid = observed_steps(lengths, n_steps).unsqueeze(-1)
        pooled = states.masked_fill(~valid, float("-inf")).amax(1)
    else:
        index = torch.stack(
            [torch.ceil(q * lengths.to(torch.float64)).long().clamp_min(1) - 1
             for q in _POSITIONS],
            dim=1,
        )
        pooled = states.gather(1, index.unsqueeze(-1).expand(-1, -1, states.shape[2]))
        pooled = pooled.reshape(batch, -1)
    return torch.cat([final, pooled], dim=1)


def readout_size(readout):
    """How many ``N``-sized blocks ``readout_features`` returns per direction."""
    return 1 + (len(_POSITIONS) if readout == "positions" else readout != "last")


def window_sequences(x, lengths, step_scale, window):
    """Group ``window`` consecutive observations into one step of the recursion.

    ``x`` ``(B, T, C)`` becomes ``(B, ceil(T / w), w * C)`` (each window's
    observations one after the other; steps past a sequence's end and the partial
    last window padded with zeros), ``lengths`` becomes the number of windows that
    hold an observation, and ``step_scale`` the mean scale of each window's
    observations (1 for windows past the end).
    """
    if window == 1:
        return x, lengths, step_scale
    batch, n_steps, channels = x.shape
    n_windows = -(-n_steps // window)
    pad = n_windows * window - n_steps
    valid = None
    if any_shorter(lengths, n_steps):
        valid = observed_steps(lengths, n_steps)
        x = x * valid.unsqueeze(-1).to(x.dtype)
    x = F.pad(x, (0, 0, 0, pad)).reshape(batch, n_windows, window * channels)
    if lengths is not None:
        lengths = torch.div(lengths + window - 1, window, rounding_mode="floor")
    if step_scale is not None:
        weight = (
            torch.ones_like(step_scale) if valid is None else valid.to(step_scale.dtype)
        )
        total = F.pad(step_scale * weight, (0, pad)).reshape(batch, n_windows, window).sum(-1)
        count = F.pad(weight, (0, pad)).reshape(batch, n_windows, window).sum(-1)
        step_scale = torch.where(count > 0, total / count.clamp_min(1), torch.ones_like(total))
    return x, lengths, step_scale


def clip_inputs(x, clip):
    """``clip * tanh(x / clip)``: ``x`` soft-clipped to ``(-clip, clip)`` (None: ``x``)."""
    if clip is None:
        return x
    return clip * torch.tanh(x / clip)


def augment_sequences(x, lengths, step_scale, level, generator=None):
    """Randomly cropped, scaled and jittered copies of the sequences (see the module doc).

    Returns ``(x, lengths, step_scale)``; ``lengths`` is never None on the way out.
    """
    batch, n_steps, channels = x.shape
    kw = dict(device=x.device, generator=generator)
    if lengths is None:
        lengths = torch.full((batch,), n_steps, dtype=torch.long, device=x.device)
    most = torch.floor(level * lengths.to(torch.float64)).to(torch.long)
    # Offsets uniform in 0..most at each end, drawn as floor(u * (most + 1)).
    start = torch.floor(torch.rand(batch, dtype=torch.float64, **kw) * (most + 1)).to(torch.long)
    cut = torch.floor(torch.rand(batch, dtype=torch.float64, **kw) * (most + 1)).to(torch.long)
    new_lengths = (lengths - start - cut).clamp_min(1)
    k = torch.arange(n_steps, device=x.device)[None, :]
    index = (k + start[:, None]).clamp_max(n_steps - 1)
    x = x.gather(1, index.unsqueeze(-1).expand(-1, -1, channels))
    if step_scale is not None:
        step_scale = step_scale.gather(1, index)
    gain = 1.0 + level * torch.randn(batch, 1, 1, dtype=x.dtype, **kw)
    x = gain * x + level * torch.randn(x.shape, dtype=x.dtype, **kw)
    x = x * observed_steps(new_lengths, n_steps).unsqueeze(-1).to(x.dtype)
    return x, new_lengths, step_scale


def reverse_sequences(x, lengths, step_scale):
    """Each sequence read from its last valid step to its first (padding stays at the end).

    Step ``k`` of the reversed sequence reads step ``L - 1 - k``; its step scale is
    the time from that observation to the next one (``r_{L-k}``; the first reversed
    step keeps ``r_0``).
    """
    n_steps = x.shape[1]
    if not any_shorter(lengths, n_steps):
        rev_x = x.flip(1)
        if step_scale is not None:
            step_scale = torch.cat([step_scale[:, :1], step_scale[:, 1:].flip(1)], dim=1)
        return rev_x, step_scale
    k = torch.arange(n_steps, device=x.device)[None, :]
    last = lengths[:, None] - 1
    index = torch.where(k <= last, last - k, k)
    rev_x = x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))
    if step_scale is not None:
        scale_index = torch.where((k >= 1) & (k <= last), last - k + 1, torch.where(k == 0, 0, k))
        step_scale = step_scale.gather(1, scale_index)
    return rev_x, step_scale


class NoisyRNN(nn.Module):
    """Noisy RNN: an Ito SDE over the hidden state, read out by a linear decoder.

    Parameters
    ----------
    input_size : int
        Number of channels ``C`` of the input sequences.
    hidden_size : int
        Dimension ``N`` of the hidden state.
    output_size : int
        Number of outputs of the linear decoder.
    noise_type : {"none", "additive", "multiplicative", "mixed"}
        Form of the diffusion ``sigma(h)``.
    noise_additive, noise_multiplicative : float
        The levels ``s_1`` and ``s_2`` of the diffusion.
    noise_increment : {"gaussian", "rademacher"}
        Distribution of the draws ``xi`` of the noise increment.
    solver : {"euler", "midpoint"}
        Integrator of the drift (the noise increment is Euler-Maruyama's).
    dt : float or (float, float)
        Initial step, the same for every hidden unit, or a ``(dt_min, dt_max)``
        range over which the units' steps are spread geometrically.
    learn_dt : bool
        Whether the per-unit step is a trained parameter.
    beta, gamma_a, gamma_w : float
        Lipschitz parametrization of ``A`` and ``W`` (see the module docstring).
    linear_weight : float
        The weight ``a`` of the linear term ``a A h`` of the drift.
    init_std : float
        Standard deviation of the entries of ``M_A`` and ``M_W`` at initialization.
    fused : bool
        Integrate the Euler recursion with the hand-written backward through time of
        ``sknrnn._fused`` (same values and gradients, faster). False, or the midpoint
        solver, runs the step-by-step reference loop.
    window : int
        Observations read per step of the recursion (the encoder reads
        ``window * input_size`` values per step).
    bidirectional : bool
        Whether a second SDE (``self.reverse``, its own weights) reads the windows in
        reverse order; the decoder then reads both readers (see ``readout``).
    augment : float
        Strength of the training-time crop, scaling and jitter of the input (0: none).
    readout : {"last", "mean", "max", "positions"}
        What the decoder reads of each reader's states (see the module docstring).
    input_clip : float or None
        The input is read as ``input_clip * tanh(x / input_clip)`` (None: as it is).

    Notes
    -----
    Shapes: ``forward(x, lengths=None, step_scale=None)``: ``x`` is ``(batch, T, input_size)``
    (batch first), ``lengths`` an integer tensor ``(batch,)`` of the valid steps of
    each sequence (all ``T`` when None), ``step_scale`` a positive tensor
    ``(batch, T)`` scaling the step that reads each observation (irregular
    sampling; 1 everywhere when None), ``noise`` whether to draw the training noise
    (None: in training mode, as skorch switches it; ``False`` gives the
    deterministic recursion without touching the module's mode, as prediction
    does, so that it is safe while other threads use the module). The output is
    ``(batch, output_size)``. ``final_state`` integrates one direction over
    sequences that are already windowed (see ``window_sequences``).
    The fused Euler recursion takes uneven ``step_scale`` too (the reference loop
    runs only with ``fused=False``, the midpoint solver or a subclass's own step;
    see ``runs_fused``).

    **Subclassing.** A subclass is a variant of the model that the estimators train, save and
    load (their ``module=`` parameter). It is built with the arguments above
    (a setting of its own is a class attribute) and overrides some of these
    hooks, calling ``super()`` for the rest:

    ``encode(x)``
        The encoded input ``u``, ``(B, T, D)``, of the windowed ``x``; step ``k``
        reads ``u[:, k]``. ``D = N`` for ``NoisyRNN``'s own step; a variant's
        step may read more (e.g. a gate's input after ``U x + b``).
    ``initial_state(batch, like)``
        The state ``h_0`` of the reference loop, zeros ``(B, N)``. A variant
        that carries more (a velocity) returns ``(B, S)``, ``S > N``: the
        readout reads the first ``N`` columns.
    ``sde_step(h, u, dt, K=None, xi=None)``
        One step from the state ``h`` given ``u = u[:, k]``, the step ``dt``
        (``(N,)``, or ``(B, N)`` with ``step_scale``), ``K = stacked_weight()``
        (formed once per pass) and the noise draw ``xi`` (``(B, N)``; None
        without noise). Each sequence keeps its state past its end. Other
        random draws of a step come from ``self.generator`` (the reverse
        reader's is the module's).
    ``features(x, lengths=None, step_scale=None, noise=None)``
        What the decoder reads, ``(B, F)``: the augmentation, the windows, both
        readers and the readout. ``forward`` is ``decoder(features(...))``; a
        variant that reads more replaces ``self.decoder`` in ``__init__``.
    ``add_weights()``
        Create the variant's weights of its own (layers, parameters) or replace
        some of NoisyRNN's (e.g. a wider ``self.decoder``): ``__init__`` calls it
        once NoisyRNN's weights exist and before they are drawn.
    ``reset_parameters(generator=None)``
        The initial weights. The estimators build the module on the meta
        device, then call it: a variant with weights of its own draws them here,
        after ``super().reset_parameters(generator)``.

    The fused recursion integrates ``NoisyRNN``'s own step: a subclass that
    overrides ``initial_state``, ``sde_step``, ``clean_step``, ``drift`` or
    ``diffusion`` runs the reference loop, autograd through every step (slower).
    The reverse reader (``bidirectional``) is an instance of the same class,
    built with ``output_size=0`` and one observation per step. A saved model
    refers to the class by its import path: define it in an importable module.

    Examples
    --------
    Noise increments ``dt^p xi`` instead of the SDE's ``sqrt(dt) xi``:

    >>> import torch
    >>> from sknrnn import NoisyRNN
    >>> class PoweredNoise(NoisyRNN):
    ...     power = 1.0
    ...
    ...     def sde_step(self, h, u, dt, K=None, xi=None):
    ...         if xi is not None:
    ...             xi = xi * dt.pow(self.power - 0.5)
    ...         return super().sde_step(h, u, dt, K, xi)
    >>> model = PoweredNoise(2, 8, 3, noise_type="additive", noise_additive=0.1)
    >>> model.runs_fused, NoisyRNN(2, 8, 3).runs_fused
    (False, True)
    >>> model(torch.zeros(4, 10, 2)).shape
    torch.Size([4, 3])

    ``NoisyRNNClassifier(module=PoweredNoise)`` trains it.
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        output_size,
        *,
        noise_type="none",
        noise_additive=0.0,
        noise_multiplicative=0.0,
        noise_increment="gaussian",
        solver="euler",
        dt=0.1,
        learn_dt=True,
        beta=0.75,
        gamma_a=0.001,
        gamma_w=0.001,
        linear_weight=1.0,
        init_std=None,
        fused=True,
        window=1,
        bidirectional=False,
        augment=0.0,
        readout="last",
        input_clip=None,
    ):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}.")
        self.readout = readout
        self.hidden_size = hidden_size
        self.window = int(window)
        self.bidirectional = bool(bidirectional)
        self.augment = float(augment)
        self.input_clip = None if input_clip is None else float(input_clip)
        self.reverse = None
        self.configure(
            noise_type=noise_type,
            noise_additive=noise_additive,
            noise_multiplicative=noise_multiplicative,
            noise_increment=noise_increment,
            solver=solver,
            beta=beta,
            gamma_a=gamma_a,
            gamma_w=gamma_w,
            linear_weight=linear_weight,
        )
        # The Euler recursion with a hand-written backward (_fused.py); False: the step loop.
        self.fused = fused

        self.init_std = 0.1 / hidden_size if init_std is None else init_std
        self.dt_init = tuple(float(v) for v in dt) if isinstance(dt, (tuple, list)) else float(dt)
        self.M_A = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.M_W = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.encoder = nn.Linear(input_size * self.window, hidden_size)
        # (The reverse reader is built with output_size=0: no decoder of its own.)
        self.decoder = (
            nn.Linear(
                hidden_size * (2 if self.bidirectional else 1) * readout_size(readout),
                output_size,
            )
            if output_size else None
        )
        raw = torch.empty(hidden_size)
        if learn_dt:
            self.raw_dt = nn.Parameter(raw)
        else:
            self.register_buffer("raw_dt", raw)
        if self.bidirectional:
            # The reverse reader: the same class and equations, weights of its own, no
            # decoder.
            self.reverse = type(self)(
                input_size * self.window, hidden_size, 0, noise_type=noise_type,
                noise_additive=noise_additive, noise_multiplicative=noise_multiplicative,
                noise_increment=noise_increment, solver=solver, dt=dt, learn_dt=learn_dt,
                beta=beta, gamma_a=gamma_a, gamma_w=gamma_w, linear_weight=linear_weight,
                init_std=init_std, fused=fused,
            )
        self.add_weights()
        self.generator = None
        self.reset_parameters()

    def add_weights(self):
        """Create a variant's weights of its own, beside NoisyRNN's (a hook; none here).

        ``__init__`` calls it once NoisyRNN's weights exist (the reverse reader's
        included), before ``reset_parameters`` draws them all.
        """

    @property
    def generator(self):
        """Where the training noise is drawn from (a ``torch.Generator`` on the module's
        device); torch's global generator when None. Not part of the state_dict; the
        reverse reader's is this one."""
        return self._generator

    @generator.setter
    def generator(self, generator):
        self._generator = generator
        if self.reverse is not None:
            self.reverse.generator = generator

    def reset_parameters(self, generator=None):
        """Draw the initial weights from ``generator`` (a CPU generator; global when None).

        The draws are made on the CPU whatever the module's device, so that a seed
        gives the same initial weights on every device.
        """

        def draw(tensor, sample):
            with torch.no_grad():
                tensor.copy_(sample(torch.empty(tensor.shape, dtype=tensor.dtype)))

        normal = lambda t: t.normal_(0.0, self.init_std, generator=generator)  # noqa: E731
        draw(self.M_A, normal)
        draw(self.M_W, normal)
        for layer in (self.encoder, self.decoder) if self.decoder is not None else (
            self.encoder,
        ):
            # nn.Linear's own initialization: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
            bound = 1.0 / math.sqrt(layer.in_features) if layer.in_features else 0.0
            uniform = lambda t, b=bound: t.uniform_(-b, b, generator=generator)  # noqa: E731
            draw(layer.weight, uniform)
            draw(layer.bias, uniform)
        with torch.no_grad():
            if isinstance(self.dt_init, tuple):
                steps = initial_steps(self.dt_init, self.hidden_size)
                self.raw_dt.copy_(steps + torch.log(-torch.expm1(-steps)))
            else:
                self.raw_dt.fill_(_inverse_softplus(self.dt_init))
        if self.reverse is not None:  # drawn after the forward reader's weights
            self.reverse.reset_parameters(generator)

    def configure(
        self, *, noise_type, noise_additive, noise_multiplicative, solver, beta, gamma_a,
        gamma_w, linear_weight, noise_increment="gaussian",
    ):
        """Set the constants of the equations (no weights): at construction, and when a
        fitted model goes on training with other settings."""
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
        if noise_increment not in NOISE_INCREMENTS:
            raise ValueError(
                f"noise_increment must be one of {NOISE_INCREMENTS}, got {noise_increment!r}."
            )
        # Where the levels are decided (and checked), before anything is set: a bad
        # level leaves the module as it was.
        levels = noise_levels(noise_type, (noise_additive, noise_multiplicative))
        self.noise_increment = noise_increment
        self.noise_type = noise_type
        self.noise_additive, self.noise_multiplicative = levels
        self.solver = solver
        self.beta = beta
        self.gamma_a = gamma_a
        self.gamma_w = gamma_w
        self.linear_weight = linear_weight
        if getattr(self, "reverse", None) is not None:
            self.reverse.configure(
                noise_type=noise_type, noise_additive=noise_additive,
                noise_multiplicative=noise_multiplicative, solver=solver, beta=beta,
                gamma_a=gamma_a, gamma_w=gamma_w, linear_weight=linear_weight,
                noise_increment=noise_increment,
            )

    # -- the pieces of the SDE -------------------------------------------------
    def hidden_matrices(self):
        """The matrices ``(A, W)`` of the drift."""
        return (
            lipschitz_matrix(self.M_A, self.beta, self.gamma_a),
            lipschitz_matrix(self.M_W, self.beta, self.gamma_w),
        )

    def step_size(self):
        """The strictly positive step ``dt``, one per hidden unit, shape ``(N,)``."""
        return F.softplus(self.raw_dt)

    def stacked_weight(self):
        """``K`` with ``h @ K = [a A h, W h]``: the drift's two products in one matmul."""
        A, W = self.hidden_matrices()
        return torch.cat([self.linear_weight * A, W], dim=0).T

    def drift(self, h, u, K=None, jacobian=False):
        """``f(h, x) = a A h + tanh(W h + u)`` where ``u = U x + b`` is precomputed.

        With ``jacobian=True``, ``(f, J_f)``: also its Jacobian in ``h``,
        ``a A + diag(1 - tanh^2(W h + u)) W``, of shape ``(B, N, N)``.
        """
        K = self.stacked_weight() if K is None else K
        z = h @ K
        n = self.hidden_size
        t = torch.tanh(z[:, n:] + u)
        f = z[:, :n] + t
        if not jacobian:
            return f
        return f, K[:, :n].T + (1.0 - t * t).unsqueeze(-1) * K[:, n:].T

    def diffusion(self, h):
        """Diagonal of ``sigma(h)``: ``s_1 + s_2 h`` (each term present per noise type)."""
        return self.noise_additive + self.noise_multiplicative * h

    @property
    def is_noisy(self):
        return has_noise(self.noise_additive, self.noise_multiplicative)

    @property
    def runs_fused(self):
        """Whether ``final_state`` runs the fused Euler recursion (``sknrnn._fused``):
        ``fused``, the Euler solver, and ``NoisyRNN``'s own step (``initial_state``,
        ``sde_step``, ``clean_step``, ``drift`` and ``diffusion`` not overridden);
        else the reference loop."""
        own_step = all(
            getattr(type(self), name) is getattr(NoisyRNN, name) for name in _STEP_HOOKS
        )
        return self.fused and self.solver == "euler" and own_step

    def initial_state(self, batch, like):
        """The state ``h_0`` of the reference loop: zeros ``(batch, N)`` in the dtype and on
        the device of ``like`` (a hook: see the class docstring)."""
        return like.new_zeros(batch, self.hidden_size)

    def clean_step(self, h, u, dt=None, K=None, jacobian=False):
        """One deterministic step of the solver (the drift alone), as at prediction time.

        Euler ``h + dt f(h)``, or the midpoint rule ``h + dt f(h + dt/2 f(h))``.
        ``dt`` is ``(N,)`` or per sample ``(B, N)`` (``step_size()`` when None).
        With ``jacobian=True``, ``(h_next, J)`` with ``J = d h_next / d h`` of shape
        ``(B, N, N)``; the diagnostics read the dynamics through this.
        """
        K = self.stacked_weight() if K is None else K
        dt = self.step_size() if dt is None else dt
        f, jf = self.drift(h, u, K, jacobian=True) if jacobian else (self.drift(h, u, K), None)
        if self.solver == "midpoint":
            h_mid = h + 0.5 * dt * f
            if jacobian:
                eye = torch.eye(self.hidden_size, dtype=h.dtype, device=h.device)
                f, jf_mid = self.drift(h_mid, u, K, jacobian=True)
                jf = jf_mid @ (eye + 0.5 * dt.unsqueeze(-1) * jf)
            else:
                f = self.drift(h_mid, u, K)
        h_next = h + dt * f
        if not jacobian:
            return h_next
        eye = torch.eye(self.hidden_size, dtype=h.dtype, device=h.device)
        return h_next, eye + dt.unsqueeze(-1) * jf

    def sde_step(self, h, u, dt, K=None, xi=None):
        """One integration step from ``h`` given ``u = U x + b``; ``xi`` is the noise draw.

        ``xi`` holds the increments' draws (Gaussian or Rademacher, see
        ``noise_draws``); with ``xi=None`` the step is deterministic (the drift alone).
        The reference loop of ``final_state`` steps through this (a hook: see the class
        docstring).
        """
        h_next = self.clean_step(h, u, dt, K)
        if xi is not None:
            h_next = h_next + dt.sqrt() * self.diffusion(h) * xi
        return h_next

    # -- the whole sequence ----------------------------------------------------
    def encode(self, x):
        """Apply the encoder to the (standardized) input: ``(B, T, C) -> (B, T, N)``.

        A hook (see the class docstring). The result is stored time-major (a
        ``(B, T, N)`` view of a ``(T, B, N)`` tensor), so that the recursion reads the
        ``B`` rows of each step contiguously and its gradient comes back in the same
        layout, without a transposing copy.
        """
        return self.encoder(x.transpose(0, 1)).transpose(0, 1)

    def final_state(
        self, x, lengths=None, step_scale=None, noise=None, generator=None, states=False
    ):
        """Integrate the SDE over the sequences and return the last valid state ``(B, N)``.

        One direction, one step per row of ``x`` (already windowed: see ``forward``);
        the noise is drawn from ``generator`` (``self.generator`` when None). With
        ``states``, ``(final, S)``: ``S`` ``(B, T, N)`` holds every state ``h_1 .. h_T``
        (zero past each sequence's end). The fused Euler recursion when ``runs_fused``,
        else the reference loop: ``sde_step`` from ``initial_state``, each sequence
        keeping its state past its end; of a wider state, the first ``N`` columns.
        """
        generator = self.generator if generator is None else generator
        u_all = self.encode(x)
        batch, n_steps = u_all.shape[0], u_all.shape[1]
        K = self.stacked_weight()
        dt = self.step_size()
        noisy = (self.training if noise is None else noise) and self.is_noisy
        if step_scale is not None and bool((step_scale == 1).all()):
            step_scale = None
        if self.runs_fused:
            return euler_final_state(
                u_all, K, dt, lengths,
                self.noise_additive if noisy else 0.0,
                self.noise_multiplicative if noisy else 0.0,
                step_scale=step_scale,
                generator=generator,
                increment=self.noise_increment,
                states=states,
            )
        h = self.initial_state(batch, u_all)
        kept = []
        active = None
        if any_shorter(lengths, n_steps):
            active = observed_steps(lengths, n_steps).unsqueeze(-1).unbind(1)
        # Per-sample steps (B, T, N) for irregular sampling, else the same step throughout.
        dts = [dt] * n_steps if step_scale is None else (step_scale[..., None] * dt).unbind(1)
        xis = (
            noise_draws(
                n_steps, batch, self.hidden_size, u_all, generator, self.noise_increment
            ).unbind(0)
            if noisy
            else [None] * n_steps
        )
        for k, u in enumerate(u_all.unbind(1)):
            h_next = self.sde_step(h, u, dts[k], K, xis[k])
            h = h_next if active is None else torch.where(active[k], h_next, h)
            if states:
                kept.append(h if active is None else h * active[k].to(h.dtype))
        n = self.hidden_size
        if h.shape[-1] != n:  # a variant's state beside h (see initial_state)
            h, kept = h[:, :n], [s[:, :n] for s in kept]
        if not states:
            return h
        return h, (torch.stack(kept, 1) if kept else u_all.new_zeros(batch, 0, n))

    def read(self, x, lengths=None, step_scale=None, noise=None, generator=None, readout="last"):
        """What the decoder reads of this reader (``readout_features``), ``(B, N * blocks)``.

        Integrates the windowed ``x`` as ``final_state`` does, keeping every state only
        when the readout pools them.
        """
        if readout == "last":
            return self.final_state(x, lengths, step_scale, noise, generator)
        final, states = self.final_state(x, lengths, step_scale, noise, generator, states=True)
        return readout_features(final, states, lengths, readout)

    def windows(self, x, lengths=None, step_scale=None):
        """``(x, lengths, step_scale)`` as the recursion reads them: ``x`` soft-clipped
        (``input_clip``), then ``window`` observations per step."""
        return window_sequences(clip_inputs(x, self.input_clip), lengths, step_scale, self.window)

    def features(self, x, lengths=None, step_scale=None, noise=None):
        """What the decoder reads, ``(B, F)``: the augmentation (in training), the windows,
        both readers and the readout (a hook: see the class docstring)."""
        if self.augment > 0 and (self.training if noise is None else noise):
            x, lengths, step_scale = augment_sequences(
                x, lengths, step_scale, self.augment, self.generator
            )
        x, lengths, step_scale = self.windows(x, lengths, step_scale)
        h = self.read(x, lengths, step_scale, noise, readout=self.readout)
        if self.reverse is not None:
            rev_x, rev_scale = reverse_sequences(x, lengths, step_scale)
            # The same noise stream, drawn after the forward reader's.
            h_rev = self.reverse.read(
                rev_x, lengths, rev_scale, noise, self.generator, self.readout
            )
            h = torch.cat([h, h_rev], dim=1)
        return h

    def forward(self, x, lengths=None, step_scale=None, noise=None):
        return self.decoder(self.features(x, lengths, step_scale, noise))
