"""ONNX export of a fitted estimator's deterministic prediction: inference without torch.

:func:`to_onnx` writes the whole of ``predict`` / ``predict_proba`` as one ONNX
graph, built with ``onnx.helper`` (no onnxscript): the lengths from the NaN end
padding, the input standardization (in float64, as the estimators do) and the
input clip, the windows, the forward reader and (``bidirectional``) the reverse
reader as ``Scan`` loops over the steps, the readout, the decoder, and the
softmax and class labels (classifier) or the unstandardization of the targets
(regressor). The weights are read from the fitted module at export time (the
Lipschitz matrices ``A`` and ``W``, the per-unit steps ``dt = softplus(raw_dt)``,
the stepping matrix of ``sknrnn._fused``) and stored as initializers, in
float32 as the module holds them.

The ``Scan`` runs over any number of steps: the graph is not unrolled for one
length. Each row's length is the index after its last step that is not all NaN
(as ``_validation._padding_lengths`` computes it); the state of a row stays
where it is past its length, and the reverse reader reads each row's valid
windows from its last one (``GatherElements`` with per-row indices), as
``NoisyRNN.forward`` does. NaN inside a row, an error for the estimators, is
read as 0 here.

:func:`register_onnx_converter` registers the same graph with skl2onnx, so that
``skl2onnx.to_onnx`` converts a Pipeline whose last step is a sknrnn estimator.

A model fitted with ``times=`` (irregular sampling) is exported with a second
input, ``times`` ``(n_samples, n_timesteps)``: the step scales are computed in the
graph as ``_validation.check_times`` computes them (the gaps over ``time_step_``, in
float64), averaged per window and reversed for the reverse reader as
``window_sequences`` and ``reverse_sequences`` do. The times are not checked there
(strictly increasing, finite at observed steps): ``predict`` checks them.

What is refused, with a ValueError: a ``module=`` other than :class:`NoisyRNN`
(its own equations are unknown here), an opset below 18, and (skl2onnx, whose
pipelines have one input) a model fitted with ``times=``.
"""

import numpy as np

from ._sde import _POSITIONS, NoisyRNN

__all__ = ["to_onnx", "register_onnx_converter"]

# The lowest opset the graph is written for (ReduceMax takes its axes as an input from 18).
MIN_OPSET = 18
# The opset of a standalone export when target_opset is None.
DEFAULT_OPSET = 18

_INSTALL = 'pip install "sknrnn[onnx]"'


def _import_onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The ONNX export of sknrnn needs the onnx package (and onnxruntime to run the "
            f"model, skl2onnx to convert pipelines): {_INSTALL}."
        ) from exc
    return onnx


