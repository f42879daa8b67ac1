"""The fused Euler recursion (sknrnn._fused) against the reference step loop."""

import pytest
import torch

from sknrnn import _fused
from sknrnn._fused import _EulerRecursion, euler_final_state
from sknrnn._sde import NoisyRNN

NOISES = {
    "none": (0.0, 0.0),
    "additive": (0.3, 0.0),
    "multiplicative": (0.0, 0.4),
    "mixed": (0.3, 0.4),
}
LENGTHS = {"full": None, "padded": [6, 2, 0, 4], "unsorted_ties": [3, 6, 3, 9]}


def _inputs(batch=4, n_steps=6, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    kw = dict(dtype=torch.float64, generator=g)
    u = torch.randn(batch, n_steps, n, **kw).requires_grad_()
    K = (0.5 * torch.randn(n, 2 * n, **kw)).requires_grad_()
    dt = (0.1 + torch.rand(n, **kw)).requires_grad_()
    xi = torch.randn(n_steps, batch, n, **kw)
    return u, K, dt, xi


def _scales(batch=4, n_steps=6, seed=1):
    """Step scales (B, T) in [0.1, 2.1): irregular sampling."""
    g = torch.Generator().manual_seed(seed)
    return 0.1 + 2 * torch.rand(batch, n_steps, dtype=torch.float64, generator=g)


def _loop_states(u, K, dt, lengths, s1, s2, xi, r=None):
    """The recursion written out step by step (autograd does the backward).

    Returns the final state and every state ``h_1 .. h_T`` (zero past each
    sequence's end). ``r`` (B, T): the step that reads observation k of sample b
    is ``dt * r[b, k]``.
    """
    n = K.shape[0]
    h, kept = u.new_zeros(u.shape[0], n), []
    for k in range(u.shape[1]):
        z = h @ K
        dt_k = dt if r is None else r[:, k, None] * dt
        h_next = h + dt_k * (z[:, :n] + torch.tanh(z[:, n:] + u[:, k]))
        h_next = h_next + dt_k.sqrt() * (s1 + s2 * h) * xi[k]
        valid = torch.ones(u.shape[0], 1, dtype=torch.bool) if lengths is None else (
            (k < lengths)[:, None]
        )
        h = torch.where(valid, h_next, h)
        kept.append(torch.where(valid, h, torch.zeros_like(h)))
    return h, torch.stack(kept, 1)


def _loop(u, K, dt, lengths, s1, s2, xi, r=None):
    """The final state of the recursion written out step by step (``_loop_states``)."""
    return _loop_states(u, K, dt, lengths, s1, s2, xi, r)[0]


def _assert_same_values_and_gradients(out, ref, inputs):
    """``out`` equals ``ref``, and so do their gradients with respect to ``inputs``."""
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    w = torch.randn_like(out)
    grads = torch.autograd.grad((out * w).sum(), inputs)
    grads_ref = torch.autograd.grad((ref * w).sum(), inputs)
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("lengths", LENGTHS)
def test_gradcheck(noise, lengths, monkeypatch):
    monkeypatch.setattr(_fused, "_CHUNK", 4)
    u, K, dt, xi = _inputs()
    s1, s2 = NOISES[noise]
    lengths = None if LENGTHS[lengths] is None else torch.tensor(LENGTHS[lengths])
    # fast_mode checks random projections of the Jacobian; the full check runs once below.
    assert torch.autograd.gradcheck(
        lambda u, K, dt: _EulerRecursion.apply(u, K, dt, lengths, s1, s2, xi),
        (u, K, dt),
        fast_mode=True,
    )


def test_gradcheck_full_jacobian():
    u, K, dt, xi = _inputs(n_steps=4, n=3)
    lengths = torch.tensor([4, 1, 0, 3])
    assert torch.autograd.gradcheck(
        lambda u, K, dt: _EulerRecursion.apply(u, K, dt, lengths, 0.3, 0.4, xi), (u, K, dt)
    )


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("chunk", [4, 32])
def test_function_matches_loop(noise, lengths, chunk, monkeypatch):
    monkeypatch.setattr(_fused, "_CHUNK", chunk)  # several chunks of the backward pass, or one
    u, K, dt, xi = _inputs(n_steps=9)
    s1, s2 = NOISES[noise]
    lengths = None if LENGTHS[lengths] is None else torch.tensor(LENGTHS[lengths])
    out = euler_final_state(u, K, dt, lengths, s1, s2, xi)
    ref = _loop(u, K, dt, lengths, s1, s2, xi)
    _assert_same_values_and_gradients(out, ref, (u, K, dt))
    with torch.no_grad():  # the inference loop (nothing stored for backward)
        torch.testing.assert_close(euler_final_state(u, K, dt, lengths, s1, s2, xi), ref)


def _module(noise, fused, seed=0, increment="gaussian"):
    torch.manual_seed(seed)
    s1, s2 = NOISES[noise]
    return NoisyRNN(
        3, 8, 2, noise_type=noise, noise_additive=s1, noise_multiplicative=s2,
        noise_increment=increment, dt=0.3, init_std=0.3, fused=fused,
    ).double()


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("increment", ["gaussian", "rademacher"])
def test_module_fused_equals_reference(noise, padded, increment):
    # Both paths draw their noise through noise_draws: the same numbers under one seed.
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 3, 5, 1]) if padded else None
    outs, grads = [], []
    for fused in (True, False):
        module = _module(noise, fused, increment=increment).train()
        torch.manual_seed(1)
        out = module(x, lengths)
        out.square().sum().backward()
        outs.append(out)
        grads.append({k: p.grad for k, p in module.named_parameters()})
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-12, atol=1e-12)
    assert grads[0].keys() == grads[1].keys()
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-10, atol=1e-12, msg=k)
    # evaluation mode: the deterministic recursion, no gradient tape
    with torch.no_grad():
        pred = [_module(noise, fused).eval()(x, lengths) for fused in (True, False)]
    torch.testing.assert_close(pred[0], pred[1], rtol=1e-12, atol=1e-12)


