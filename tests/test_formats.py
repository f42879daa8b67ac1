import numpy as np
import pandas as pd
import pytest

from sknrnn import NoisyRNNClassifier, from_channels_first, from_wide, pad_sequences


def _channels_first_collection(n=12, n_channels=3, n_steps=20, seed=0):
    """An aeon-style (n, C, T) array whose values encode (sample, channel, step)."""
    i, c, t = np.meshgrid(np.arange(n), np.arange(n_channels), np.arange(n_steps), indexing="ij")
    return 10000.0 * i + 100.0 * c + t


def test_channels_first_3d_swaps_time_and_channels():
    X = _channels_first_collection()
    out = from_channels_first(X)
    assert out.shape == (12, 20, 3)
    # out[i, t, c] is the value of sample i, channel c, step t.
    assert out[4, 7, 2] == 10000 * 4 + 100 * 2 + 7
    np.testing.assert_array_equal(out.transpose(0, 2, 1), X)  # round trip
    assert out.flags.c_contiguous


def test_channels_first_keeps_nan_padding_and_float32():
    X = _channels_first_collection().astype(np.float32)
    X[3, :, 15:] = np.nan
    out = from_channels_first(X)
    assert out.dtype == np.float32
    assert np.isnan(out[3, 15:]).all() and not np.isnan(out[3, :15]).any()


def test_channels_first_unequal_lengths_list():
    rng = np.random.RandomState(0)
    lengths = [5, 9, 7]
    items = [rng.normal(size=(2, m)) for m in lengths]
    out = from_channels_first(items)
    assert out.shape == (3, 9, 2)
    for row, item, m in zip(out, items, lengths):
        np.testing.assert_array_equal(row[:m], item.T)
        assert np.isnan(row[m:]).all()
    # the same as padding the time-first sequences directly
    np.testing.assert_array_equal(out, pad_sequences([x.T for x in items]))


def test_channels_first_list_of_univariate_series():
    out = from_channels_first([np.arange(3.0), np.arange(5.0)])
    assert out.shape == (2, 5)
    assert np.isnan(out[0, 3:]).all()


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((4, 10)), "univariate and needs no conversion"),
        (np.zeros(10), "3D array"),
        ([np.zeros((2, 3)), np.zeros((3, 3))], "same number of channels"),
        ([np.zeros((2, 3)), np.zeros(3)], "ndim"),
        ([], "at least one"),
        (np.empty((2, 3, 4), dtype=object), "Python objects"),
    ],
)
def test_channels_first_errors(X, match):
    with pytest.raises(ValueError, match=match):
        from_channels_first(X)


def _wide(n=6, n_steps=5, n_channels=3, layout="interleaved"):
    X3 = _channels_first_collection(n, n_channels, n_steps).transpose(0, 2, 1)  # (n, T, C)
    if layout == "interleaved":
        return X3, X3.reshape(n, -1)
    return X3, X3.transpose(0, 2, 1).reshape(n, -1)


@pytest.mark.parametrize("layout", ["interleaved", "blocked"])
def test_from_wide_layouts_round_trip(layout):
    X3, wide = _wide(layout=layout)
    out = from_wide(wide, 3, layout=layout)
    np.testing.assert_array_equal(out, X3)
    assert out[2, 4, 1] == 10000 * 2 + 100 * 1 + 4


def test_from_wide_layouts_differ():
    _, wide = _wide()
    assert not np.array_equal(from_wide(wide, 3), from_wide(wide, 3, layout="blocked"))


def test_from_wide_dataframe_and_nan_padding():
    X3, wide = _wide()
    columns = [f"x_t{t}_c{c}" for t in range(5) for c in range(3)]
    df = pd.DataFrame(wide, columns=columns)
    df.iloc[1, 9:] = np.nan  # sample 1 ends after 3 steps
    out = from_wide(df, 3)
    assert out.shape == (6, 5, 3)
    assert np.isnan(out[1, 3:]).all() and not np.isnan(out[1, :3]).any()
    np.testing.assert_array_equal(out[0], X3[0])


def test_from_wide_integers_become_float():
    out = from_wide(np.arange(12).reshape(2, 6), 2)
    assert out.dtype == np.float64 and out.shape == (2, 3, 2)


@pytest.mark.parametrize(
    "X, n_channels, kwargs, match",
    [
        (np.zeros((4, 10)), 3, {}, "not a multiple of n_channels=3"),
        (np.zeros((4, 10)), 0, {}, r"'n_channels' parameter .* int in the range \[1, inf\)"),
        (np.zeros((4, 10)), 2.0, {}, r"'n_channels' parameter .* int in the range \[1, inf\)"),
        (np.zeros((4, 10)), 2, {"layout": "columns"}, "'layout' parameter .* among"),
        (np.zeros((4, 5, 2)), 2, {}, "2D table"),
    ],
)
def test_from_wide_errors(X, n_channels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        from_wide(X, n_channels, **kwargs)


def test_classifier_on_converted_unequal_length_data():
    rng = np.random.RandomState(0)
    y = np.tile([0, 1], 15)
    items = []
    for label in y:
        m = rng.randint(8, 15)
        t = np.linspace(0, 1, m)
        freq = 1.0 if label == 0 else 3.0
        items.append(np.stack([np.sin(2 * np.pi * freq * t), rng.normal(size=m) * 0.1]))
    X = from_channels_first(items)
    assert X.shape == (30, 14, 2)
    clf = NoisyRNNClassifier(hidden_size=8, max_iter=5, random_state=0).fit(X, y)
    assert clf.n_channels_in_ == 2
    assert clf.predict(X).shape == (30,)
    assert set(clf.predict(X)) <= {0, 1}

    wide = X.reshape(30, -1)  # interleaved, NaN padding included
    np.testing.assert_array_equal(clf.predict(from_wide(wide, 2)), clf.predict(X))


def test_from_wide_reads_nullable_frames():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}).astype("Float64")
    np.testing.assert_array_equal(from_wide(frame, 2), [[[1.0, 3.0]], [[2.0, 4.0]]])
    frame.iloc[1, 1] = pd.NA
    assert np.isnan(from_wide(frame, 1)[1, 1, 0])