def _check_exportable(est, *, times=True):
    """The estimator's fitted module, or a ValueError saying why it cannot be exported.

    ``times``: whether a model fitted with observation times can be (with a times input).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    name = type(est).__name__
    if not times and getattr(est, "time_step_", None) is not None:
        raise ValueError(
            f"This {name} was fitted with observation times (times=, irregular sampling), "
            "which a skl2onnx conversion cannot take (one input, X): export it alone with "
            "sknrnn.to_onnx (inputs X and times), or refit without times=."
        )
    module = est.net_.module_
    if type(module) is not NoisyRNN or (
        module.reverse is not None and type(module.reverse) is not NoisyRNN
    ):
        raise ValueError(
            f"This {name} runs the module {type(module).__name__} (module=), whose equations "
            "the ONNX export does not know: only sknrnn.NoisyRNN itself is exported."
        )
    return module


def _check_opset(target_opset):
    opset = DEFAULT_OPSET if target_opset is None else target_opset
    if isinstance(opset, dict):  # skl2onnx's form: {domain: version}
        opset = opset.get("", DEFAULT_OPSET)
    opset = int(opset)
    if opset < MIN_OPSET:
        raise ValueError(
            f"target_opset={opset}, but the graph of sknrnn needs opset {MIN_OPSET} or later."
        )
    return opset


def _reader_weights(reader, scaled):
    """The constants of one reader's recursion, float32 arrays, as the module computes them.

    The Euler step of prediction is the fused one of ``_fused._euler_forward``:
    ``h' = h Ka + dt * tanh(h Wt + u)`` with ``[Ka, Wt] = _stepping_matrix(K, dt)``,
    or with step scales ``r`` (``scaled``, observation times)
    ``h' = h + r (h M + dt * tanh(h Wt + u))`` with ``[M, Wt] =
    _stepping_matrix(K, dt, identity=False)``; the reference loop (the midpoint
    solver, or ``fused=False``) steps with ``f(h) = h K1 + tanh(h K2 + u)`` (``K =
    [K1, K2]``).
    """
    import torch

    from ._fused import _stepping_matrix

    with torch.no_grad():
        K = reader.stacked_weight()
        dt = reader.step_size()
        Kp = _stepping_matrix(K, dt, identity=not scaled)  # [Ka, Wt], or [M, Wt]
        n = reader.hidden_size
        as_np = lambda t: t.detach().to("cpu", torch.float32).numpy().copy()  # noqa: E731
        weights = {"U": as_np(reader.encoder.weight.T), "b": as_np(reader.encoder.bias)}
        if reader.runs_fused:  # the fused recursion runs at prediction
            weights.update(Ka=as_np(Kp[:, :n]), Wt=as_np(Kp[:, n:]), dt=as_np(dt))
            return weights, "fused"
        weights.update(K1=as_np(K[:, :n]), K2=as_np(K[:, n:]), dt=as_np(dt))
        if reader.solver == "midpoint":  # 0.5 * dt, or 0.5 (times: 0.5 * r dt per row)
            if scaled:
                weights["half"] = np.float32(0.5)
            else:
                weights["half_dt"] = as_np(0.5 * dt)
            return weights, "midpoint"
        return weights, "euler"


class _Builder:
    """Nodes and initializers of a graph, every name made unique by ``unique``."""

    def __init__(self, onnx, unique):
        self.onnx = onnx
        self.helper = onnx.helper
        self.unique = unique
        self.nodes = []
        self.initializers = []

    def const(self, name, value, dtype=None):
        value = np.asarray(value, dtype=dtype)
        full = self.unique(name)
        if value.dtype.kind in "US" or value.dtype == object:
            value = value.astype(object)
        self.initializers.append(self.onnx.numpy_helper.from_array(value, full))
        return full

    def op(self, op_type, *inputs, name=None, n_out=1, nodes=None, output=None, **attrs):
        """One node; its output's name is ``output`` as it is, or ``name`` made unique."""
        outputs = (
            [output] if output is not None
            else [self.unique(name or op_type.lower()) for _ in range(n_out)]
        )
        node = self.helper.make_node(
            op_type, list(inputs), outputs, name=self.unique("node_" + op_type), **attrs
        )
        (self.nodes if nodes is None else nodes).append(node)
        return outputs[0] if n_out == 1 else outputs


def _scan_body(g, w, with_states, elem, scaled):
    """The graph of one step of one reader: ``(h, u_k, m_k[, r_k]) -> (h', [s_k])``.

    ``m_k`` ``(B, 1)``: whether each row observes step ``k``; ``r_k`` ``(B, 1)``:
    the scale of each row's step (observation times).
    """
    helper = g.helper
    nodes = []
    h, u, m = g.unique("h"), g.unique("u_k"), g.unique("m_k")
    r = g.unique("r_k") if scaled else None

    def op(op_type, *inputs, **attrs):
        return g.op(op_type, *inputs, nodes=nodes, **attrs)

    def drift(state):  # f(h) = h K1 + tanh(h K2 + u), as NoisyRNN.drift
        return op("Add", op("MatMul", state, w["K1"]),
                  op("Tanh", op("Add", op("MatMul", state, w["K2"]), u)))

    if w["solver"] == "fused":  # _fused._euler_step
        t = op("Tanh", op("Add", op("MatMul", h, w["Wt"]), u))
        step = op("Add", op("MatMul", h, w["Ka"]), op("Mul", t, w["dt"]))
        h_next = op("Add", h, op("Mul", step, r)) if scaled else step
    else:  # NoisyRNN.clean_step: Euler h + dt f(h), or the midpoint rule
        dt = op("Mul", r, w["dt"]) if scaled else w["dt"]  # per row: step_scale * dt
        f = drift(h)
        if w["solver"] == "midpoint":
            half = op("Mul", w["half"], dt) if scaled else w["half_dt"]
            f = drift(op("Add", h, op("Mul", half, f)))
        h_next = op("Add", h, op("Mul", dt, f))
    h_out = g.op("Where", m, h_next, h, nodes=nodes, name="h_out")
    # Shapes declared (onnxruntime requires them of a Scan's outputs): (B, N), mask (B, 1).
    rows, n = g.unique("B"), w["hidden"]
    outputs = [helper.make_tensor_value_info(h_out, elem, [rows, n])]
    if with_states:  # the states past a row's end are 0, as the module keeps them
        s_out = g.op("Where", m, h_next, w["zero"], nodes=nodes, name="s_out")
        outputs.append(helper.make_tensor_value_info(s_out, elem, [rows, n]))
    inputs = [
        helper.make_tensor_value_info(h, elem, [rows, n]),
        helper.make_tensor_value_info(u, elem, [rows, n]),
        helper.make_tensor_value_info(m, g.onnx.TensorProto.BOOL, [rows, 1]),
    ]
    if scaled:
        inputs.append(helper.make_tensor_value_info(r, elem, [rows, 1]))
    return helper.make_graph(nodes, g.unique("step"), inputs, outputs)


