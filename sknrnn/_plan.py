"""The plan of a training call: plain, immutable values that the lower modules receive.

``fit`` and ``partial_fit`` turn the parameters and the data into one
:class:`FitPlan` before anything is trained or assigned (``BaseNoisyRNN._plan``);
the estimator then assigns its fitted attributes from it in one place
(``BaseNoisyRNN._apply``). The modules below the estimator (``_inputs``,
``_validation``, ``_continued``, ``_net``) take the values they need from it
(the training loop's settings as a :class:`LoopSettings`, the input
statistics as a :class:`Standardization`) and return values: none of them
reads or writes an attribute of the estimator.
"""

from dataclasses import dataclass, fields
from types import MappingProxyType

import numpy as np


def frozen(mapping):
    """A read-only view of a copy of ``mapping`` (for the plan's dicts)."""
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Standardization:
    """What fit learned of X: its per-channel statistics, and the spacing of its times.

    ``x_mean`` and ``x_scale`` are float64 arrays ``(n_channels,)``; ``time_step`` is the
    median spacing of the observation times given to fit (None: fitted without times).
    """

    x_mean: np.ndarray
    x_scale: np.ndarray
    time_step: float = None

    @property
    def n_channels(self):
        return len(self.x_mean)


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
