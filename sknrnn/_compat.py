"""Loading models saved by sknrnn 0.1 to 0.4: the one place that knows their format.

Remove what only saves of 0.1 to 0.3 need in 0.6 (with a note in the changelog):
they will then need to be loaded once by 0.4 or 0.5 and saved again.
"""

import numpy as np

from ._params import LEGACY


def upgrade_saved_state(state, module_state):
    """Fill in, in place, what an estimator saved by an older sknrnn lacks.

    ``state`` is the estimator's pickled ``__dict__`` (before ``__setstate__``
    applies it), ``module_state`` the saved weights (a dict of arrays, or None
    for an unfitted estimator), changed in place too. Each default is what the
    older version did.
    """
    # Each parameter added since 0.1 takes the value that says what the older
    # versions did (_params.py's table: e.g. readout="last", the decoder read the last
    # state; window=1, bidirectional=False, input_clip=None, module=None).
    for key, value in LEGACY.items():
        state.setdefault(key, value)
    if module_state is None:
        return
    state.setdefault("window_", 1)
    # 0.1-0.4 standardized each channel by its mean and scale alone.
    state.setdefault("_x_offset", None)
    state.setdefault("standardize_", "channel")
    for key, value in LEGACY.items():
        state.get("_built_params", {}).setdefault(key, value)
    if "x_mean" in module_state:  # 0.1: the module standardized X itself
        state["_x_mean"] = np.asarray(module_state.pop("x_mean"), dtype=np.float64)
        state["_x_scale"] = np.asarray(module_state.pop("x_scale"), dtype=np.float64)
    # 0.1: the cosine schedule spanned max_iter; and fit's early_stopping decided
    # whether the net held out a validation set.
    state.setdefault("_schedule_epochs", state.get("max_iter"))
    # 0.3 named whether the net holds out a validation set "_validation".
    held_out = state.pop("_validation", state.get("early_stopping"))
    state.setdefault("_validation_held_out", held_out)
    # 0.1-0.3: best_loss_ (as scikit-learn's MLP: None under early stopping).
    if "loss_curve_" in state:
        best = None if held_out else min(state["loss_curve_"], default=None)
        state.setdefault("best_loss_", best)