def _read(g, w, x, mask, batch_h, readout, positions_len, scale=None):
    """One reader over windowed ``x`` ``(B, S, wC)``: what the decoder reads of it.

    ``mask`` ``(S, B, 1)``: the observed windows; ``scale`` ``(B, S)`` or None: the
    step scale of each window (observation times).
    """
    elem = g.onnx.TensorProto.FLOAT
    u = g.op("Add", g.op("MatMul", x, w["U"]), w["b"], name="u")
    u = g.op("Transpose", u, perm=[1, 0, 2], name="u_time_major")  # (S, B, N)
    h0 = g.op("Expand", w["zero"], batch_h, name="h0")
    with_states = readout != "last"
    scans = [u, mask]
    if scale is not None:  # (B, S) -> (S, B, 1)
        scans.append(g.op("Unsqueeze", g.op("Transpose", scale, perm=[1, 0]),
                          g.const("axis2", [2], np.int64), name="r_time_major"))
    body = _scan_body(g, w, with_states, elem, scale is not None)
    out = g.op("Scan", h0, *scans, body=body, num_scan_inputs=len(scans),
               n_out=1 + with_states, name="scan")
    if not with_states:
        return out
    final, states = out  # (B, N), (S, B, N)
    if readout == "mean":  # states.sum(1) / lengths (clamped to 1 .. S)
        total = g.op("ReduceSum", states, g.const("axis0", [0], np.int64), keepdims=0)
        count = g.op("Cast", positions_len, to=elem)
        pooled = g.op("Div", total, g.op("Unsqueeze", count, g.const("axis1", [1], np.int64)))
    elif readout == "max":  # the elementwise maximum over the valid steps
        masked = g.op("Where", w["max_mask"], states, g.const("ninf", -np.inf, np.float32))
        pooled = g.op("ReduceMax", masked, g.const("axis0", [0], np.int64), keepdims=0)
    else:  # "positions": the states at ceil(q L) - 1, q in _POSITIONS
        L = g.op("Cast", positions_len, to=g.onnx.TensorProto.DOUBLE)
        q = g.const("quantiles", np.asarray(_POSITIONS, np.float64)[None, :])
        idx = g.op("Cast", g.op("Ceil", g.op("Mul", g.op("Unsqueeze", L, g.const(
            "axis1", [1], np.int64)), q)), to=g.onnx.TensorProto.INT64)  # (B, P)
        one = g.const("one", 1, np.int64)
        idx = g.op("Sub", g.op("Max", idx, one), one)
        idx = g.op("Transpose", idx, perm=[1, 0])  # (P, B)
        idx = g.op("Unsqueeze", idx, g.const("axis2", [2], np.int64))  # (P, B, 1)
        shape = g.op("Concat", g.const("n_pos", [len(_POSITIONS)], np.int64),
                     g.op("Shape", final), axis=0)
        picked = g.op("GatherElements", states, g.op("Expand", idx, shape), axis=0)  # (P, B, N)
        picked = g.op("Transpose", picked, perm=[1, 0, 2])
        pooled = g.op("Reshape", picked, g.const("flat", [0, -1], np.int64))
    return g.op("Concat", final, pooled, axis=1, name="features")


