"""Accuracy of sknrnn's defaults against its peers on the development suite.

Every model is fitted on the same training split and scored on the same test
split and the same perturbation draws (the draws depend on the seed only):

- ``sknrnn``: ``NoisyRNNClassifier()`` / ``NoisyRNNRegressor()`` with the defaults;
- ``sknrnn-none``: the same with ``noise_type="none"`` (the Lipschitz RNN);
- ``logreg`` / ``ridge``: LogisticRegression / RidgeCV on the raw steps;
- ``minirocket``: aeon's MiniRocketClassifier (classification only; skipped
  when aeon is not importable: ``pip install -e ".[bench]"``);
- any ``--extra NAME='{"param": value}'``: sknrnn with those parameters (for tuning;
  a key with a leading underscore sets that constant of ``sknrnn._base`` for the fit
  (``sknrnn._base.auto_budget``), e.g.
  ``{"_AUTO_STEPS": 4000}`` for another step budget of ``max_iter="auto"``).

Inputs are standardized with the training mean and std of each channel, and
the test perturbations are in those units: white noise of std 0.4
(``white_noise(X, 0.4, scale=1.0)``) and salt-and-pepper on 10% of the steps
(``salt_and_pepper(X, 0.1)``). Scores: accuracy (classification), R^2
(regression). Fit seconds are wall-clock seconds of ``fit`` with
``--threads`` torch threads while ``--jobs`` fits run side by side.

Datasets: GunPoint, ItalyPowerDemand, OSULeaf, ACSF1, BasicMotions (aeon's
bundled UCR/UEA sets), scikit-learn's digits read as 64-step sequences (a
fixed stratified 75/25 split), and Covid3Month (regression).

Run::

    python benchmarks/accuracy.py --seeds 3 --log benchmarks/results/accuracy.jsonl
    python benchmarks/accuracy.py --summarize benchmarks/results/accuracy.jsonl
    python benchmarks/accuracy.py --trace-cost --threads 2   # the cost target, machine idle
"""

import argparse
import json
import os
import sys
import time

import numpy as np

CLASSIFICATION = ["GunPoint", "ItalyPowerDemand", "OSULeaf", "ACSF1", "BasicMotions", "digits"]
REGRESSION = ["Covid3Month", "PeakShape"]
PERTURBATIONS = {"clean": None, "white0.4": ("white_noise", 0.4), "s&p0.1": ("salt_and_pepper", 0.1)}


def peak_shape(n_train=200, n_test=200, n_steps=300, seed=0):
    """A synthetic shape-defined regression: the position and the width of a peak.

    Each series is a Gaussian bump of height 1 centred at ``c`` (uniform over the
    middle 80% of the steps) with width ``s`` (uniform in [5, 30] steps), on a slow
    random baseline, plus white noise of std 0.3; the targets are ``(c, s)`` in steps.
    """
    rng = np.random.RandomState(seed)
    n = n_train + n_test
    t = np.arange(n_steps)[None, :]
    centre = rng.uniform(0.1 * n_steps, 0.9 * n_steps, size=(n, 1))
    width = rng.uniform(5, 30, size=(n, 1))
    baseline = 0.3 * np.sin(2 * np.pi * (t / n_steps * rng.uniform(0.5, 2, (n, 1))
                                         + rng.uniform(0, 1, (n, 1))))
    X = np.exp(-0.5 * ((t - centre) / width) ** 2) + baseline + 0.3 * rng.normal(size=(n, n_steps))
    y = np.hstack([centre, width])
    return X[:n_train, :, None], y[:n_train], X[n_train:, :, None], y[n_train:]


def load(name):
    """``(X_train, y_train, X_test, y_test)`` with X as (n, T, C), standardized."""
    if name == "PeakShape":
        Xtr, ytr, Xte, yte = peak_shape()
    elif name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
        Xtr, Xte = Xtr[:, :, None], Xte[:, :, None]
    else:
        from aeon.datasets import load_classification, load_regression

        loader = load_regression if name in REGRESSION else load_classification
        Xtr, ytr = loader(name, split="train")
        Xte, yte = loader(name, split="test")
        Xtr, Xte = np.transpose(Xtr, (0, 2, 1)), np.transpose(Xte, (0, 2, 1))
    Xtr, Xte = np.asarray(Xtr, dtype=np.float64), np.asarray(Xte, dtype=np.float64)
    mean = Xtr.reshape(-1, Xtr.shape[2]).mean(axis=0)
    std = Xtr.reshape(-1, Xtr.shape[2]).std(axis=0)
    std[std == 0] = 1.0
    if name in REGRESSION:
        ytr, yte = np.asarray(ytr, dtype=np.float64), np.asarray(yte, dtype=np.float64)
    return (Xtr - mean) / std, ytr, (Xte - mean) / std, yte