def test_float32_and_odd_sizes():
    torch.manual_seed(0)
    module = NoisyRNN(2, 5, 3, noise_type="mixed", noise_additive=0.1, noise_multiplicative=0.1)
    reference = NoisyRNN(2, 5, 3, fused=False)
    reference.load_state_dict(module.state_dict())
    x = torch.randn(3, 11, 2)
    lengths = torch.tensor([11, 4, 20])  # a length past T counts as T
    out = module.train()(x, lengths)
    out.sum().backward()
    assert out.shape == (3, 3) and torch.isfinite(out).all()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())
    module.eval(), reference.eval()
    torch.testing.assert_close(module(x, lengths), reference(x, lengths))


def test_midpoint_uses_reference_loop():
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    torch.manual_seed(0)
    a = NoisyRNN(3, 8, 2, solver="midpoint", fused=True).double()
    torch.manual_seed(0)
    b = NoisyRNN(3, 8, 2, solver="midpoint", fused=False).double()
    torch.testing.assert_close(a(x), b(x))


def test_nan_padding_does_not_leak():
    u, K, dt, xi = _inputs(n_steps=6)
    lengths = torch.tensor([6, 2, 0, 4])
    u_nan = u.detach().clone()
    for i, length in enumerate(lengths):
        u_nan[i, length:] = float("nan")
    u_nan.requires_grad_()
    out = euler_final_state(u_nan, K, dt, lengths, 0.3, 0.4, xi)
    ref = euler_final_state(u, K, dt, lengths, 0.3, 0.4, xi)
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert torch.isfinite(u_nan.grad).all() and torch.isfinite(K.grad).all()
    assert torch.isfinite(dt.grad).all()


# -- irregular sampling: a per-sample, per-step scale of the step ------------------


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("lengths", LENGTHS)
def test_gradcheck_step_scale(noise, lengths, monkeypatch):
    monkeypatch.setattr(_fused, "_CHUNK", 4)
    u, K, dt, xi = _inputs()
    r = _scales()
    s1, s2 = NOISES[noise]
    lengths = None if LENGTHS[lengths] is None else torch.tensor(LENGTHS[lengths])
    assert torch.autograd.gradcheck(
        lambda u, K, dt: _EulerRecursion.apply(u, K, dt, lengths, s1, s2, xi, False, r),
        (u, K, dt),
        fast_mode=True,
    )


def test_gradcheck_full_jacobian_step_scale():
    u, K, dt, xi = _inputs(n_steps=4, n=3)
    r = _scales(n_steps=4)
    lengths = torch.tensor([4, 1, 0, 3])
    assert torch.autograd.gradcheck(
        lambda u, K, dt: _EulerRecursion.apply(u, K, dt, lengths, 0.3, 0.4, xi, False, r),
        (u, K, dt),
    )


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("chunk", [4, 32])
def test_step_scale_matches_loop(noise, lengths, chunk, monkeypatch):
    monkeypatch.setattr(_fused, "_CHUNK", chunk)
    u, K, dt, xi = _inputs(n_steps=9)
    r = _scales(n_steps=9)
    s1, s2 = NOISES[noise]
    lengths = None if LENGTHS[lengths] is None else torch.tensor(LENGTHS[lengths])
    if lengths is not None:  # the scale of padded steps is never read
        r = torch.where(torch.arange(9) < lengths[:, None], r, 1e6)
    out = euler_final_state(u, K, dt, lengths, s1, s2, xi, step_scale=r)
    ref = _loop(u, K, dt, lengths, s1, s2, xi, r)
    _assert_same_values_and_gradients(out, ref, (u, K, dt))
    with torch.no_grad():  # the inference loop equals the autograd path
        inference = euler_final_state(u, K, dt, lengths, s1, s2, xi, step_scale=r)
    torch.testing.assert_close(inference, out, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("noise", NOISES)
def test_unit_step_scale_is_the_even_recursion(noise):
    u, K, dt, xi = _inputs(n_steps=7)
    s1, s2 = NOISES[noise]
    lengths = torch.tensor([7, 2, 0, 5])
    ones = torch.ones(4, 7, dtype=torch.float64)
    out = euler_final_state(u, K, dt, lengths, s1, s2, xi, step_scale=ones)
    ref = euler_final_state(u, K, dt, lengths, s1, s2, xi)
    torch.testing.assert_close(out, ref, rtol=1e-13, atol=1e-14)
    grads = torch.autograd.grad(out.sum(), (u, K, dt))
    grads_ref = torch.autograd.grad(ref.sum(), (u, K, dt))
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)