def _build(est, g, x, dtype, outputs, classes=None, times=None):
    """Nodes from input ``x`` (and ``times``) to the estimator's outputs, named ``outputs``.

    Classifier: ``(label, probabilities)``, the labels ``classes`` (``classes_``
    when None); regressor: ``(variable,)``. ``times``: the name of the input of
    observation times, for a model fitted with them.
    """
    onnx = g.onnx
    T = onnx.TensorProto
    module = _check_exportable(est, times=times is not None)
    n_channels = int(est.n_channels_in_)
    window = int(module.window)
    hidden = int(module.hidden_size)
    i64 = lambda name, v: g.const(name, v, np.int64)  # noqa: E731
    axis0, axis1, axis2 = i64("axis0", [0]), i64("axis1", [1]), i64("axis2", [2])

    # X as (B, T, C), in float64.
    shape_in = g.op("Shape", x, name="x_shape")
    batch_steps = g.op("Slice", shape_in, i64("start", [0]), i64("stop", [2]), name="b_t")
    x = g.op("Reshape", x, g.op("Concat", batch_steps, i64("channels", [n_channels]), axis=0),
             name="x3")
    x = g.op("Cast", x, to=T.DOUBLE, name="x64")
    batch = g.op("Slice", shape_in, i64("s0", [0]), i64("s1", [1]), name="batch")
    n_steps = g.op("Slice", shape_in, i64("s1b", [1]), i64("s2", [2]), name="n_steps")

    # Lengths: the index after each row's last step that is not all NaN.
    observed = g.op("Not", g.op("Cast", g.op("ReduceMin", g.op(
        "Cast", g.op("IsNaN", x), to=T.INT64), axis2, keepdims=0), to=T.BOOL))  # (B, T)
    step_no = g.op("Range", i64("r1", 1), g.op("Add", g.op("Squeeze", n_steps, axis0),
                                                i64("r_one", 1)), i64("r_delta", 1))
    lengths = g.op("ReduceMax", g.op("Mul", g.op("Cast", observed, to=T.INT64), step_no),
                   axis1, keepdims=0, name="lengths")  # (B,)
    n_steps_s = g.op("Squeeze", n_steps, axis0)
    valid = g.op("Less", g.op("Unsqueeze", g.op("Range", i64("v0", 0), n_steps_s, i64("v1", 1)),
                              axis0), g.op("Unsqueeze", lengths, axis1), name="valid")  # (B, T)

    scale = None
    if times is not None:
        # _validation.check_times: r_k = (t_k - t_{k-1}) / time_step_ in float64 (1 at the
        # first step and where step k is not observed), then float32.
        t64 = g.op("Cast", times, to=T.DOUBLE)
        big = i64("end", [np.iinfo(np.int64).max])
        later = g.op("Slice", t64, axis1, big, axis1)
        earlier = g.op("Slice", t64, i64("t0", [0]), i64("t_last", [-1]), axis1)
        one64 = g.const("one64", 1.0, np.float64)
        rest = g.op("Where", g.op("Slice", valid, axis1, big, axis1),
                    g.op("Div", g.op("Sub", later, earlier),
                         g.const("time_step", float(est.time_step_), np.float64)), one64)
        first = g.op("Expand", g.const("one_11", [[1.0]], np.float64),
                     g.op("Concat", batch, i64("one_1", [1]), axis=0))
        scale = g.op("Cast", g.op("Concat", first, rest, axis=1), to=T.FLOAT, name="scale")

    # Standardize in float64, cast to float32, padding (NaN) 0; the clip c tanh(x / c).
    centred = g.op("Sub", x, g.const("x_mean", np.asarray(est._x_mean, np.float64)))
    if est._x_offset is not None:
        # Standardization.offset: fit's mean series, its last step repeated past its end,
        # cut to the steps of x.
        offset = g.const("x_offset", np.asarray(est._x_offset, np.float64)[None])  # (1, T, C)
        past = g.op("Max", g.op("Sub", n_steps, i64("fit_steps", [len(est._x_offset)])),
                    i64("no_steps", [0]))
        pads = g.op("Concat", i64("offset_before", [0, 0, 0, 0]), past,
                    i64("offset_after", [0]), axis=0)
        offset = g.op("Slice", g.op("Pad", offset, pads, mode="edge"), i64("o0", [0]),
                      n_steps, axis1, name="offset")
        centred = g.op("Sub", centred, offset)
    z = g.op("Div", centred, g.const("x_scale", np.asarray(est._x_scale, np.float64)))
    z = g.op("Cast", z, to=T.FLOAT)
    zero = g.const("zero", 0.0, np.float32)
    z = g.op("Where", g.op("IsNaN", z), zero, z, name="z")
    if module.input_clip is not None:
        c = g.const("clip", module.input_clip, np.float32)
        z = g.op("Mul", c, g.op("Tanh", g.op("Div", z, c)), name="clipped")

    # Windows: pad the steps to a multiple of the window, w observations per step.
    if window > 1:
        w_const = i64("window", [window])
        n_windows = g.op("Div", g.op("Add", n_steps, i64("w_minus_1", [window - 1])), w_const)
        pad = g.op("Sub", g.op("Mul", n_windows, w_const), n_steps)
        # Pad's pads: the begins of the three axes, then their ends (the steps' end: pad).
        pads = g.op("Concat", i64("pads_before", [0, 0, 0, 0]), pad, i64("pads_after", [0]),
                    axis=0)
        z = g.op("Pad", z, pads, name="padded")
        z = g.op("Reshape", z, i64("win_shape", [0, -1, window * n_channels]), name="windows")
        if scale is not None:
            # window_sequences: each window's mean scale over its observed steps (1 if none).
            pads2 = g.op("Concat", i64("pads2_before", [0, 0, 0]), pad, axis=0)
            shape2 = i64("win_shape2", [0, -1, window])
            weight = g.op("Cast", valid, to=T.FLOAT)

            def window_sum(values):
                return g.op("ReduceSum", g.op("Reshape", g.op("Pad", values, pads2), shape2),
                            axis2, keepdims=0)

            total = window_sum(g.op("Mul", scale, weight))
            count = window_sum(weight)
            one32 = g.const("one32", 1.0, np.float32)
            scale = g.op("Where", g.op("Greater", count, zero),
                         g.op("Div", total, g.op("Max", count, one32)), one32, name="win_scale")
        lengths = g.op("Div", g.op("Add", lengths, i64("w_minus_1s", window - 1)),
                       i64("window_s", window), name="win_lengths")
    else:
        n_windows = n_steps
    n_win = g.op("Squeeze", n_windows, axis0, name="n_win")

    # Which windows each row observes, time-major (S, B, 1), and the readouts' lengths.
    k = g.op("Range", i64("k0", 0), n_win, i64("k1", 1), name="k")  # (S,)
    mask = g.op("Less", g.op("Unsqueeze", k, axis1), g.op("Unsqueeze", lengths, axis0))
    mask = g.op("Unsqueeze", mask, axis2, name="mask")
    one = i64("one_s", 1)
    pos_len = g.op("Min", g.op("Max", lengths, one), g.op("Max", n_win, one), name="pos_len")
    max_mask = None
    if module.readout == "max":  # observed_steps(clamped lengths): the steps max pools over
        max_mask = g.op("Unsqueeze", g.op("Less", g.op("Unsqueeze", k, axis1),
                                          g.op("Unsqueeze", pos_len, axis0)), axis2)
    batch_h = g.op("Concat", batch, i64("hidden", [hidden]), axis=0, name="batch_h")

    def constants(reader):
        weights, solver = _reader_weights(reader, scale is not None)
        w = {key: g.const(key, value) for key, value in weights.items()}
        w["solver"], w["hidden"] = solver, hidden
        w["zero"] = g.const("zero_h", np.zeros((1, hidden), np.float32))
        w["max_mask"] = max_mask
        return w

    features = _read(g, constants(module), z, mask, batch_h, module.readout, pos_len, scale)
    if module.reverse is not None:
        # reverse_sequences: step k of a row reads window L - 1 - k (k < L), padding stays.
        last = g.op("Sub", g.op("Unsqueeze", lengths, axis1), one)  # (B, 1)
        kb = g.op("Unsqueeze", k, axis0)  # (1, S)
        index = g.op("Where", g.op("LessOrEqual", kb, last), g.op("Sub", last, kb), kb)
        index = g.op("Expand", g.op("Unsqueeze", index, axis2), g.op("Shape", z))
        rev = g.op("GatherElements", z, index, axis=1, name="reversed")
        rev_scale = None
        if scale is not None:  # reversed step k spans from window L - k to L - k - 1
            index = g.op("Where", g.op("And", g.op("GreaterOrEqual", kb, one),
                                       g.op("LessOrEqual", kb, last)),
                         g.op("Add", g.op("Sub", last, kb), one), kb)  # (k = 0: itself)
            rev_scale = g.op("GatherElements", scale, index, axis=1, name="rev_scale")
        back = _read(g, constants(module.reverse), rev, mask, batch_h,
                     module.readout, pos_len, rev_scale)
        features = g.op("Concat", features, back, axis=1, name="both")

    decoder = module.decoder
    out = g.op("Add", g.op("MatMul", features, g.const(
        "V", decoder.weight.detach().cpu().float().numpy().T.copy())),
        g.const("c", decoder.bias.detach().cpu().float().numpy()), name="outputs")
    out = g.op("Cast", out, to=T.DOUBLE, name="outputs64")
    elem = T.DOUBLE if dtype == np.float64 else T.FLOAT
    if hasattr(est, "classes_"):
        g.op("Cast", g.op("Softmax", out, axis=1), to=elem, output=outputs[1])
        index = g.op("ArgMax", out, axis=1, keepdims=0)
        classes = est.classes_ if classes is None else classes
        g.op("Gather", g.const("classes", _label_values(classes)), index, axis=0,
             output=outputs[0])
        return
    y = g.op("Add", g.op("Mul", out, g.const("y_scale", np.asarray(est._y_scale, np.float64))),
             g.const("y_mean", np.asarray(est._y_mean, np.float64)))
    if est._y_ndim == 1:
        y = g.op("Reshape", y, i64("ravel", [-1]))
    g.op("Cast", y, to=elem, output=outputs[0])