def budget(kind, extra):
    """The fit's context: the ``_AUTO_*`` constants that ``--extra`` sets for ``kind``
    (its keys with a leading underscore), through ``sknrnn._base.auto_budget``."""
    from sknrnn._base import auto_budget

    return auto_budget(**{k: v for k, v in extra.get(kind, {}).items() if k.startswith("_")})


class _PerOutput:
    """aeon's MiniRocketRegressor (one output) fitted once per column of a 2-D y."""

    def __init__(self, seed):
        self.seed = seed

    def fit(self, X, y):
        from aeon.regression.convolution_based import MiniRocketRegressor

        y = np.asarray(y)
        columns = y.reshape(len(y), -1).T
        self.models_ = [MiniRocketRegressor(random_state=self.seed).fit(X, c) for c in columns]
        self.ndim_ = y.ndim
        return self

    def predict(self, X):
        out = np.stack([m.predict(X) for m in self.models_], axis=1)
        return out if self.ndim_ == 2 else out[:, 0]


def make_model(kind, seed, task, extra):
    if kind == "logreg":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=2000), "flat"
    if kind == "ridge":
        from sklearn.linear_model import RidgeCV

        return RidgeCV(alphas=np.logspace(-3, 3, 13)), "flat"
    if kind == "minirocket":
        if task == "regression":
            return _PerOutput(seed), "channels_first"
        from aeon.classification.convolution_based import MiniRocketClassifier

        return MiniRocketClassifier(random_state=seed), "channels_first"
    from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor

    params = {"noise_type": "none"} if kind == "sknrnn-none" else dict(extra.get(kind, {}))
    # The budget constants (keys with a leading underscore) are set by budget() for the fit.
    params = {k: v for k, v in params.items() if not k.startswith("_")}
    cls = NoisyRNNRegressor if task == "regression" else NoisyRNNClassifier
    return cls(random_state=seed, **params), "sequences"


def as_input(X, layout):
    if layout == "flat":
        return X.reshape(len(X), -1)
    if layout == "channels_first":
        return np.ascontiguousarray(np.transpose(X, (0, 2, 1)))
    return X


def run_one(name, kind, seed, extra, threads):
    import torch
    from sklearn.metrics import accuracy_score, r2_score

    from sknrnn.perturbations import salt_and_pepper, white_noise

    torch.set_num_threads(threads)
    task = "regression" if name in REGRESSION else "classification"
    Xtr, ytr, Xte, yte = load(name)
    model, layout = make_model(kind, seed, task, extra)
    start = time.perf_counter()
    with budget(kind, extra):  # constants for this fit only (a worker runs many fits)
        model.fit(as_input(Xtr, layout), ytr)
    fit_seconds = time.perf_counter() - start
    metric = r2_score if task == "regression" else accuracy_score
    row = {"dataset": name, "model": kind, "seed": seed, "fit_seconds": round(fit_seconds, 2),
           "n_iter": int(model.n_iter_) if layout == "sequences" else None}
    for label, spec in PERTURBATIONS.items():
        if spec is None:
            Xp = Xte
        elif spec[0] == "white_noise":
            Xp = white_noise(Xte, spec[1], scale=1.0, random_state=seed)
        else:
            Xp = salt_and_pepper(Xte, spec[1], random_state=seed)
        row[label] = float(metric(yte, model.predict(as_input(Xp, layout))))
    return row


