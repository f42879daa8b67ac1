"""Robustness of a noisy RNN against a deterministic one, on digits read as sequences.

Each 8x8 image of scikit-learn's digits is read pixel by pixel as a sequence of
64 steps. sknrnn's defaults (a noisy RNN) and the deterministic Lipschitz RNN
(the same with ``noise_type="none"``) are trained on clean data; the script
prints their accuracy on clean and perturbed test sequences and saves their
robustness curves under white noise on one axes.

Run::

    python examples/plot_robustness.py --output robustness.png
    python examples/plot_robustness.py --fast   # a smoke run in seconds
"""

import argparse
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sknrnn import NoisyRNNClassifier, RobustnessCurveDisplay, robustness_score  # noqa: E402

PERTURBATIONS = [
    ("white_noise", 0.5),
    ("white_noise", 1.0),
    ("multiplicative_noise", 0.5),
    ("salt_and_pepper", 0.1),
    ("pgd", 0.05),
    ("pgd", 0.1),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="robustness.png", help="where to save the figure")
    parser.add_argument("--fast", action="store_true", help="few epochs on a subset (smoke run)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    X, y = load_digits(return_X_y=True)  # X: (1797, 64), each row a 64-step sequence
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    if args.fast:
        X_train, y_train, X_test, y_test = X_train[:300], y_train[:300], X_test[:100], y_test[:100]
    # The defaults train for about 2000 optimizer steps; --fast: 3 epochs.
    common = dict(max_iter=3, hidden_size=16) if args.fast else {}
    n_repeats = 1 if args.fast else 3
    models = {
        "NRNN (defaults)": NoisyRNNClassifier(random_state=0, **common),
        "Lipschitz RNN (no noise)": NoisyRNNClassifier(noise_type="none", random_state=0, **common),
    }
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_train, y_train)
        print(f"fitted {name} in {time.perf_counter() - start:.1f} s")

    header = ["model", "clean"] + [f"{p} {lvl:g}" for p, lvl in PERTURBATIONS]
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, model in models.items():
        row = [name, f"{model.score(X_test, y_test):.3f}"]
        for perturbation, level in PERTURBATIONS:
            score = robustness_score(
                model, X_test, y_test, perturbation=perturbation, level=level,
                n_repeats=1 if perturbation == "pgd" else n_repeats, random_state=0,
            )
            row.append(f"{score:.3f}")
        print("| " + " | ".join(row) + " |")
    print("\nLevels are relative to the standard deviation of X (salt-and-pepper: fraction "
          "of entries); accuracy is over all test sequences.")

    fig, ax = plt.subplots(figsize=(6, 4))
    levels = np.linspace(0.0, 1.5, 4 if args.fast else 7)
    for name, model in models.items():
        RobustnessCurveDisplay.from_estimator(
            model, X_test, y_test, perturbation="white_noise", levels=levels,
            n_repeats=n_repeats, random_state=0, ax=ax, name=name,
        )
    ax.set_title("Digits as 64-step sequences: accuracy under white noise")
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
