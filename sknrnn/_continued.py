"""Continued training (a warm-start fit, partial_fit): the parameters as they are now.

Which parameters changed since the net was built (those that shape the
weights may not), and bringing the fitted module and net to the others.
"""

from . import _net
from ._params import BY_NAME, CALL, FIXED, IN_LOOP, IN_MODULE, is_real


# What changing a parameter does to a fitted model: the roles of _params.py's table.
# FIXED shape the weights (they cannot change); IN_MODULE are changed in place on the
# fitted module (the constants of its equations, and how it reads its input); IN_LOOP
# rebuild the training loop's callbacks. (max_iter and batch_size need nothing
# rebuilt: every call plans its own budget.)


def tracked_params(params):
    """Of ``params`` (``get_params()``), those whose change continued training applies:
    all but warm_start."""
    return {key: value for key, value in params.items() if BY_NAME[key].role != CALL}


def changed_params(built, now, *, chosen, name):
    """Names of the parameters changed since the net was built; errors for the fixed ones.

    ``built`` and ``now``: the tracked parameters then and now (``tracked_params``);
    ``chosen``: what ``"auto"`` stood for in the fit, per parameter (``window``: the
    fitted ``window_``; ``standardize``: ``standardize_``); ``name`` names the
    estimator in the error.
    """
    changed = {
        key for key in now
        if not _same(_resolved(key, now[key], chosen), _resolved(key, built.get(key), chosen))
    }
    fixed = sorted(changed.intersection(FIXED))
    if fixed:
        was = ", ".join(f"{key}={built.get(key)!r}" for key in fixed)
        raise ValueError(
            f"{', '.join(fixed)} changed since this {name} was fitted "
            f"({was} then), but it shapes the fitted weights, so training cannot go on "
            "from them. Set it back to go on training, or fit anew (warm_start=False; "
            "partial_fit on a fresh estimator)."
        )
    return frozenset(changed)


def apply_params(net, plan, *, epochs):
    """Bring the fitted module and net to the parameters of ``plan`` (a FitPlan).

    The module takes the plan's ``equations`` and ``reading`` in place when one of
    them changed; the net its seed, device, validation split and callbacks
    (``_net.update_net``; a warm-start fit, not ``partial``, holds out
    ``plan.split``). ``epochs``: those of the fit's schedule. Returns whether the
    net holds out a validation set.
    """
    module = net.module_
    changed = plan.changed
    if changed.intersection(IN_MODULE):
        module.configure(**plan.equations)
        for key, value in plan.reading.items():
            setattr(module, key, value)
    return _net.update_net(
        net, plan.loop,
        rebuild_callbacks=bool(changed.intersection(IN_LOOP)),
        seed=plan.seed if "random_state" in changed else None,
        device=plan.device if "device" in changed else None,
        split=plan.split, partial=plan.partial, epochs=epochs,
    )


def _resolved(key, value, chosen):
    """The value a parameter stands for on the fitted model: ``"auto"`` is what the fit
    chose for it where ``chosen`` says (``window_``, ``standardize_``)."""
    if isinstance(value, str) and value == "auto" and chosen.get(key) is not None:
        return chosen[key]
    return value


def _same(a, b):
    """Whether a parameter kept its value (callbacks and other objects: the same object)."""
    if a is b:
        return True
    if is_real(a) and is_real(b):  # np.int64(8) is 8: numpy and Python numbers alike
        return bool(a == b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        # (0.1, 1.0) is [0.1, 1.0] (parameters read from JSON or YAML are lists)
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(type(a) is type(b) and a == b)
    except (TypeError, ValueError):
        return False
