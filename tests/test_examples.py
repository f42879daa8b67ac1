import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run_example(name, *args, cwd=None):
    """Run ``examples/<name>`` with ``--fast`` in a fresh interpreter; return its stdout."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / name), "--fast", *args],
        capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_plot_robustness_example(tmp_path):
    pytest.importorskip("matplotlib")
    output = tmp_path / "robustness.png"
    stdout = _run_example("plot_robustness.py", "--output", str(output), cwd=tmp_path)
    assert output.exists() and output.stat().st_size > 1000
    assert "| NRNN (defaults) |" in stdout
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diagnostics_example():
    stdout = _run_example("diagnostics.py")
    assert "| Lipschitz RNN (no noise) |" in stdout
    assert "| NRNN (multiplicative 0.2) |" in stdout
    assert "mean Lyapunov exponent" in stdout


def test_noise_search_example():
    stdout = _run_example("noise_search.py")
    assert "selected by accuracy under white noise 0.5" in stdout
    assert "identical predictions: True" in stdout


def test_scaling_out_example():
    pytest.importorskip("distributed")
    stdout = _run_example("scaling_out.py")
    assert "2 workers, torch threads per worker: [1, 1]" in stdout
    assert "best params on Dask: {'noise_level': 0.1, 'noise_type': " in stdout
    assert "cv_results_ on Dask equal to the local run: True" in stdout


def test_saving_models_example():
    pytest.importorskip("skops")
    stdout = _run_example("saving_models.py")
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
