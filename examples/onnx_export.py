"""
Inference without torch (ONNX)
==============================

A fitted NRNN exported to ONNX predicts with onnxruntime alone, without torch.
(The documentation shows this example without running it: it needs the onnx extra.)

``sknrnn.to_onnx`` writes the model's deterministic prediction (standardization,
windows, both readers, readout, decoder, softmax) as one ONNX graph; the saved
``.onnx`` file then runs wherever onnxruntime does. Here a separate Python process
loads it with onnxruntime and NumPy only, predicts, and checks that it never
imported torch; the probabilities are compared with ``predict_proba``.

Needs the onnx extra: ``pip install "sknrnn[onnx]"``. Run::

    python examples/onnx_export.py
    python examples/onnx_export.py --fast   # a smoke run in seconds
"""

import argparse
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import sknrnn
from sknrnn import NoisyRNNClassifier

# What the deployment side runs: onnxruntime and NumPy, nothing else.
SERVE = textwrap.dedent("""
    import sys
    import numpy as np
    import onnxruntime as ort

    model, data, out = sys.argv[1:4]
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    label, proba = session.run(None, {"X": np.load(data)})
    np.save(out, proba)
    print("onnxruntime: inputs", [(i.name, i.shape, i.type) for i in session.get_inputs()])
    print("onnxruntime: torch imported:", "torch" in sys.modules)
""")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Export a fitted NRNN to ONNX, predict without torch")
    parser.add_argument("--fast", action="store_true", help="few epochs on a subset (smoke run)")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)  # each row a 64-step sequence
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    if args.fast:
        X_train, y_train, X_test, y_test = X_train[:200], y_train[:200], X_test[:100], y_test[:100]
    model = NoisyRNNClassifier(hidden_size=16 if args.fast else 32,
                               max_iter=3 if args.fast else 30, random_state=0)
    model.fit(X_train, y_train)
    print(f"fitted: test accuracy {model.score(X_test, y_test):.3f}")

    onx = sknrnn.to_onnx(model)  # input X: float32 (n_samples, n_timesteps), NaN-padded
    with tempfile.TemporaryDirectory() as tmp:
        path, data, out = Path(tmp, "model.onnx"), Path(tmp, "X.npy"), Path(tmp, "proba.npy")
        path.write_bytes(onx.SerializeToString())
        print(f"saved {path.name}: {path.stat().st_size / 1024:.0f} KiB")
        np.save(data, X_test.astype(np.float32))
        result = subprocess.run(
            [sys.executable, "-c", SERVE, str(path), str(data), str(out)],
            capture_output=True, text=True, check=True,
        )
        print(result.stdout, end="")
        proba = np.load(out)
    expected = model.predict_proba(X_test)
    print(f"largest difference from predict_proba: {np.abs(proba - expected).max():.1e}")
    same = bool((proba.argmax(axis=1) == expected.argmax(axis=1)).all())
    print(f"same predicted classes: {same}")


if __name__ == "__main__":
    main()
