"""Whole default fits of two checkouts of sknrnn, interleaved in one run.

Each repetition runs, in a fresh subprocess per checkout and in alternation, the
same fits: ``NoisyRNNClassifier`` with its defaults (and with ``noise_type="none"``)
on a small set (67 sequences of 24 steps, the size of ItalyPowerDemand: 223 epochs
of 9 steps) and on a Trace-sized set (100 sequences of 300 steps, 60 epochs).
With ``--long``, also a default fit on an ACSF1-sized set (100 sequences of 1460
steps, 10 classes, ``max_iter="auto"``: 154 epochs). Prints the min over
repetitions of each fit's seconds and the ratio new / old.

    python benchmarks/compare_checkouts.py OLD_DIR NEW_DIR [--repeats 3] [--threads 2] [--long]

where each directory is the root of a checkout (``git worktree add /tmp/old <commit>``).
"""

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, torch
torch.set_num_threads(int(sys.argv[2]))
from sknrnn import NoisyRNNClassifier
rng = np.random.default_rng(0)
out = {}
for name, (n, T, epochs) in {"small 67x24": (67, 24, "auto"),
                             "Trace-sized 100x300": (100, 300, 60)}.items():
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((n, T)) + 0.5 * y[:, None]
    NoisyRNNClassifier(random_state=0, max_iter=2).fit(X, y)  # warm-up
    for noise in ("mixed", "none"):
        t0 = time.perf_counter()
        NoisyRNNClassifier(noise_type=noise, max_iter=epochs, random_state=0).fit(X, y)
        out[f"{name}, noise_type={noise!r}"] = time.perf_counter() - t0
if sys.argv[3] == "long":
    y = rng.integers(0, 10, 100)
    X = rng.standard_normal((100, 1460)) + 0.2 * y[:, None]
    t0 = time.perf_counter()
    NoisyRNNClassifier(random_state=0).fit(X, y)
    out["ACSF1-sized 100x1460, defaults"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--long", action="store_true", help="add an ACSF1-sized default fit")
    args = parser.parse_args()
    times = {"old": [], "new": []}
    for _ in range(args.repeats):
        for key in ("old", "new"):
            path = os.path.abspath(getattr(args, key))
            res = subprocess.run([sys.executable, "-c", CHILD, path, str(args.threads),
                                  "long" if args.long else "short"],
                                 capture_output=True, text=True, check=True)
            times[key].append(json.loads(res.stdout.strip().splitlines()[-1]))
    print(f"old: {args.old}\nnew: {args.new}\nthreads {args.threads}, min of {args.repeats}\n")
    print("| fit | old s | new s | new / old |\n| --- | --- | --- | --- |")
    for fit in times["old"][0]:
        old = min(t[fit] for t in times["old"])
        new = min(t[fit] for t in times["new"])
        print(f"| {fit} | {old:.2f} | {new:.2f} | {new / old:.2f} |")


if __name__ == "__main__":
    main()
