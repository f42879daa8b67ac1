"""Running a fitted module on arrays: one batch-size rule and one batched loop.

Prediction, the gradient attacks (``perturbations.py``) and the Lyapunov
exponent (``diagnostics.py``) read sequences through the module a batch at a
time, so that memory stays flat on any number of sequences. They all take
their batches from :func:`batches`, sized by :func:`batch_rows`.
"""

import numpy as np
import torch

# Sequences per batch when only the hidden state is kept per sequence (prediction,
# validation losses); a quarter of it when each sequence keeps more (a gradient
# graph through the recursion, or a tangent matrix per sequence).
_BATCH = 1024


def batch_rows(*, heavy=False):
    """Sequences per batch: ``_BATCH``, or ``_BATCH // 4`` for ``heavy`` work.

    ``heavy``: each sequence holds more than its hidden state while the batch
    runs (the attacks' gradient graph, the Lyapunov exponent's ``N x N``
    tangent matrix).
    """
    return _BATCH // 4 if heavy else _BATCH


def module_device(module):
    """The device the module's weights are on."""
    return next(module.parameters()).device


def batches(inputs, device, batch_size=None):
    """Yield ``(rows, batch)``: a slice of the sequences and their input dict as tensors.

    ``inputs`` is the dict of NumPy arrays (one row per sequence) that the module
    takes; each batch holds ``batch_size`` sequences (``batch_rows()`` when None),
    moved to ``device``.
    """
    batch_size = batch_rows() if batch_size is None else int(batch_size)
    n = len(inputs["x"])
    for start in range(0, n, batch_size):
        rows = slice(start, start + batch_size)
        yield rows, {key: torch.from_numpy(value[rows]).to(device) for key, value in inputs.items()}


def deterministic_outputs(module, inputs):
    """The module's deterministic outputs on ``inputs`` as a float64 array, in batches.

    Reads the module as it is: the deterministic recursion (``noise=False``,
    whatever the module's mode), nothing drawn from any random generator, and the
    module left on its device and in its mode (safe while other threads predict).
    """
    outputs = []
    with torch.no_grad():
        for _, batch in batches(inputs, module_device(module)):
            outputs.append(module(**batch, noise=False).to("cpu", torch.float64).numpy())
    if not outputs:
        return np.empty((0, module.decoder.out_features))
    return np.concatenate(outputs, axis=0)
