"""What the NRNN theory offers a user: a stability bound and a Lyapunov exponent.

Both numbers read the fitted torch module of a sknrnn estimator (the clean,
deterministic dynamics used at prediction time) and say how strongly the
recurrence forgets: how fast two hidden trajectories that start apart, or that
are pushed apart by a small perturbation of the input, come back together.

The drift of the hidden state is ``f(h, x) = a A h + tanh(W h + U x + b)`` with
``a`` the estimator's ``linear_weight``. Its Jacobian in ``h`` is

    J_f(h, x) = a A + diag(1 - tanh^2(W h + U x + b)) W,

and one Euler step ``h_{k+1} = h_k + dt * f(h_k, x_k)`` has the Jacobian

    J_k = I + diag(dt) J_f(h_k, x_k)

(``dt`` is the learned step, one per hidden unit; the midpoint solver's step
Jacobian is used when the estimator integrates with ``solver="midpoint"``).

- :func:`stability_margin` is a bound from the matrices alone, valid for every
  input: ``mu = lambda_max((aA + (aA)^T) / 2) + ||W||_2``. Because ``tanh`` is
  1-Lipschitz, ``mu`` bounds the one-sided Lipschitz constant of the drift, so
  two clean trajectories driven by the same input satisfy
  ``|h(t) - h'(t)| <= exp(mu t) |h(0) - h'(0)|``. ``mu < 0`` guarantees
  contraction; ``mu >= 0`` guarantees nothing (the bound is worst case).
- :func:`lyapunov_exponent` measures the same thing along real data: the
  finite-time Lyapunov exponent ``log ||J_{M-1} ... J_0||_2 / M`` of each
  sequence (``M`` its number of observed steps), per step. Negative: nearby
  trajectories converge, so small perturbations of early inputs are forgotten;
  positive: they are amplified.

The theory (Lim et al., NeurIPS 2021) predicts that training with noise,
multiplicative noise above all, favours contractive dynamics: more negative
exponents and margins than the same model trained without noise.
"""

import copy

import numpy as np
import torch
from numbers import Integral

from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params

from ._fitted import _fitted_model
from ._inference import batch_rows, batches

__all__ = ["stability_margin", "stability_report", "lyapunov_exponent"]


def _matrices(module):
    """``(a A, W, dt)`` of the module as float64 CPU tensors."""
    with torch.no_grad():
        A, W = module.hidden_matrices()
        dt = module.step_size()
        cast = dict(device="cpu", dtype=torch.float64)
        return (module.linear_weight * A).to(**cast), W.to(**cast), dt.to(**cast)


@validate_params({"estimator": "no_validation"}, prefer_skip_nested_validation=True)
def stability_report(estimator):
    """The stability bound of a fitted noisy RNN, with its pieces.

    The clean dynamics ``dh/dt = a A h + tanh(W h + U x + b)`` contract, for any
    input, when ``mu = lambda_max(A_sym) + ||W||_2 < 0`` with
    ``A_sym = (a A + (a A)^T) / 2`` (``a`` is ``linear_weight``): two hidden
    trajectories driven by the same input then approach each other at least as
    fast as ``exp(mu t)``, so perturbations of the state (or of past inputs) die
    out. The bound is worst case: ``mu >= 0`` does not mean the model is
    unstable, see :func:`lyapunov_exponent` for a measurement along real data.
    A model that reads both ways (``bidirectional=True``) has two SDEs: the
    report is that of the less stable one (the larger ``mu``).

    Parameters
    ----------
    estimator : NoisyRNNClassifier, NoisyRNNRegressor or Pipeline
        A fitted sknrnn estimator, or a fitted Pipeline ending in one.

    Returns
    -------
    report : sklearn.utils.Bunch
        With keys

        margin : float
            ``mu = linear_part + recurrent_norm``, a rate per unit of time.
            Negative: guaranteed contraction; the more negative, the faster the
            model forgets.
        linear_part : float
            ``lambda_max(A_sym)``, the largest eigenvalue of the symmetric part
            of the linear term ``a A`` (its skew part only rotates the state).
        recurrent_norm : float
            ``||W||_2``, the spectral norm of the matrix inside ``tanh``: the
            most the nonlinear term can expand the state.
        contraction_per_step : float
            ``exp(mu * max(dt))``, the bound on how much one step can stretch
            the distance between two states in the continuous-time limit.
        dt : ndarray of shape (hidden_size,)
            The learned step of each hidden unit.

    See Also
    --------
    stability_margin : The margin alone.
    lyapunov_exponent : The measured contraction along data.

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import NoisyRNNClassifier, stability_report
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.normal(size=(40, 12)), rng.randint(2, size=40)
    >>> clf = NoisyRNNClassifier(hidden_size=8, max_iter=2, random_state=0).fit(X, y)
    >>> report = stability_report(clf)
    >>> bool(np.isclose(report.margin, report.linear_part + report.recurrent_norm))
    True
    >>> report.dt.shape
    (8,)
    """
    return _report(estimator, "stability_report")


