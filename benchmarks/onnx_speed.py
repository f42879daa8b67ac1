"""Inference on the CPU: the exported ONNX model in onnxruntime against ``predict_proba``.

Fits a classifier of the default size briefly (the weights do not change the cost),
exports it with ``sknrnn.to_onnx`` and times ``predict_proba`` (torch) and the
onnxruntime session on the same sequences (NaN-padded to unequal lengths), with
the same number of threads, interleaved in one run; prints the median of each,
their ratio (onnxruntime / predict_proba) and the largest difference between the
probabilities. Needs the onnx extra (``pip install "sknrnn[onnx]"``).

    python benchmarks/onnx_speed.py --threads 1
"""

import argparse
import platform
import time

import numpy as np
import onnxruntime as ort
import torch

import sknrnn
from sknrnn import NoisyRNNClassifier, to_onnx

# (name, estimator parameters): the defaults, and one reader of one observation per step.
VARIANTS = [
    ("defaults (windows of 2, both ways, mean)", {}),
    ("window=1, one way, last", dict(window=1, bidirectional=False, readout="last")),
]


def _sequences(n, steps, seed=0):
    rng = np.random.RandomState(seed)
    X = np.cumsum(rng.randn(n, steps), axis=1)
    lengths = rng.randint(steps // 2, steps + 1, size=n)
    X[np.arange(steps)[None, :] >= lengths[:, None]] = np.nan
    y = (np.nanmean(X, axis=1) > 0).astype(int)
    return X, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"sknrnn {sknrnn.__version__}, torch {torch.__version__}, onnxruntime "
        f"{ort.__version__}, Python {platform.python_version()}, {platform.machine()}; "
        f"{args.threads} thread(s); {args.rows} sequences x {args.steps} steps (unequal "
        f"lengths), median of {args.repeats}"
    )
    print()
    print("| model | predict_proba s | onnxruntime s | onnxruntime / predict_proba | "
          "largest difference |")
    print("|---|---|---|---|---|")
    X, y = _sequences(args.rows, args.steps)
    X32 = X.astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    for name, params in VARIANTS:
        clf = NoisyRNNClassifier(max_iter=1, random_state=0, **params).fit(X[:200], y[:200])
        session = ort.InferenceSession(
            to_onnx(clf).SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        runs = {
            "predict_proba": lambda clf=clf: clf.predict_proba(X),
            "onnxruntime": lambda session=session: session.run(None, {"X": X32})[1],
        }
        outputs = {key: run() for key, run in runs.items()}  # warm-up, and the agreement
        times = {key: [] for key in runs}
        for _ in range(args.repeats):
            for key, run in runs.items():
                start = time.perf_counter()
                run()
                times[key].append(time.perf_counter() - start)
        median = {key: float(np.median(t)) for key, t in times.items()}
        diff = float(np.abs(outputs["onnxruntime"] - outputs["predict_proba"]).max())
        print(
            f"| {name} | {median['predict_proba']:.3f} | {median['onnxruntime']:.3f} | "
            f"{median['onnxruntime'] / median['predict_proba']:.2f} | {diff:.1e} |"
        )


if __name__ == "__main__":
    main()
