"""The examples run (``--fast``) and print what they say; the gallery of the docs runs them too."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run_example(name, *args, cwd=None):
    """Run ``examples/<name>`` with ``--fast`` in a fresh interpreter; return its stdout."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               MPLBACKEND="Agg")
    env.pop("SKNRNN_EXAMPLES_FAST", None)  # --fast alone says it
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / name), "--fast", *args],
        capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _number(pattern, text):
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return float(match.group(1))


def _table_rows(stdout):
    """``{model: [floats]}`` of the Markdown table rows an example prints."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) > 1 and re.fullmatch(r"[-+0-9.]+", cells[1]):
            rows[cells[0]] = [float(c) for c in cells[1:]]
    return rows


def test_plot_robustness_example(tmp_path):
    pytest.importorskip("matplotlib")
    output = tmp_path / "robustness.png"
    stdout = _run_example("plot_robustness.py", "--output", str(output), cwd=tmp_path)
    assert output.exists() and output.stat().st_size > 1000
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = _table_rows(stdout)
    assert set(rows) == {"NRNN (defaults)", "Lipschitz RNN (no noise)"}
    for scores in rows.values():  # clean, white 0.5, white 1, mult 0.5, s&p 0.1, pgd 0.05, pgd 0.1
        assert len(scores) == 7 and all(0.0 <= s <= 1.0 for s in scores)
        assert scores[0] > 0.5  # ten classes: well above chance after 30 epochs
        assert scores[1] > scores[2] and scores[5] > scores[6]  # more noise, a stronger attack: lower


def test_plot_robustness_saves_nothing_without_output(tmp_path):
    pytest.importorskip("matplotlib")
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg", SKNRNN_EXAMPLES_FAST="1")
    # the gallery's way: no argument at all, the small setting from the environment
    result = subprocess.run([sys.executable, str(REPO / "examples" / "plot_robustness.py")],
                            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| NRNN (defaults) |" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_diagnostics_example():
    stdout = _run_example("plot_diagnostics.py")
    rows = _table_rows(stdout)
    assert set(rows) == {"Lipschitz RNN (no noise)", "NRNN (multiplicative 0.2)"}
    for accuracy, margin, linear_part, recurrent_norm, lyapunov in rows.values():
        assert accuracy > 0.5
        assert margin == pytest.approx(linear_part + recurrent_norm, abs=2e-4)
        assert recurrent_norm > 0 and abs(lyapunov) < 1.0
    # the noisy model's mean exponent is the lower one (the theory's prediction, seen here)
    assert rows["NRNN (multiplicative 0.2)"][4] < rows["Lipschitz RNN (no noise)"][4]


def test_noise_search_example():
    stdout = _run_example("plot_noise_search.py")
    table = [line.split() for line in stdout.splitlines()
             if line.split()[:1] and line.split()[0] in {"none", "additive", "multiplicative"}]
    assert [row[:2] for row in table] == [[t, lvl] for lvl in ("0.1", "0.3")
                                          for t in ("none", "additive", "multiplicative")]
    scores = {(row[0], row[1]): (float(row[2]), float(row[3])) for row in table}
    # the noise level is ignored without noise: the two "none" candidates are one model
    assert scores[("none", "0.1")] == scores[("none", "0.3")]
    assert all(0.0 <= s <= 1.0 for pair in scores.values() for s in pair)
    # each score selects its best candidate of the table
    for column, label in enumerate(["accuracy", "accuracy under white noise 0.5"]):
        best = max(scores.values(), key=lambda pair: pair[column])[column]
        line = re.search(rf"selected by {label}: (.*)", stdout).group(1)
        noise_type = re.search(r"'noisyrnnclassifier__noise_type': '(\w+)'", line).group(1)
        level = re.search(r"'noisyrnnclassifier__noise_level': ([0-9.]+)", line).group(1)
        assert scores[(noise_type, level)][column] == best
    assert _number(r"refitted for robustness: test accuracy ([0-9.]+)", stdout) > 0.5
    assert "identical predictions: True" in stdout


def test_scaling_out_example():
    pytest.importorskip("distributed")
    stdout = _run_example("scaling_out.py")
    assert "2 workers, torch threads per worker: [1, 1]" in stdout
    assert "best params on Dask: {'noise_level': 0.1, 'noise_type': " in stdout
    assert "cv_results_ on Dask equal to the local run: True" in stdout


def test_saving_models_example():
    pytest.importorskip("skops")
    stdout = _run_example("plot_saving_models.py")
    assert _number(r"fitted: test accuracy ([0-9.]+)", stdout) > 0.5
    assert "joblib: identical predictions: True" in stdout
    assert "skops: types to trust: ['sknrnn._classes.NoisyRNNClassifier']" in stdout
    assert "skops: identical predictions: True" in stdout


def test_onnx_export_example():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    stdout = _run_example("onnx_export.py")
    assert "onnxruntime: torch imported: False" in stdout
    assert "same predicted classes: True" in stdout
    difference = float(stdout.split("largest difference from predict_proba: ")[1].split()[0])
    assert difference < 1e-5


def test_irregular_times_example():
    stdout = _run_example("plot_irregular_times.py")
    assert re.search(r"X: \(400, 50\), 0 to 30 padded steps a row", stdout)
    assert 0.0 < _number(r"time step \(median spacing of the times of fit\): ([0-9.]+)", stdout) < 0.2
    with_times = _number(r"test accuracy with times: ([0-9.]+)", stdout)
    without = _number(r"test accuracy without times: ([0-9.]+)", stdout)
    # counted in observations the frequencies overlap; the times tell them apart
    assert with_times > 0.75 and with_times > without + 0.1


def test_regression_example():
    stdout = _run_example("plot_regression.py")
    frequency = _number(r"test R\^2 of the frequency: ([-0-9.]+)", stdout)
    damping = _number(r"test R\^2 of the damping: ([-0-9.]+)", stdout)
    both = _number(r"test R\^2 \(score, both targets\): ([-0-9.]+)", stdout)
    assert frequency > 0.9 and damping > 0.8
    assert both == pytest.approx((frequency + damping) / 2, abs=2e-3)  # uniform average of the two


def test_every_example_is_tested_and_every_plot_example_has_a_title():
    tested = set(re.findall(r'_run_example\("(\w+\.py)"', Path(__file__).read_text()))
    examples = {p.name for p in (REPO / "examples").glob("*.py")}
    assert examples == tested
    for name in examples:  # sphinx-gallery needs a title (a heading) in the docstring
        text = (REPO / "examples" / name).read_text()
        assert re.match(r'"""\n(.+)\n(=+)\n', text), name