def summarize(rows):
    """Per-dataset tables and suite means (mean and std over seeds)."""
    import collections

    by = collections.defaultdict(list)
    for r in rows:
        by[(r["dataset"], r["model"])].append(r)
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    cols = list(PERTURBATIONS)
    out = []
    for task, names in (("classification", CLASSIFICATION), ("regression", REGRESSION)):
        names = [d for d in datasets if d in names]
        if not names:
            continue
        metric = "R^2" if task == "regression" else "accuracy"
        out.append(f"\n### {task} ({metric}, mean ± std over seeds; fit seconds)\n")
        out.append("| dataset | model | " + " | ".join(cols) + " | fit s | epochs |")
        out.append("|---" * (len(cols) + 4) + "|")
        for d in names:
            for m in models:
                rs = by.get((d, m))
                if not rs:
                    continue
                cells = []
                for c in cols:
                    v = np.array([r[c] for r in rs])
                    cells.append(f"{v.mean():.3f} ± {v.std():.3f}")
                fit = np.mean([r["fit_seconds"] for r in rs])
                it = [r["n_iter"] for r in rs if r["n_iter"] is not None]
                out.append(f"| {d} | {m} | " + " | ".join(cells) + f" | {fit:.1f} | "
                           + (f"{int(np.mean(it))}" if it else "") + " |")
        # Suite means: mean over datasets of the per-dataset mean; spread over seeds
        # of the suite mean (seed s of every dataset together).
        out.append(f"\n**Suite means ({task}, {len(names)} sets; ± std over seeds)**\n")
        out.append("| model | " + " | ".join(cols) + " | total fit s |")
        out.append("|---" * (len(cols) + 2) + "|")
        for m in models:
            if not all((d, m) in by for d in names):
                continue
            seeds = sorted({r["seed"] for d in names for r in by[(d, m)]})
            cells = []
            for c in cols:
                per_seed = [np.mean([r[c] for d in names for r in by[(d, m)] if r["seed"] == s])
                            for s in seeds]
                cells.append(f"{np.mean(per_seed):.3f} ± {np.std(per_seed):.3f}")
            fit = sum(np.mean([r["fit_seconds"] for r in by[(d, m)]]) for d in names)
            out.append(f"| {m} | " + " | ".join(cells) + f" | {fit:.0f} |")
        out.append(targets(task, names, by))
    return "\n".join(out)


def targets(task, names, by):
    """The targets of the defaults issue, each as met or missed with its numbers."""

    def suite(model, col):
        if not all((d, model) in by for d in names):
            return None
        return float(np.mean([np.mean([r[col] for r in by[(d, model)]]) for d in names]))

    lines = [f"\n**Targets ({task})**\n"]

    def check(label, ok, detail):
        lines.append(f"- {label}: **{'met' if ok else 'missed'}** ({detail})")

    nrnn, none = "sknrnn", "sknrnn-none"
    if suite(nrnn, "clean") is None:
        return ""
    if task == "regression":
        for col in ("clean", "white0.4"):
            a, b = suite(nrnn, col), suite("ridge", col)
            if b is not None:
                check(f"R^2 {col} >= RidgeCV", a >= b, f"{a:.3f} vs {b:.3f}")
        return "\n".join(lines)
    mr = suite("minirocket", "clean")
    if mr is not None:
        a = suite(nrnn, "clean")
        check("clean within 0.03 of MiniRocket", a >= mr - 0.03, f"{a:.3f} vs {mr:.3f}")
    for col in ("white0.4", "s&p0.1"):
        peers = [v for v in (suite("minirocket", col), suite("logreg", col)) if v is not None]
        if peers:
            a = suite(nrnn, col)
            check(f"{col} at least 0.05 above the better peer", a >= max(peers) + 0.05,
                  f"{a:.3f} vs {max(peers):.3f}")
    if suite(none, "clean") is not None:
        a, b = suite(nrnn, "clean"), suite(none, "clean")
        check("clean within 0.01 of noise_type='none'", a >= b - 0.01, f"{a:.3f} vs {b:.3f}")
        for col in ("white0.4", "s&p0.1"):
            lost, lost_none = a - suite(nrnn, col), b - suite(none, col)
            ratio = lost / lost_none if lost_none > 0 else float("inf")
            check(f"accuracy lost under {col} at most 0.7x noise_type='none''s", ratio <= 0.7,
                  f"{lost:.3f} vs {lost_none:.3f}: {ratio:.2f}x")
    return "\n".join(lines)