def test_step_scale_shape_is_checked():
    u, K, dt, xi = _inputs()
    with pytest.raises(ValueError, match="step_scale"):
        euler_final_state(u, K, dt, step_scale=torch.ones(4, 5))


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("sizes", [(4, 8), (3, 5)])
def test_module_step_scale_fused_equals_reference(noise, padded, sizes):
    # With step scales the fused path draws the noise as the loop does, whatever B * N.
    batch, hidden = sizes
    x = torch.randn(batch, 7, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 3, 5, 1][:batch]) if padded else None
    # float32, as the estimators give it
    scale = (0.2 + 2 * torch.rand(batch, 7)).float()
    outs, grads = [], []
    for fused in (True, False):
        torch.manual_seed(0)
        s1, s2 = NOISES[noise]
        module = NoisyRNN(
            3, hidden, 2, noise_type=noise, noise_additive=s1, noise_multiplicative=s2,
            dt=0.3, init_std=0.3, fused=fused,
        ).double().train()
        torch.manual_seed(1)
        out = module(x, lengths, scale)
        out.square().sum().backward()
        outs.append(out)
        grads.append({k: p.grad for k, p in module.named_parameters()})
        module.eval()
        with torch.no_grad():
            outs.append(module(x, lengths, scale))
    torch.testing.assert_close(outs[0], outs[2], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(outs[1], outs[3], rtol=1e-12, atol=1e-12)
    assert grads[0].keys() == grads[1].keys()
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-10, atol=1e-12, msg=k)


def test_nan_padding_does_not_leak_with_step_scale():
    u, K, dt, xi = _inputs(n_steps=6)
    lengths = torch.tensor([6, 2, 0, 4])
    r = _scales()
    past_end = torch.arange(6) >= lengths[:, None]
    u_nan = u.detach().clone()
    u_nan[past_end] = float("nan")
    u_nan.requires_grad_()
    r_nan = r.masked_fill(past_end, float("nan"))
    out = euler_final_state(u_nan, K, dt, lengths, 0.3, 0.4, xi, step_scale=r_nan)
    ref = euler_final_state(u, K, dt, lengths, 0.3, 0.4, xi, step_scale=r)
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert torch.isfinite(u_nan.grad).all() and torch.isfinite(K.grad).all()
    assert torch.isfinite(dt.grad).all()
    with torch.no_grad():
        inference = euler_final_state(u_nan, K, dt, lengths, 0.3, 0.4, xi, step_scale=r_nan)
    torch.testing.assert_close(inference, ref)



