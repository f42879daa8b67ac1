"""Accuracy lost to perturbations, per model, from the tables that robustness.py prints.

    python benchmarks/robustness.py ... > robustness.log
    python benchmarks/robustness_summary.py robustness.log

For each dataset and model: clean accuracy, the mean accuracy over the 9 random
perturbations (white, multiplicative, salt-and-pepper at 3 levels each), the
mean drop from clean and that drop as a multiple of the Lipschitz RNN's (the
paper's claim is that noise training makes it smaller), and the same for PGD.
"""

import re
import sys


def parse(text):
    """{dataset: {model: [13 accuracies or None]}} from robustness.py's output."""
    out = {}
    for section in re.split(r"\n### ", text)[1:]:
        rows = {}
        for line in section.splitlines():
            if line.startswith("| ") and ("±" in line or "n/a" in line):
                cells = [c.strip() for c in line.strip("|").split("|")]
                rows[cells[0]] = [None if c == "n/a" else float(c.split("±")[0]) for c in cells[1:]]
        out[section.split()[0]] = rows
    return out


def _mean_drop(values):
    """Mean of clean - perturbed, with ``values = [clean, perturbed...]``."""
    drops = [values[0] - v for v in values[1:] if v is not None]
    return sum(drops) / len(drops) if drops else float("nan")


def main(path):
    for dataset, rows in parse(open(path).read()).items():
        print(f"{dataset}")
        print("| model | clean | mean perturbed | drop | drop / Lipschitz | pgd drop | pgd drop / Lipschitz |")
        print("|---|---|---|---|---|---|---|")
        ref = rows["Lipschitz RNN"]
        ref_drop, ref_pgd = _mean_drop([ref[0]] + ref[1:10]), _mean_drop([ref[0]] + ref[10:13])
        for model, v in rows.items():
            drop = _mean_drop([v[0]] + v[1:10])
            mean = sum(v[1:10]) / 9
            pgd = _mean_drop([v[0]] + [x for x in v[10:13] if x is not None]) if v[10] is not None else None
            pgd_cells = "n/a | n/a" if pgd is None else f"{pgd:.3f} | {pgd / ref_pgd:.2f}"
            print(f"| {model} | {v[0]:.3f} | {mean:.3f} | {drop:.3f} | {drop / ref_drop:.2f} | {pgd_cells} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