def trace_cost(threads):
    """Seconds of a default fit on a Trace-sized set (100 sequences of 300 steps)."""
    import torch

    from sknrnn import NoisyRNNClassifier

    torch.set_num_threads(threads)
    rng = np.random.RandomState(0)
    y = rng.randint(4, size=100)
    t = np.linspace(0, 6, 300)
    X = np.sin(t[None, :] * (1 + y[:, None])) + 0.3 * rng.normal(size=(100, 300))
    lines = [f"\n**Cost of a default fit, 100 sequences of 300 steps, {threads} torch threads**\n",
             "| model | fit s | epochs |", "|---|---|---|"]
    for label, params in (("sknrnn (defaults)", {}), ("noise_type='none'", {"noise_type": "none"})):
        model = NoisyRNNClassifier(random_state=0, **params)
        start = time.perf_counter()
        model.fit(X, y)
        lines.append(f"| {label} | {time.perf_counter() - start:.1f} | {model.n_iter_} |")
    return "\n".join(lines)


def run_tasks(fn, tasks, jobs, log=None, fresh_workers=False):
    """Run ``fn(*task)`` for each task in ``jobs`` processes; print each returned row as
    a JSON line and append it to ``log``. ``fresh_workers``: one task per process (for
    screens that patch sknrnn: a patch never reaches another task's fit)."""
    from concurrent.futures import ProcessPoolExecutor

    kw = {"max_tasks_per_child": 1} if fresh_workers else {}
    with ProcessPoolExecutor(jobs, **kw) as pool:
        for row in pool.map(fn, *zip(*tasks)):
            line = json.dumps(row)
            print(line, flush=True)
            if log:
                with open(log, "a") as f:
                    f.write(line + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=CLASSIFICATION + REGRESSION)
    parser.add_argument("--models", nargs="+", default=None,
                        help="default: sknrnn sknrnn-none logreg/ridge minirocket")
    parser.add_argument("--extra", nargs="*", default=[], metavar="NAME=JSON",
                        help="extra sknrnn variants, e.g. b8='{\"batch_size\": 8}'")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log", default=None, help="append one JSON line per fit here")
    parser.add_argument("--summarize", nargs="+", default=None, metavar="LOG",
                        help="only print the tables of these logs")
    parser.add_argument("--trace-cost", action="store_true",
                        help="only time default fits on 100 sequences of 300 steps")
    args = parser.parse_args(argv)

    if args.trace_cost:
        print(trace_cost(args.threads))
        return

    if args.summarize:
        rows = [json.loads(line) for path in args.summarize for line in open(path) if line.strip()]
        print(summarize(rows))
        return

    extra = {}
    for item in args.extra:
        key, _, value = item.partition("=")
        extra[key] = json.loads(value)
    try:
        import aeon  # noqa: F401

        have_aeon = True
    except ImportError:
        have_aeon = False
        print("aeon is not importable: MiniRocket and the UCR sets are skipped "
              "(pip install -e '.[bench]').", file=sys.stderr)

    tasks = []
    for name in args.datasets:
        if name not in ("digits", "PeakShape") and not have_aeon:
            continue
        regression = name in REGRESSION
        models = args.models or (
            ["sknrnn", "sknrnn-none", "ridge" if regression else "logreg"]
            + ([] if not have_aeon else ["minirocket"])
        )
        models = models + [k for k in extra if k not in models]
        for kind in models:
            if regression and kind == "logreg":
                continue
            if not regression and kind == "ridge":
                continue
            for seed in range(args.seeds):
                tasks.append((name, kind, seed))
    # Longest first, so that the two workers finish together.
    cost = {"ACSF1": 5, "OSULeaf": 4, "digits": 3}
    tasks.sort(key=lambda t: -cost.get(t[0], 1))

    from joblib import Parallel, delayed

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    log = open(args.log, "a") if args.log else None
    rows = []
    start = time.time()
    for row in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
        delayed(run_one)(name, kind, seed, extra, args.threads) for name, kind, seed in tasks
    ):
        rows.append(row)
        line = json.dumps(row)
        print(f"[{time.time() - start:7.0f} s] {line}", flush=True)
        if log:
            log.write(line + "\n")
            log.flush()
    print(summarize(rows))


if __name__ == "__main__":
    main()
