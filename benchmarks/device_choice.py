"""Which device fits faster: the estimator's default fit on the CPU against CUDA, one machine.

``device="auto"`` trains on CUDA whenever CUDA is present. This script times the same
default fit (``NoisyRNNClassifier(max_iter=E, random_state=0)``, every other parameter
at its default) with ``device="cpu"`` and ``device="cuda"`` on the same data, the two
interleaved, min of the repeats, and prints CUDA's time as a ratio of the CPU's, for
shapes from a UCR-sized set to larger ones, and the time of ``predict_proba`` on the
training set. The CPU runs with torch's default thread count (printed).

    python benchmarks/device_choice.py [--repeats 2]
"""

import argparse
import time

import numpy as np
import torch

from sknrnn import NoisyRNNClassifier

# (sequences, steps, epochs): OSULeaf-sized, the speed target's shape, more sequences,
# a long recurrence (ACSF1-sized windows), and many sequences.
SHAPES = [(200, 427, 5), (640, 150, 5), (5000, 150, 2), (1000, 1460, 2), (20000, 64, 1)]


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, GPU {gpu}")
    print()
    print("| sequences x steps, epochs | " + " | ".join(f"fit s, {d}" for d in devices)
          + " | fit cuda / cpu | " + " | ".join(f"predict s, {d}" for d in devices) + " |")
    print("|---" * (2 + 2 * len(devices)) + "|")
    rng = np.random.default_rng(0)
    for n, steps, epochs in SHAPES:
        X = rng.standard_normal((n, steps))
        y = (X[:, : steps // 4].mean(1) > 0).astype(int)
        fit_s = {d: [] for d in devices}
        predict_s = {d: [] for d in devices}
        for _ in range(args.repeats):
            for d in devices:
                seconds, clf = timed(
                    lambda d=d: NoisyRNNClassifier(max_iter=epochs, random_state=0,
                                                   device=d).fit(X, y)
                )
                fit_s[d].append(seconds)
                predict_s[d].append(timed(lambda clf=clf: clf.predict_proba(X))[0])
        best = {d: min(v) for d, v in fit_s.items()}
        ratio = f"{best['cuda'] / best['cpu']:.2f}" if "cuda" in best else ""
        print(f"| {n} x {steps}, {epochs} | "
              + " | ".join(f"{best[d]:.2f}" for d in devices) + f" | {ratio} | "
              + " | ".join(f"{min(predict_s[d]):.2f}" for d in devices) + " |", flush=True)


if __name__ == "__main__":
    main()
