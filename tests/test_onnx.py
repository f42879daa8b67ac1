"""The ONNX export (sknrnn.to_onnx, skl2onnx's converter): onnxruntime predicts as sknrnn does."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import sknrnn  # noqa: E402
from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor, to_onnx  # noqa: E402

ATOL = 1e-5
TINY = dict(hidden_size=6, max_iter=2, random_state=0)


def _sequences(n=30, steps=16, channels=None, seed=0):
    """Sequences of unequal lengths (NaN end padding), not of unit scale."""
    rng = np.random.RandomState(seed)
    shape = (n, steps) if channels is None else (n, steps, channels)
    X = 3.0 * rng.randn(*shape) + 1.5
    lengths = rng.randint(steps // 3, steps + 1, size=n)
    lengths[0] = steps
    X[np.arange(steps)[None, :] >= lengths[:, None]] = np.nan
    return X


def _labels(X):
    return (np.nanmean(X.reshape(len(X), -1), axis=1) > 1.5).astype(int)


def _session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _run(model, X, dtype=np.float32):
    return _session(model).run(None, {"X": np.asarray(X, dtype=dtype)})


def _longer_and_shorter(X3):
    """3D sequences longer (some rows running past the fitted length) and shorter than X3."""
    rng = np.random.RandomState(1)
    n, steps, channels = X3.shape
    longer = np.concatenate([X3, np.full((n, 7, channels), np.nan)], axis=1)
    longer[:4, steps:] = rng.randn(4, 7, channels)
    longer[:4, :steps][np.isnan(longer[:4, :steps])] = 0.5  # those rows observed throughout
    shorter = X3[:, : steps // 2].copy()
    shorter[np.isnan(shorter).all(axis=2)] = 0.25  # no row all NaN
    return longer, shorter


def _check_classifier(clf, X, **kw):
    label, proba = _run(to_onnx(clf, **kw), X)
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(label, clf.predict(X))


@pytest.mark.parametrize("readout", ["last", "mean", "max", "positions"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("window", [1, 3])
def test_classifier_matches_predict_proba(readout, bidirectional, window):
    X = _sequences()
    clf = NoisyRNNClassifier(
        readout=readout, bidirectional=bidirectional, window=window, **TINY
    ).fit(X, _labels(X))
    _check_classifier(clf, X)
    # Other lengths than in fit (3D, as predict takes them), through the same graph.
    model = to_onnx(clf, ndim=3)
    for other in _longer_and_shorter(X[:, :, None]):
        label, proba = _run(model, other)
        np.testing.assert_allclose(proba, clf.predict_proba(other), rtol=0, atol=ATOL)
        np.testing.assert_array_equal(label, clf.predict(other))


@pytest.mark.parametrize("readout", ["mean", "positions"])
def test_multichannel_input_and_other_lengths(readout):
    X = _sequences(channels=3, steps=14)
    clf = NoisyRNNClassifier(readout=readout, window=2, **TINY).fit(X, _labels(X))
    _check_classifier(clf, X)
    for other in _longer_and_shorter(X):
        _check_classifier(clf, other)
    with pytest.raises(ValueError, match="ndim must be 2"):
        to_onnx(clf, ndim=2)


@pytest.mark.parametrize("channels", [None, 2])
def test_mean_series_standardization_at_any_length(channels):
    """standardize="step": fit's mean series, cut or extended by its last step."""
    X = _sequences(channels=channels, steps=14)
    clf = NoisyRNNClassifier(standardize="step", window=2, **TINY).fit(X, _labels(X))
    assert clf.standardize_ == "step"
    _check_classifier(clf, X)
    X3 = X if channels else X[:, :, None]
    model = to_onnx(clf, ndim=3)
    for other in _longer_and_shorter(X3):
        label, proba = _run(model, other)
        np.testing.assert_allclose(proba, clf.predict_proba(other), rtol=0, atol=ATOL)
        np.testing.assert_array_equal(label, clf.predict(other))


def test_midpoint_solver_string_classes_and_float64_input():
    X = _sequences()
    y = np.array(["low", "mid", "high"])[_labels(X) + (np.nan_to_num(X[:, 0]) > 3)]
    clf = NoisyRNNClassifier(solver="midpoint", input_clip=None, window=2, **TINY).fit(X, y)
    _check_classifier(clf, X)
    label, proba = _run(to_onnx(clf, dtype=np.float64), X, np.float64)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(label, clf.predict(X))