@pytest.mark.parametrize("lengths", [None, [6, 2, 0, 4]])
def test_inference_leaves_its_input_alone(lengths):
    """u laid out time-major (as NoisyRNN.encode gives it) is read, never written."""
    u, K, dt, xi = _inputs()
    u = u.detach().transpose(0, 1).contiguous().transpose(0, 1)  # (B, T, N), time-major
    before = u.clone()
    lengths = None if lengths is None else torch.tensor(lengths)
    with torch.no_grad():
        euler_final_state(u, K.detach(), dt.detach(), lengths, 0.3, 0.4, xi)
    assert torch.equal(u, before)


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("scaled", [False, True])
def test_states_and_their_gradients_match_the_loop(noise, lengths, scaled, monkeypatch):
    """states=True returns every state; gradients reaching them (and the final state)
    flow back exactly as through the step loop, over several chunks."""
    monkeypatch.setattr(_fused, "_CHUNK", 4)
    u, K, dt, xi = _inputs(n_steps=9)
    s1, s2 = NOISES[noise]
    lengths = None if LENGTHS[lengths] is None else torch.tensor(LENGTHS[lengths])
    r = _scales(n_steps=9) if scaled else None
    run = lambda: euler_final_state(u, K, dt, lengths, s1, s2, xi, r, states=True)  # noqa: E731
    _, states = run()
    _, ref_states = _loop_states(u, K, dt, lengths, s1, s2, xi, r)
    _assert_same_values_and_gradients(states, ref_states, (u, K, dt))  # states alone
    final, states = run()
    ref_final, ref_states = _loop_states(u, K, dt, lengths, s1, s2, xi, r)
    torch.testing.assert_close(final, ref_final, rtol=1e-12, atol=1e-12)
    w, v = torch.randn_like(final), torch.randn_like(states)
    both = torch.autograd.grad((final * w).sum() + (states * v).sum(), (u, K, dt))
    ref = torch.autograd.grad((ref_final * w).sum() + (ref_states * v).sum(), (u, K, dt))
    for a, b in zip(both, ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    with torch.no_grad():  # the inference loop keeps the states too
        final_i, states_i = euler_final_state(u, K, dt, lengths, s1, s2, xi, r, states=True)
    torch.testing.assert_close(states_i, ref_states, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(final_i, ref_final, rtol=1e-12, atol=1e-12)


def test_gradcheck_states():
    u, K, dt, xi = _inputs(n_steps=4, n=3)
    lengths = torch.tensor([4, 1, 0, 3])
    assert torch.autograd.gradcheck(
        lambda u, K, dt: _EulerRecursion.apply(u, K, dt, lengths, 0.3, 0.4, xi, False, None, True),
        (u, K, dt),
    )


# -- relative additive noise (screen only, issue 26): a per-unit s_1 ----------------------


@pytest.mark.parametrize("s2", [0.0, 0.4])
@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("scaled", [False, True])
def test_per_unit_additive_level_matches_loop(s2, lengths, scaled, monkeypatch):
    monkeypatch.setattr(_fused, "_CHUNK", 4)
    u, K, dt, xi = _inputs(n_steps=9)
    s1 = torch.tensor([0.0, 0.1, 0.5, 2.0], dtype=torch.float64)  # one level per unit
    lengths = None if LENGTHS[lengths] is None else torch.tensor(LENGTHS[lengths])
    r = _scales(n_steps=9) if scaled else None
    out, states = euler_final_state(u, K, dt, lengths, s1, s2, xi, step_scale=r, states=True)
    ref, ref_states = _loop_states(u, K, dt, lengths, s1, s2, xi, r)
    _assert_same_values_and_gradients(
        torch.cat([out[:, None], states], 1), torch.cat([ref[:, None], ref_states], 1), (u, K, dt)
    )
    with torch.no_grad():  # the inference loop
        out = euler_final_state(u, K, dt, lengths, s1, s2, xi, step_scale=r)
    torch.testing.assert_close(out, ref)


def test_relative_noise_scale_starts_at_zero_and_tracks_the_state():
    torch.manual_seed(0)
    m = NoisyRNN(3, 8, 2, noise_type="mixed", noise_additive=0.2, noise_multiplicative=0.0,
                 dt=0.3, init_std=0.3, bidirectional=True).double()
    keys = set(m.state_dict())
    m.set_noise_relative(0.2)
    assert m.reverse.noise_relative == 0.2
    x = torch.randn(5, 7, 3, dtype=torch.float64)
    # First training batch: no scale measured yet, so no additive noise (and s_2 = 0: no noise).
    m.eval()
    clean = m(x)
    m.train()
    torch.testing.assert_close(m(x), clean)
    first = m.state_scale.clone()
    _, states = m.final_state(x, noise=False, states=True)
    torch.testing.assert_close(first, 0.1 * states.square().mean((0, 1)).sqrt())
    m(x)  # the second batch is noisy, and moves the scale again
    assert not torch.equal(m.state_scale, first) and bool((m.reverse.state_scale > 0).all())
    assert set(m.state_dict()) == keys  # non-persistent: saves do not change
    m.eval()
    before = m.state_scale.clone()
    m(x)
    assert torch.equal(m.state_scale, before)  # evaluation forwards leave it alone


def test_relative_noise_clean_scale_is_measured_on_a_noiseless_pass():
    torch.manual_seed(0)
    m = NoisyRNN(3, 8, 2, noise_type="mixed", noise_additive=0.2, noise_multiplicative=0.2,
                 dt=0.3, init_std=0.3).double()
    m.set_noise_relative(0.4, clean=True)
    x = torch.randn(5, 7, 3, dtype=torch.float64)
    _, states = m.final_state(x, noise=False, states=True)
    rms = states.square().mean((0, 1)).sqrt()
    m.train()
    for step in (1, 2):  # noisy forwards; the scale follows the clean states only
        m(x).sum().backward()
        torch.testing.assert_close(m.state_scale, (1 - 0.9 ** step) * rms)
