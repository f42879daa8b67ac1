"""benchmarks/stacked_readers.py: the stacked loop computes what the two loops compute."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import stacked_readers  # noqa: E402


def test_one_stacked_recursion_gives_the_gradients_of_two():
    assert stacked_readers.largest_difference(batch=3, n=5, n_steps=4) < 1e-6
    grad_Ka, grad_W = stacked_readers.loops(3, 5, 4, stacked=True)()
    assert grad_Ka.shape == (2, 5, 5) and bool((grad_W.abs().sum((1, 2)) > 0).all())  # both readers


def test_the_script_prints_one_row_per_batch(capsys):
    stacked_readers.main(["--repeats", "1", "--hidden", "4", "--steps", "3", "--batches", "2", "5"])
    rows = capsys.readouterr().out.strip().splitlines()[2:]
    assert [int(row.split()[0]) for row in rows] == [2, 5]
    assert all(float(row.split()[-1]) < 1e-6 for row in rows)
