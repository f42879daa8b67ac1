import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_plot_robustness_example(tmp_path):
    pytest.importorskip("matplotlib")
    output = tmp_path / "robustness.png"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "plot_robustness.py"), "--fast", "--output", str(output)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert output.exists() and output.stat().st_size > 1000
    assert "| NRNN (mixed noise) |" in result.stdout
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diagnostics_example():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "diagnostics.py"), "--fast"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "| Lipschitz RNN (no noise) |" in result.stdout
    assert "| NRNN (multiplicative 0.2) |" in result.stdout
    assert "mean Lyapunov exponent" in result.stdout


def test_noise_search_example():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "noise_search.py"), "--fast"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "selected by accuracy under white noise 0.5" in result.stdout
    assert "identical predictions: True" in result.stdout


def test_scaling_out_example():
    pytest.importorskip("distributed")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "scaling_out.py"), "--fast"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "2 workers, torch threads per worker: [1, 1]" in result.stdout
    assert "best params on Dask: {'noise_level': 0.1, 'noise_type': " in result.stdout
    assert "cv_results_ on Dask equal to the local run: True" in result.stdout


def test_saving_models_example():
    pytest.importorskip("skops")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "saving_models.py"), "--fast"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "joblib: identical predictions: True" in result.stdout
    assert "skops: types to trust: ['sknrnn._classes.NoisyRNNClassifier']" in result.stdout
    assert "skops: identical predictions: True" in result.stdout