def _label_values(classes):
    """``classes_`` as an ONNX tensor's values: int64, strings, or float64."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        return classes.astype(np.float64)
    return np.asarray([str(c) for c in classes], dtype=object)


def _label_elem(onnx, classes):
    values = _label_values(classes)
    T = onnx.TensorProto
    return T.INT64 if values.dtype == np.int64 else T.DOUBLE if values.dtype.kind == "f" else (
        T.STRING
    )


def to_onnx(estimator, *, target_opset=None, dtype=np.float32, ndim=None):
    """The deterministic prediction of a fitted sknrnn estimator as an ONNX model.

    The graph computes what ``predict`` and ``predict_proba`` (classifier) or
    ``predict`` (regressor) compute, for sequences of any number of steps, and
    runs in onnxruntime without torch (see the module ``sknrnn._onnx``).

    Parameters
    ----------
    estimator : NoisyRNNClassifier or NoisyRNNRegressor
        A fitted estimator. One fitted with ``times=`` gets a second input,
        ``times``.
    target_opset : int, default=None
        The opset of the ONNX domain (18 or later; 18 when None).
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        The element type of the input ``X`` and of the float outputs. The input
        is standardized in float64 whatever it is, as ``predict`` does.
    ndim : {2, 3}, default=None
        The dimensions of the input ``X``: 2, a table ``(n_samples,
        n_timesteps)`` of univariate sequences; 3, sequences ``(n_samples,
        n_timesteps, n_channels)``. None: 2 for a model fitted on one channel,
        3 otherwise (a model with several channels takes only 3).

    Returns
    -------
    model : onnx.ModelProto
        Input ``X``: ``(n_samples, n_timesteps)`` or ``(n_samples, n_timesteps,
        n_channels)`` (``ndim``), NaN-padded at the end for unequal lengths, any
        number of steps (a 2D table too, unlike ``predict``). Outputs
        of a classifier: ``label`` ``(n_samples,)`` (``classes_``; int64, string,
        or float64 labels) and ``probabilities`` ``(n_samples, n_classes)``; of a
        regressor: ``variable``, ``(n_samples,)`` when ``y`` was 1D in fit, else
        ``(n_samples, n_outputs)``. A model fitted with ``times=`` takes
        them as a second input, ``times`` ``(n_samples, n_timesteps)``, of
        ``dtype`` too (float64 for times with large offsets, such as epoch
        seconds: the graph computes their gaps in float64 from the values it
        gets).

    Raises
    ------
    ImportError
        When onnx is not installed (``pip install "sknrnn[onnx]"``).
    ValueError
        For a ``module=`` other than :class:`sknrnn.NoisyRNN`, an opset below
        18, or ``ndim=2`` for a model with several channels.

    Examples
    --------
    >>> import pytest
    >>> ort = pytest.importorskip("onnxruntime")  # (the doctest is skipped without it)
    >>> import numpy as np
    >>> import sknrnn
    >>> X = np.random.RandomState(0).randn(20, 12)
    >>> y = (X.mean(axis=1) > 0).astype(int)
    >>> clf = sknrnn.NoisyRNNClassifier(hidden_size=4, max_iter=2, random_state=0).fit(X, y)
    >>> model = sknrnn.to_onnx(clf)
    >>> session = ort.InferenceSession(model.SerializeToString())
    >>> label, proba = session.run(None, {"X": X.astype(np.float32)})
    >>> bool((label == clf.predict(X)).all()), bool(np.allclose(proba, clf.predict_proba(X)))
    (True, True)
    """
    onnx = _import_onnx()
    opset = _check_opset(target_opset)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}.")
    _check_exportable(estimator)
    n_channels = int(estimator.n_channels_in_)
    ndim = (2 if n_channels == 1 else 3) if ndim is None else ndim
    if ndim not in (2, 3) or (ndim == 2 and n_channels > 1):
        raise ValueError(
            f"ndim must be 2 (a table of univariate sequences) or 3 (n_samples, n_timesteps, "
            f"n_channels); got {ndim!r} for a model fitted on {n_channels} channel(s)."
        )
    used = set()

    def unique(name):
        candidate, i = name, 0
        while candidate in used:
            i += 1
            candidate = f"{name}_{i}"
        used.add(candidate)
        return candidate

    helper = onnx.helper
    T = onnx.TensorProto
    elem = T.DOUBLE if dtype == np.float64 else T.FLOAT
    classifier = hasattr(estimator, "classes_")
    names = ["label", "probabilities"] if classifier else ["variable"]
    for name in names:
        unique(name)
    x_name = unique("X")
    timed = getattr(estimator, "time_step_", None) is not None
    times_name = unique("times") if timed else None
    g = _Builder(onnx, unique)
    _build(estimator, g, x_name, dtype, names, times=times_name)
    inputs = [helper.make_tensor_value_info(
        x_name, elem, ["N", "T"] if ndim == 2 else ["N", "T", n_channels]
    )]
    if timed:
        inputs.append(helper.make_tensor_value_info(times_name, elem, ["N", "T"]))
    if classifier:
        infos = [
            helper.make_tensor_value_info("label", _label_elem(onnx, estimator.classes_), ["N"]),
            helper.make_tensor_value_info(
                "probabilities", elem, ["N", len(estimator.classes_)]
            ),
        ]
    else:
        n_out = len(estimator._y_mean)
        infos = [helper.make_tensor_value_info(
            "variable", elem, ["N"] if estimator._y_ndim == 1 else ["N", n_out]
        )]
    graph = helper.make_graph(
        g.nodes, type(estimator).__name__, inputs, infos, initializer=g.initializers
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        graph, opset_imports=opsets, producer_name="sknrnn",
        ir_version=helper.find_min_ir_version_for(opsets),
    )
    from . import __version__

    model.producer_version = __version__
    model.doc_string = (
        f"sknrnn {__version__} {type(estimator).__name__}: the deterministic prediction."
    )
    onnx.checker.check_model(model)
    return model


# -- skl2onnx ------------------------------------------------------------------------

_ALIASES = {
    "NoisyRNNClassifier": "SknrnnNoisyRNNClassifier",
    "NoisyRNNRegressor": "SknrnnNoisyRNNRegressor",
}


def _input_dtype(variable):
    """float64 for a double input, float32 for anything else (the graph casts X anyway)."""
    from skl2onnx.common.data_types import DoubleTensorType

    return np.float64 if isinstance(variable.type, DoubleTensorType) else np.float32


def _skl2onnx_classes(scope, est):
    """The labels of the classifier's label output: ``classes_``, or their indices under
    skl2onnx's option ``nocl``."""
    from skl2onnx.common.utils_classifier import get_label_classes

    return np.asarray(get_label_classes(scope, est))


