"""benchmarks/accuracy.py's summaries: which fits count, and the targets of the defaults
issue as met or missed (the numbers that benchmarks/README.md quotes come from them)."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
accuracy = pytest.importorskip("accuracy")


def _row(dataset, model, seed, clean, white=0.5, snp=0.5):
    return {"dataset": dataset, "model": model, "seed": seed, "fit_seconds": 1.0,
            "n_iter": 1, "clean": clean, "white0.4": white, "s&p0.1": snp}


def test_a_later_log_replaces_the_same_fits_of_an_earlier_one(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in [
        _row("Meat", "sknrnn", 0, 0.6), _row("Meat", "sknrnn", 1, 0.4), _row("CBF", "sknrnn", 0, 1.0),
    ]))
    second.write_text(json.dumps(_row("Meat", "sknrnn", 1, 1.0)) + "\n")
    rows = accuracy.read_logs([first, second])
    assert sorted((r["dataset"], r["seed"], r["clean"]) for r in rows) == [
        ("CBF", 0, 1.0), ("Meat", 0, 0.6), ("Meat", 1, 1.0),
    ]


def test_the_targets_name_the_sets_that_miss_them():
    rows = []
    for seed, (gp, meat) in enumerate([(0.90, 0.60), (0.92, 0.90), (0.91, 0.90)]):
        rows += [_row("GunPoint", "sknrnn", seed, gp, 0.8, 0.8),
                 _row("Meat", "sknrnn", seed, meat, 0.8, 0.8),
                 _row("GunPoint", "sknrnn-none", seed, 0.90, 0.7, 0.7),
                 _row("Meat", "sknrnn-none", seed, 0.85, 0.7, 0.7)]
    rows += [_row("GunPoint", "minirocket", 0, 0.99, 0.5, 0.5),
             _row("Meat", "minirocket", 0, 0.90, 0.3, 0.3),
             _row("GunPoint", "logreg", 0, 0.8, 0.7, 0.6), _row("Meat", "logreg", 0, 0.9, 0.7, 0.6)]
    text = accuracy.summarize(rows)
    lines = {line.split(":")[0].lstrip("- "): line for line in text.splitlines()
             if line.startswith("- ")}
    # Meat: 0.800 against 0.850, the one set more than 0.03 behind
    assert "**missed** (1 of 2 sets more than 0.03 behind: Meat -0.050)" in lines[
        "clean within 0.03 of noise_type='none' on every set"]
    assert "**met**" in lines["white0.4 at least 0.03 above noise_type='none'"]
    assert "**met** (0.800 vs 0.600)" in lines[
        "s&p0.1 at least 0.05 above the better of MiniRocket and logistic regression"]
    assert "**missed** (0.855 vs 0.945)" in lines["clean within 0.04 of MiniRocket"]
    # Meat's seed 0 (0.60) is more than 0.03 below its mean (0.80)
    assert "1 of 2 sets: Meat 0.600 vs 0.800" in lines[
        "every seed trains (worst seed within 0.03 of the set's mean, clean)"]
