"""Same seed, same numbers: a fingerprint of many small fits, to compare two checkouts.

A restructuring must not change a single number: this script fits a list of small
models that between them use every feature of the estimators (both estimators,
windows, both directions, each readout and noise type, unequal lengths, times,
weights, early stopping, warm start, partial_fit, a save and load, the tools), and
writes every prediction, loss curve and weight to one ``.npz``. Run it in each
checkout (``PYTHONPATH`` set to it) and compare the two files:

    PYTHONPATH=/tmp/old python benchmarks/fingerprint.py --out /tmp/old.npz
    PYTHONPATH=. python benchmarks/fingerprint.py --out /tmp/new.npz
    python benchmarks/fingerprint.py --compare /tmp/old.npz /tmp/new.npz

The comparison is exact (``np.array_equal``, NaN equal to NaN) and names every
array that differs; it exits with 1 if any does. A case whose parameters a checkout
does not have (``standardize`` before it existed) writes nothing there, and the
comparison lists its arrays as only in the newer file.
"""

import argparse
import io
import pickle
import sys

import warnings

import numpy as np


def _data(seed, n=24, T=20, channels=1, classes=2, unequal=False):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    t = np.linspace(0, 1, T)
    X = np.sin(2 * np.pi * (1 + y[:, None]) * t)[:, :, None] + 0.3 * rng.normal(
        size=(n, T, channels)
    )
    if channels == 1:
        X = X[:, :, 0]
    if unequal:
        lengths = rng.integers(T // 2, T + 1, size=n)
        for i, length in enumerate(lengths):
            X[i, length:] = np.nan
    return X, y


CASES = {
    # name: (estimator, params, data options, extras)
    "clf_defaults_small": ("clf", {}, {}, ()),
    "clf_none": ("clf", {"noise_type": "none"}, {}, ()),
    "clf_additive_gauss": ("clf", {"noise_type": "additive", "noise_increment": "gaussian"}, {}, ()),
    "clf_mult_last": ("clf", {"noise_type": "multiplicative", "readout": "last"}, {}, ()),
    "clf_mixed_pair_max": ("clf", {"noise_level": (0.1, 0.3), "readout": "max"}, {}, ()),
    "clf_oneway_window3": ("clf", {"bidirectional": False, "window": 3, "readout": "positions"}, {"T": 31}, ()),
    "clf_dt_range_unequal": ("clf", {"dt": (0.05, 0.5)}, {"unequal": True, "T": 40}, ()),
    "clf_learn_dt_false_clip": ("clf", {"learn_dt": False, "dt": 0.3, "input_clip": 1.0}, {}, ()),
    "clf_multichannel_3class": ("clf", {"augment": 0.1}, {"channels": 3, "classes": 3}, ()),
    "clf_weights_classweight": ("clf", {"class_weight": "balanced"}, {}, ("weights",)),
    "clf_times": ("clf", {}, {}, ("times",)),
    "clf_early_stopping": ("clf", {"early_stopping": True, "validation_fraction": 0.25,
                                   "n_iter_no_change": 2, "lr_schedule": "constant"}, {}, ()),
    "clf_warm_partial_save": ("clf", {}, {}, ("warm", "partial", "save")),
    "clf_heun_constant": ("clf", {"solver": "midpoint", "lr_schedule": "constant",
                                  "clip_grad_norm": None}, {}, ()),
    "reg_defaults": ("reg", {}, {}, ()),
    "reg_two_outputs_weights": ("reg", {"noise_type": "additive"}, {}, ("two", "weights")),
    "reg_warm_partial_save": ("reg", {}, {"unequal": True}, ("warm", "partial", "save")),
    "clf_step_unequal_weights_save": ("clf", {"standardize": "step"}, {"unequal": True},
                                      ("weights", "warm", "save")),
}


def _fit_case(name, kind, params, data, extras):
    from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor, robustness_curve

    X, y = _data(len(name), **data)
    n = len(X)
    Estimator = NoisyRNNClassifier if kind == "clf" else NoisyRNNRegressor
    if not set(params) <= set(Estimator().get_params()):
        return {}  # a checkout from before the parameter: the comparison names the case
    if kind == "reg":
        rng = np.random.default_rng(1)
        y = np.nanmean(np.atleast_3d(X), axis=(1, 2)) + 0.1 * rng.normal(size=n)
        if "two" in extras:
            y = np.column_stack([y, -2 * y + 1])
    est = Estimator(hidden_size=8, max_iter=4, batch_size=8, random_state=3, **params)
    fit_kw = {}
    if "weights" in extras:
        fit_kw["sample_weight"] = np.linspace(0.5, 2.0, n)
    if "times" in extras:
        rng = np.random.default_rng(2)
        T = X.shape[1]
        fit_kw["times"] = np.cumsum(rng.uniform(0.5, 1.5, size=(n, T)), axis=1)
    est.fit(X, y, **fit_kw)
    out = {}
    pred_kw = {"times": fit_kw["times"]} if "times" in extras else {}
    out["predict"] = np.asarray(est.predict(X, **pred_kw), dtype=np.float64)
    if kind == "clf":
        out["proba"] = est.predict_proba(X, **pred_kw)
    out["loss_curve"] = np.asarray(est.loss_curve_, dtype=np.float64)
    if "warm" in extras:
        est.set_params(warm_start=True, max_iter=2).fit(X, y, **fit_kw)
        out["warm_predict"] = np.asarray(est.predict(X, **pred_kw), dtype=np.float64)
    if "partial" in extras:
        est.partial_fit(X, y, **fit_kw)
        out["partial_predict"] = np.asarray(est.predict(X, **pred_kw), dtype=np.float64)
    if "save" in extras:
        buffer = io.BytesIO()
        pickle.dump(est, buffer)
        loaded = pickle.loads(buffer.getvalue())
        out["loaded_predict"] = np.asarray(loaded.predict(X, **pred_kw), dtype=np.float64)
        loaded.partial_fit(X, y, **fit_kw)
        est.partial_fit(X, y, **fit_kw)
        out["loaded_then_partial"] = np.asarray(loaded.predict(X, **pred_kw), dtype=np.float64)
        out["kept_then_partial"] = np.asarray(est.predict(X, **pred_kw), dtype=np.float64)
    out["loss_curve_end"] = np.asarray(est.loss_curve_, dtype=np.float64)
    for key, tensor in est.module_.state_dict().items():
        out[f"w.{key}"] = tensor.detach().cpu().numpy().astype(np.float64)
    if kind == "clf" and "times" not in extras:
        curve = robustness_curve(est, X, y, levels=[0.0, 0.5], n_repeats=2, random_state=0)
        out["robustness"] = np.asarray(curve["mean"], dtype=np.float64)
    return out


def fingerprint(path):
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # the short fits' ConvergenceWarnings
    arrays = {}
    for name, (kind, params, data, extras) in CASES.items():
        for key, value in _fit_case(name, kind, params, data, extras).items():
            arrays[f"{name}/{key}"] = np.asarray(value)
    np.savez(path, **arrays)
    print(f"{len(CASES)} fits, {len(arrays)} arrays -> {path}")


def compare(old, new):
    a, b = np.load(old), np.load(new)
    differ = []
    for key in sorted(set(a.files) | set(b.files)):
        if key not in a.files or key not in b.files:
            differ.append(f"{key}: only in {'new' if key not in a.files else 'old'}")
        elif a[key].shape != b[key].shape or not np.array_equal(a[key], b[key], equal_nan=True):
            diff = (np.nanmax(np.abs(a[key] - b[key])) if a[key].shape == b[key].shape
                    else "shape")
            differ.append(f"{key}: differs (max abs {diff})")
    for line in differ:
        print(line)
    print(f"{len(a.files)} arrays compared: {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    fingerprint(args.out)