def _shape_calculator(operator):
    from skl2onnx.common.data_types import (
        DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType,
    )

    est = operator.raw_operator
    _check_exportable(est, times=False)
    x = operator.inputs[0]
    n_channels = int(est.n_channels_in_)
    rank = len(x.type.shape) if x.type.shape is not None else None
    if rank not in (2, 3) or (rank == 2 and n_channels > 1):
        raise ValueError(
            f"The input of {type(est).__name__} must be 2D (n_samples, n_timesteps) or 3D "
            f"(n_samples, n_timesteps, n_channels) for {n_channels} channel(s); got the shape "
            f"{x.type.shape}."
        )
    n = x.get_first_dimension()
    float_type = DoubleTensorType if _input_dtype(x) == np.float64 else FloatTensorType
    if hasattr(est, "classes_"):
        values = _label_values(_skl2onnx_classes(operator.scope_inst, est))
        if values.dtype.kind == "f":
            raise ValueError(
                "skl2onnx takes integer or string class labels; this classifier has float "
                "labels: use sknrnn.to_onnx (float64 labels) or refit with integer labels."
            )
        label_type = Int64TensorType if values.dtype == np.int64 else StringTensorType
        operator.outputs[0].type = label_type(shape=[n])
        operator.outputs[1].type = float_type(shape=[n, len(est.classes_)])
    else:
        shape = [n] if est._y_ndim == 1 else [n, len(est._y_mean)]
        operator.outputs[0].type = float_type(shape=shape)