def _reader_report(module):
    aA, W, dt = _matrices(module)
    a_sym = 0.5 * (aA + aA.T)
    linear_part = float(torch.linalg.eigvalsh(a_sym).max())
    recurrent_norm = float(torch.linalg.matrix_norm(W, ord=2))
    margin = linear_part + recurrent_norm
    return Bunch(
        margin=margin,
        linear_part=linear_part,
        recurrent_norm=recurrent_norm,
        contraction_per_step=float(np.exp(margin * float(dt.max()))),
        dt=dt.numpy(),
    )


def _report(estimator, caller):
    """The report of the least stable reader (forward, or the reverse one when present)."""
    module = _fitted_model(estimator, require_passthrough=False, caller=caller).module
    readers = [module] + ([module.reverse] if module.reverse is not None else [])
    return max((_reader_report(m) for m in readers), key=lambda report: report.margin)


@validate_params({"estimator": "no_validation"}, prefer_skip_nested_validation=True)
def stability_margin(estimator):
    """The stability margin ``mu`` of a fitted noisy RNN; negative means contraction.

    ``mu = lambda_max((a A + (a A)^T) / 2) + ||W||_2`` where ``A`` and ``W`` are
    the hidden matrices of the drift ``a A h + tanh(W h + U x + b)`` and ``a`` is
    ``linear_weight``. When ``mu < 0`` the clean (prediction-time) dynamics are
    contractive for every input: the distance between two hidden trajectories
    shrinks at least like ``exp(mu t)``, so the model forgets perturbations of
    its past inputs and state. It is a worst-case bound from the weights alone;
    :func:`lyapunov_exponent` measures the contraction along actual data.

    Parameters
    ----------
    estimator : NoisyRNNClassifier, NoisyRNNRegressor or Pipeline
        A fitted sknrnn estimator, or a fitted Pipeline ending in one.

    Returns
    -------
    margin : float
        ``mu``, a rate per unit of time (multiply by ``dt`` for a rate per step).

    See Also
    --------
    stability_report : The margin with its two terms and the step sizes.
    lyapunov_exponent : The measured contraction along data.

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import NoisyRNNClassifier, stability_margin
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.normal(size=(40, 12)), rng.randint(2, size=40)
    >>> clf = NoisyRNNClassifier(hidden_size=8, max_iter=2, random_state=0).fit(X, y)
    >>> isinstance(stability_margin(clf), float)
    True
    """
    return _report(estimator, "stability_margin").margin


def _lyapunov_batch(module, u, lengths):
    """Finite-time Lyapunov exponents of one batch; ``u`` is ``(B, T, N)`` in the module's dtype.

    The steps and their Jacobians are the module's own (``NoisyRNN.clean_step``).
    """
    batch, n_steps, n = u.shape
    with torch.no_grad():
        K, dt = module.stacked_weight(), module.step_size()
    h = u.new_zeros(batch, n)
    # P holds J_k ... J_0 divided by exp(log_scale): renormalized every step.
    P = torch.eye(n, dtype=u.dtype).expand(batch, n, n).clone()
    log_scale = u.new_zeros(batch)
    for k in range(n_steps):
        h_next, J = module.clean_step(h, u[:, k], dt, K, jacobian=True)
        P_next = J @ P
        norm = torch.linalg.matrix_norm(P_next).clamp_min(torch.finfo(u.dtype).tiny)
        P_next = P_next / norm.view(batch, 1, 1)
        active = k < lengths
        h = torch.where(active[:, None], h_next, h)
        P = torch.where(active[:, None, None], P_next, P)
        log_scale = log_scale + torch.where(active, norm.log(), torch.zeros_like(norm))
    top = torch.linalg.matrix_norm(P, ord=2)
    return (log_scale + top.log()) / lengths.to(u.dtype)