@pytest.mark.parametrize("y_ndim", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_regressor_matches_predict(y_ndim, bidirectional):
    X = _sequences(channels=2)
    target = np.nanmean(X, axis=1)  # (n, 2), of unit scale
    y = target[:, 0] if y_ndim == 1 else target
    reg = NoisyRNNRegressor(bidirectional=bidirectional, readout="max", **TINY).fit(X, y)
    (pred,) = _run(to_onnx(reg), X)
    expected = reg.predict(X)
    assert pred.shape == expected.shape
    np.testing.assert_allclose(pred, expected, rtol=0, atol=ATOL)
    longer, _ = _longer_and_shorter(X)
    (pred,) = _run(to_onnx(reg), longer)
    np.testing.assert_allclose(pred, reg.predict(longer), rtol=0, atol=ATOL)


def test_saved_model_predicts_in_a_process_without_torch(tmp_path):
    X = _sequences()
    clf = NoisyRNNClassifier(window=2, **TINY).fit(X, _labels(X))
    path = tmp_path / "model.onnx"
    path.write_bytes(to_onnx(clf).SerializeToString())
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        import onnxruntime as ort
        session = ort.InferenceSession({str(path)!r}, providers=["CPUExecutionProvider"])
        label, proba = session.run(None, {{"X": np.load({str(tmp_path / "X.npy")!r})}})
        np.save({str(tmp_path / "proba.npy")!r}, proba)
        np.save({str(tmp_path / "label.npy")!r}, label)
        print("torch imported:", "torch" in sys.modules)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "torch imported: False" in result.stdout
    np.testing.assert_allclose(
        np.load(tmp_path / "proba.npy"), clf.predict_proba(X), rtol=0, atol=ATOL
    )
    np.testing.assert_array_equal(np.load(tmp_path / "label.npy"), clf.predict(X))


def test_skl2onnx_converts_a_pipeline():
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    sknrnn.register_onnx_converter()
    sknrnn.register_onnx_converter()  # twice: no harm
    X = _sequences()
    pipe = make_pipeline(StandardScaler(), NoisyRNNClassifier(window=2, **TINY))
    pipe.fit(X, _labels(X))
    model = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32), options={"zipmap": False})
    session = _session(model)
    label, proba = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(label, pipe.predict(X))
    # skl2onnx's option nocl: class indices instead of labels.
    model = skl2onnx.to_onnx(
        pipe, X[:1].astype(np.float32), options={"zipmap": False, "nocl": True}
    )
    session = _session(model)
    label, _ = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
    np.testing.assert_array_equal(label, np.searchsorted(pipe.classes_, pipe.predict(X)))
    # skl2onnx's default ZipMap: one dict of probabilities per row.
    model = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32))
    session = _session(model)
    label, dicts = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
    np.testing.assert_array_equal(label, pipe.predict(X))
    np.testing.assert_allclose(
        [[row[c] for c in pipe.classes_] for row in dicts], pipe.predict_proba(X), atol=ATOL
    )
    # A regressor alone (3D input, 2D targets).
    X3 = _sequences(channels=2)
    reg = NoisyRNNRegressor(**TINY).fit(X3, np.nanmean(X3, axis=1))
    model = skl2onnx.to_onnx(reg, X3[:1].astype(np.float32))
    session = _session(model)
    (pred,) = session.run(None, {session.get_inputs()[0].name: X3.astype(np.float32)})
    np.testing.assert_allclose(pred, reg.predict(X3), rtol=0, atol=ATOL)


@pytest.mark.parametrize(
    "params",
    [dict(window=1, bidirectional=False, readout="last"), dict(window=3, readout="positions"),
     dict(window=2, solver="midpoint", readout="max")],
)
def test_model_fitted_with_times_takes_a_times_input(params):
    X = _sequences()
    rng = np.random.RandomState(2)
    times = 1e3 + np.cumsum(rng.uniform(0.2, 3.0, size=X.shape), axis=1)
    times[np.isnan(X)] = np.nan
    clf = NoisyRNNClassifier(**params, **TINY).fit(X, _labels(X), times=times)
    session = _session(to_onnx(clf, dtype=np.float64))
    assert [i.name for i in session.get_inputs()] == ["X", "times"]
    label, proba = session.run(None, {"X": X, "times": times})
    np.testing.assert_allclose(proba, clf.predict_proba(X, times=times), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(label, clf.predict(X, times=times))
    skl2onnx = pytest.importorskip("skl2onnx")
    sknrnn.register_onnx_converter()
    with pytest.raises(ValueError, match="fitted with observation times.*sknrnn.to_onnx"):
        skl2onnx.to_onnx(clf, X[:1])


def test_refusals():
    X = _sequences(n=20, steps=8)
    y = _labels(X)
    class Other(sknrnn.NoisyRNN):
        pass

    custom = NoisyRNNClassifier(module=Other, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="only sknrnn.NoisyRNN itself"):
        to_onnx(custom)
    clf = NoisyRNNClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="opset 18 or later"):
        to_onnx(clf, target_opset=17)
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        to_onnx(clf, dtype=np.int64)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        to_onnx(NoisyRNNClassifier())


def test_missing_onnx_says_what_to_install(monkeypatch):
    X = _sequences(n=20, steps=8)
    clf = NoisyRNNClassifier(**TINY).fit(X, _labels(X))
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "sknrnn\[onnx\]"'):
        to_onnx(clf)