def _converter(scope, operator, container):
    onnx = _import_onnx()
    _check_opset(container.target_opset)
    est = operator.raw_operator
    g = _Builder(onnx, scope.get_unique_variable_name)
    x = operator.inputs[0]
    classes = _skl2onnx_classes(scope, est) if hasattr(est, "classes_") else None
    _build(est, g, x.full_name, _input_dtype(x), [out.full_name for out in operator.outputs],
           classes)
    for tensor in g.initializers:
        content = (
            [s.decode() if isinstance(s, bytes) else s for s in tensor.string_data]
            if tensor.data_type == onnx.TensorProto.STRING else tensor
        )
        container.add_initializer(tensor.name, tensor.data_type, list(tensor.dims), content)
    for node in g.nodes:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(
            node.op_type, list(node.input), list(node.output),
            name=scope.get_unique_operator_name(node.op_type), **attrs,
        )


def register_onnx_converter():
    """Register the sknrnn estimators with skl2onnx.

    After this call, ``skl2onnx.to_onnx`` (or ``convert_sklearn``) converts a
    fitted :class:`NoisyRNNClassifier` or :class:`NoisyRNNRegressor`, alone or
    as the last step of a Pipeline (after a ``StandardScaler``, for instance:
    skl2onnx converts the steps before it), into the graph of :func:`to_onnx`.
    Nothing is registered on ``import sknrnn``: call this once per process
    before converting (calling it again does no harm).

    The classifier follows skl2onnx's classifiers: outputs ``label`` and
    ``probabilities``, the latter as a list of dicts (a ``ZipMap``) unless the
    option ``{"zipmap": False}`` is passed for it. The regressor's output is
    ``(n_samples,)`` when ``y`` was 1D in fit, as ``predict`` returns it. The
    opset of the conversion must be 18 or later. A model fitted with ``times=``
    is refused (a pipeline has one input): export it with :func:`to_onnx`.

    Raises
    ------
    ImportError
        When skl2onnx is not installed (``pip install "sknrnn[onnx]"``).

    Examples
    --------
    >>> import sknrnn
    >>> sknrnn.register_onnx_converter()  # doctest: +SKIP
    >>> import skl2onnx  # doctest: +SKIP
    >>> onx = skl2onnx.to_onnx(pipeline, X[:1].astype("float32"),  # doctest: +SKIP
    ...                        options={"zipmap": False})
    """
    _import_onnx()
    try:
        from skl2onnx import update_registered_converter
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"Converting pipelines needs skl2onnx: {_INSTALL}."
        ) from exc
    from ._classes import NoisyRNNClassifier, NoisyRNNRegressor

    update_registered_converter(
        NoisyRNNClassifier, _ALIASES["NoisyRNNClassifier"], _shape_calculator, _converter,
        options={"zipmap": [True, False, "columns"], "nocl": [False, True]},
    )
    update_registered_converter(
        NoisyRNNRegressor, _ALIASES["NoisyRNNRegressor"], _shape_calculator, _converter,
    )
