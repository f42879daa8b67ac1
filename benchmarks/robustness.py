"""Accuracy of NRNNs and peers on clean and perturbed test sequences.

Models (all trained on clean data, the perturbations applied to test data only):

- NRNN with additive, multiplicative and mixed noise, the noise level chosen
  among a small grid by the accuracy on a held-out quarter of the training
  data, then refitted on all of it;
- the deterministic Lipschitz RNN (``noise_type="none"``);
- an LSTM of the same hidden size, trained with the same optimizer settings
  (Adam, same learning rate, cosine schedule, gradient clipping, epochs, batch);
- MiniRocket from aeon, when aeon is importable.

Datasets: GunPoint and ItalyPowerDemand (UCR, from ``--data-dir``) and
scikit-learn's digits read as 64-step sequences. Each cell is the mean (and
std) accuracy over ``--seeds`` seeds, over all test sequences. The gradient
attack (PGD) needs the gradient of a sknrnn model, so it is reported for the
NRNN rows only.

Run::

    python benchmarks/robustness.py --quick
    python benchmarks/robustness.py --seeds 3
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder

from sknrnn import NoisyRNNClassifier, robustness_score

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

PERTURBATIONS = {
    "white_noise": [0.2, 0.5, 1.0],
    "multiplicative_noise": [0.2, 0.5, 1.0],
    "salt_and_pepper": [0.05, 0.1, 0.2],
    "pgd": [0.02, 0.05, 0.1],
}
SHORT = {"white_noise": "white", "multiplicative_noise": "mult", "salt_and_pepper": "s&p",
         "pgd": "pgd"}


class LSTMClassifier(ClassifierMixin, BaseEstimator):
    """A one-layer LSTM on standardized inputs, last hidden state to logits (the peer)."""

    def __init__(self, hidden_size=32, max_iter=50, batch_size=64, learning_rate_init=0.01,
                 clip_grad_norm=1.0, random_state=0):
        self.hidden_size = hidden_size
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.clip_grad_norm = clip_grad_norm
        self.random_state = random_state

    def _tensor(self, X):
        X = np.asarray(X, dtype=np.float64)
        X = X[:, :, None] if X.ndim == 2 else X
        return torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)

    def fit(self, X, y):
        X3 = np.asarray(X, dtype=np.float64)
        X3 = X3[:, :, None] if X3.ndim == 2 else X3
        self.mean_ = X3.reshape(-1, X3.shape[2]).mean(axis=0)
        self.scale_ = X3.reshape(-1, X3.shape[2]).std(axis=0) + 1e-12
        enc = LabelEncoder().fit(y)
        self.classes_ = enc.classes_
        target = torch.as_tensor(enc.transform(y), dtype=torch.int64)
        torch.manual_seed(self.random_state)
        self.lstm_ = torch.nn.LSTM(X3.shape[2], self.hidden_size, batch_first=True)
        self.head_ = torch.nn.Linear(self.hidden_size, len(self.classes_))
        params = list(self.lstm_.parameters()) + list(self.head_.parameters())
        opt = torch.optim.Adam(params, lr=self.learning_rate_init)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.max_iter)
        x = self._tensor(X)
        gen = torch.Generator().manual_seed(self.random_state)
        bs = min(self.batch_size, len(x))
        for _ in range(self.max_iter):
            for idx in torch.randperm(len(x), generator=gen).split(bs):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(self._logits(x[idx]), target[idx])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, self.clip_grad_norm)
                opt.step()
            sched.step()
        return self

    def _logits(self, x):
        out, _ = self.lstm_(x)
        return self.head_(out[:, -1])

    def predict(self, X):
        with torch.no_grad():
            logits = torch.cat([self._logits(b) for b in self._tensor(X).split(1024)])
        return self.classes_[logits.argmax(1).numpy()]


def load_datasets(data_dir, quick):
    sets = {}
    for name in ["GunPoint", "ItalyPowerDemand"]:
        path = Path(data_dir) / f"{name}.npz"
        if not path.exists():
            print(f"note: {path} not found, {name} skipped", file=sys.stderr)
            continue
        d = np.load(path, allow_pickle=True)
        sets[name] = (d["X_train"], d["y_train"], d["X_test"], d["y_test"])
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    if quick:
        Xtr, ytr, Xte, yte = Xtr[:400], ytr[:400], Xte[:200], yte[:200]
    sets["digits"] = (Xtr, ytr, Xte, yte)
    return sets


def minirocket():
    try:
        from aeon.classification.convolution_based import MiniRocketClassifier
    except ImportError:
        return None
    return MiniRocketClassifier


def select_noise(noise_type, grid, common, X, y, seed):
    """Noise level with the best accuracy on a held-out quarter of (X, y)."""
    Xa, Xv, ya, yv = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    scores = []
    for level in grid:
        clf = NoisyRNNClassifier(noise_type=noise_type, noise_level=level, **common)
        scores.append(clf.fit(Xa, ya).score(Xv, yv))
    return grid[int(np.argmax(scores))]


def evaluate(model, X, y, seed, n_repeats, attacks):
    row = {"clean": model.score(X, y)}
    for perturbation, levels in PERTURBATIONS.items():
        for level in levels:
            key = f"{SHORT[perturbation]} {level:g}"
            if perturbation == "pgd" and not attacks:
                row[key] = np.nan
                continue
            row[key] = robustness_score(
                model, X, y, perturbation=perturbation, level=level,
                n_repeats=1 if perturbation == "pgd" else n_repeats, random_state=seed,
            )
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 seed, few epochs, subset of digits")
    parser.add_argument("--max-iter", type=int, default=None)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--datasets", nargs="*", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    seeds = range(1 if args.quick else args.seeds)
    max_iter = args.max_iter or (10 if args.quick else 100)
    grid = [0.1] if args.quick else [0.05, 0.2]
    n_repeats = 1 if args.quick else 3
    Rocket = minirocket()
    if Rocket is None:
        print("note: aeon is not installed, MiniRocket skipped (pip install aeon)")

    sets = load_datasets(args.data_dir, args.quick)
    if args.datasets:
        sets = {k: v for k, v in sets.items() if k in args.datasets}
    print(f"seeds={len(seeds)} max_iter={max_iter} hidden_size={args.hidden_size} "
          f"noise grid={grid} repeats={n_repeats} torch threads=1")
    columns = ["clean"] + [f"{SHORT[p]} {lvl:g}" for p, lvls in PERTURBATIONS.items() for lvl in lvls]
    for dname, (Xtr, ytr, Xte, yte) in sets.items():
        start = time.perf_counter()
        results, chosen = {}, {}
        lr = NoisyRNNClassifier().learning_rate_init  # the LSTM peer trains with the same settings
        batch_size = args.batch_size
        for seed in seeds:
            # sknrnn's defaults (learning rate, schedule, clipping, dt) but for the size and epochs
            common = dict(hidden_size=args.hidden_size, max_iter=max_iter, batch_size=batch_size,
                          random_state=seed)
            models = {}
            for noise_type in ["additive", "multiplicative", "mixed"]:
                level = select_noise(noise_type, grid, common, Xtr, ytr, seed)
                chosen.setdefault(noise_type, []).append(level)
                models[f"NRNN {noise_type}"] = NoisyRNNClassifier(
                    noise_type=noise_type, noise_level=level, **common)
            models["Lipschitz RNN"] = NoisyRNNClassifier(noise_type="none", **common)
            models["LSTM"] = LSTMClassifier(args.hidden_size, max_iter=max_iter,
                                            batch_size=batch_size, learning_rate_init=lr, random_state=seed)
            if Rocket is not None:
                models["MiniRocket"] = Rocket(random_state=seed)
            for name, model in models.items():
                if name == "MiniRocket":
                    model = _Rocket2D(model)
                model.fit(Xtr, ytr)
                attacks = isinstance(model, NoisyRNNClassifier)
                results.setdefault(name, []).append(evaluate(model, Xte, yte, seed, n_repeats, attacks))
        print(f"\n### {dname} (train {len(Xtr)}, test {len(Xte)}, T={Xtr.shape[1]}; "
              f"{time.perf_counter() - start:.0f} s)\n")
        print("chosen noise levels per seed: " + ", ".join(f"{k} {v}" for k, v in chosen.items()))
        print()
        print("| model | " + " | ".join(columns) + " |")
        print("|---|" + "---|" * len(columns))
        for name, rows in results.items():
            cells = []
            for col in columns:
                vals = np.array([r[col] for r in rows], dtype=float)
                if np.isnan(vals).all():
                    cells.append("n/a")
                elif len(vals) > 1:
                    cells.append(f"{vals.mean():.3f}±{vals.std():.3f}")
                else:
                    cells.append(f"{vals.mean():.3f}")
            print(f"| {name} | " + " | ".join(cells) + " |")
        sys.stdout.flush()


class _Rocket2D(ClassifierMixin, BaseEstimator):
    """Feeds aeon's (n, channels, T) layout from sknrnn's (n, T) or (n, T, C)."""

    def __init__(self, model):
        self.model = model

    @staticmethod
    def _layout(X):
        X = np.asarray(X, dtype=np.float64)
        return X[:, None, :] if X.ndim == 2 else np.transpose(X, (0, 2, 1))

    def fit(self, X, y):
        self.model.fit(self._layout(X), np.asarray(y))
        self.classes_ = self.model.classes_
        return self

    def predict(self, X):
        return self.model.predict(self._layout(X))


if __name__ == "__main__":
    main()