@validate_params(
    {
        "estimator": "no_validation",
        "X": ["array-like"],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def lyapunov_exponent(estimator, X, *, batch_size=None):
    """Finite-time Lyapunov exponent of a fitted noisy RNN along each sequence of X.

    For each sequence the clean hidden trajectory ``h_0 = 0, h_1, ..., h_M`` is
    integrated as at prediction time, and the exponent is

        lambda = log ||J_{M-1} ... J_1 J_0||_2 / M,
        J_k = I + diag(dt) (a A + diag(1 - tanh^2(W h_k + U x_k + b)) W),

    the Jacobian of step ``k`` (the midpoint rule's step Jacobian with
    ``solver="midpoint"``) and ``M`` the number of observed steps of that
    sequence (NaN end padding is not counted; with windows, ``M`` counts the
    windows, the steps of the recurrence). With ``bidirectional=True`` it is the
    exponent of the forward reader. ``exp(lambda * M)`` is how much
    the most sensitive perturbation of the initial state is stretched by the
    time the sequence ends.

    - ``lambda < 0``: nearby trajectories converge; a small perturbation of the
      state, or of an input early in the sequence, is forgotten at a rate
      ``exp(lambda)`` per step.
    - ``lambda ~ 0``: perturbations neither grow nor decay (long memory).
    - ``lambda > 0``: perturbations are amplified (sensitive, chaotic dynamics).

    The product is propagated with renormalization at every step, so long
    sequences neither overflow nor underflow.

    Parameters
    ----------
    estimator : NoisyRNNClassifier, NoisyRNNRegressor or Pipeline
        A fitted sknrnn estimator, or a Pipeline ending in one whose other steps
        are ``"passthrough"`` or None (transform X yourself otherwise).
    X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
        Sequences, as for ``predict`` (NaN end padding allowed).
    batch_size : int, default=None
        Sequences processed together; memory grows as
        ``batch_size * hidden_size**2``. None: 256.

    Returns
    -------
    exponents : ndarray of shape (n_samples,)
        The exponent of each sequence, per time step (divide by the step
        ``dt`` for a rate per unit of time).

    See Also
    --------
    stability_margin : A bound on the contraction rate for every input.

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import NoisyRNNClassifier, lyapunov_exponent
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.normal(size=(40, 12)), rng.randint(2, size=40)
    >>> clf = NoisyRNNClassifier(hidden_size=8, max_iter=2, random_state=0).fit(X, y)
    >>> exponents = lyapunov_exponent(clf, X)
    >>> exponents.shape
    (40,)
    >>> bool(np.isfinite(exponents).all())
    True
    """
    fitted = _fitted_model(estimator, caller="lyapunov_exponent")
    if fitted.fitted_with_times:
        raise ValueError(
            "lyapunov_exponent integrates evenly spaced steps, but this "
            f"{type(fitted.estimator).__name__} was fitted with observation times "
            "(irregular sampling), which it does not take. Use a model fitted without times."
        )
    model = _fitted_model(estimator, X, caller="lyapunov_exponent")
    module = model.module
    # A float64 copy on the CPU: products of many step Jacobians need the precision.
    module64 = copy.deepcopy(module).to("cpu", torch.float64)
    inputs = {key: model.inputs[key] for key in ("x", "lengths")}
    batch_size = batch_rows(heavy=True) if batch_size is None else batch_size
    out = []
    with torch.no_grad():
        for _, batch in batches(inputs, model.device, batch_size):
            # One step per window of window_ observations.
            x, lens, _ = module.windows(batch["x"], batch["lengths"])
            u = module.encode(x).to("cpu", torch.float64)
            out.append(_lyapunov_batch(module64, u, lens.cpu()).numpy())
    return np.concatenate(out)
