"""The NRNN module against the equations, written out step by step in NumPy."""

import numpy as np
import pytest
import torch

from sknrnn._fused import has_noise, noise_draws
from sknrnn._sde import NoisyRNN, lipschitz_matrix, noise_levels


def _module(noise_type="none", solver="euler", add=0.0, mult=0.0, seed=0, **kw):
    torch.manual_seed(seed)
    m = NoisyRNN(
        2, 3, 2, noise_type=noise_type, noise_additive=add, noise_multiplicative=mult,
        solver=solver, init_std=0.3, **kw,
    ).double()
    with torch.no_grad():
        m.raw_dt.copy_(torch.tensor([-1.0, 0.0, 0.5], dtype=torch.float64))
    return m


def _reference(m, x, xi=None, length=None, scale=None):
    """The recursion of the *Noise convention* (docs/user_guide/noise.md), written out for one sequence in NumPy.

    ``h_{k+1} = h_k + dt * f(h_k, x_k) + sqrt(dt) * (s1 + s2 * h_k) * xi_k`` with
    ``f(h, x) = linear_weight * A h + tanh(W h + U x + b)`` (the midpoint rule evaluates
    ``f`` at ``h + dt / 2 * f(h)``), ``A`` and ``W`` the Lipschitz parametrization of
    ``_sde.py``, and the decoder reading the last state.

    ``scale[k]`` multiplies the step that reads observation k (irregular sampling).
    """
    p = {k: v.detach().numpy() for k, v in m.named_parameters()}
    p.update({k: v.detach().numpy() for k, v in m.named_buffers()})
    MA, MW = p["M_A"], p["M_W"]
    n = MA.shape[0]
    A = m.beta * (MA - MA.T) + (1 - m.beta) * (MA + MA.T) - m.gamma_a * np.eye(n)
    W = m.beta * (MW - MW.T) + (1 - m.beta) * (MW + MW.T) - m.gamma_w * np.eye(n)
    dt_unit = np.log1p(np.exp(p["raw_dt"]))
    U, b = p["encoder.weight"], p["encoder.bias"]
    s1, s2 = m.noise_additive, m.noise_multiplicative
    h = np.zeros(n)
    length = len(x) if length is None else length
    for k in range(length):
        dt = dt_unit * (1.0 if scale is None else scale[k])
        u = U @ x[k] + b

        def f(v):
            return m.linear_weight * A @ v + np.tanh(W @ v + u)

        drift = f(h) if m.solver == "euler" else f(h + dt / 2 * f(h))
        h_next = h + dt * drift
        if xi is not None:
            h_next = h_next + np.sqrt(dt) * (s1 + s2 * h) * xi[k]
        h = h_next
    return p["decoder.weight"] @ h + p["decoder.bias"]


@pytest.mark.parametrize("solver", ["euler", "midpoint"])
def test_deterministic_recursion_matches_reference(solver):
    m = _module(solver=solver).eval()
    x = torch.randn(4, 7, 2, dtype=torch.float64)
    out = m(x).detach().numpy()
    expected = np.stack([_reference(m, xi) for xi in x.numpy()])
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("noise_type", ["additive", "multiplicative", "mixed"])
@pytest.mark.parametrize("solver", ["euler", "midpoint"])
def test_noisy_step_matches_reference(noise_type, solver):
    m = _module(noise_type, solver, add=0.3, mult=0.2)
    x = torch.randn(3, 5, 2, dtype=torch.float64)
    xi = torch.randn(3, 5, 3, dtype=torch.float64)
    u = m.encode(x)
    h = torch.zeros(3, 3, dtype=torch.float64)
    for k in range(5):
        h = m.sde_step(h, u[:, k], m.step_size(), xi=xi[:, k])
    out = m.decoder(h).detach().numpy()
    expected = np.stack([_reference(m, x[i].numpy(), xi[i].numpy()) for i in range(3)])
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "noise_type, add, mult",
    [("additive", 0.5, 0.0), ("multiplicative", 0.0, 0.4), ("mixed", 0.3, 0.4)],
)
def test_one_step_noise_statistics_match_the_diffusion(noise_type, add, mult):
    """Mean h + dt f(h, x) and variance dt * sigma(h)^2 of one Euler-Maruyama step."""
    m = _module(noise_type, add=add, mult=mult)
    n_draws = 200_000
    h0 = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64).expand(n_draws, 3)
    u = torch.tensor([[0.1, 0.2, -0.3]], dtype=torch.float64).expand(n_draws, 3)
    dt = m.step_size().detach()
    torch.manual_seed(1)
    with torch.no_grad():
        steps = m.sde_step(h0, u, dt, xi=torch.randn(n_draws, 3, dtype=torch.float64))
        mean = h0[0] + dt * m.drift(h0[:1], u[:1])[0]
    sigma = add + mult * h0[0]
    var = dt * sigma**2
    sem = torch.sqrt(var / n_draws)
    assert torch.all((steps.mean(0) - mean).abs() <= 5 * sem + 1e-12)
    np.testing.assert_allclose(steps.var(0).numpy(), var.numpy(), rtol=0.02)


def test_noise_only_in_training_mode():
    m = _module("mixed", add=0.2, mult=0.2)
    x = torch.randn(4, 6, 2, dtype=torch.float64)
    m.train()
    assert not torch.allclose(m(x), m(x))
    m.eval()
    assert torch.equal(m(x), m(x))
    # noise level 0 is the deterministic Lipschitz RNN, also in training mode
    m0 = _module("additive", add=0.0).train()
    assert torch.equal(m0(x), m0.eval()(x))


@pytest.mark.parametrize("solver", ["euler", "midpoint"])
def test_irregular_steps_match_reference(solver):
    """Per-sample step scales: drift over dt * r_k, noise sqrt(dt * r_k) sigma xi."""
    m = _module("mixed", solver, add=0.3, mult=0.2)
    x = torch.randn(3, 6, 2, dtype=torch.float64)
    scale = torch.rand(3, 6, dtype=torch.float64) * 2 + 0.1
    lengths = torch.tensor([6, 4, 6])
    m.eval()
    out = m(x, lengths, scale).detach().numpy()
    expected = np.stack(
        [_reference(m, x[i].numpy(), length=int(n), scale=scale[i].numpy())
         for i, n in enumerate(lengths)]
    )
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    # with noise: the draws of noise_draws (T, B, N), the one place noise is drawn
    m.train()
    torch.manual_seed(3)
    out = m(x, None, scale).detach().numpy()
    torch.manual_seed(3)
    xi = noise_draws(6, 3, 3, x, None).transpose(0, 1)
    expected = np.stack(
        [_reference(m, x[i].numpy(), xi[i].numpy(), scale=scale[i].numpy()) for i in range(3)]
    )
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_unit_step_scale_is_the_evenly_sampled_recursion():
    m = _module("additive", add=0.5).eval()
    x = torch.randn(4, 7, 2, dtype=torch.float64)
    lengths = torch.tensor([7, 3, 7, 5])
    ones = torch.ones(4, 7, dtype=torch.float64)
    assert torch.equal(m(x, lengths, ones), m(x, lengths))
    # a constant scale c is the same as a step c times larger
    m2 = _module("additive", add=0.5).eval()
    with torch.no_grad():
        m2.raw_dt.copy_(torch.log(torch.expm1(2.0 * m.step_size())))
    torch.testing.assert_close(m(x, lengths, 2.0 * ones), m2(x, lengths), rtol=1e-9, atol=1e-12)


def test_padded_steps_do_not_move_the_state():
    m = _module("additive", add=0.5).eval()
    x = torch.randn(3, 8, 2, dtype=torch.float64)
    lengths = torch.tensor([8, 5, 2])
    out = m(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(out[i], m(x[i : i + 1, :n])[0], rtol=0, atol=0)
    # padding is inert in training mode too: the state is frozen whatever the noise
    m.train()
    torch.manual_seed(0)
    h = m.final_state(x, lengths)
    x_changed = x.clone()
    x_changed[1, 5:] = 1e3
    torch.manual_seed(0)
    torch.testing.assert_close(m.final_state(x_changed, lengths), h, rtol=0, atol=0)


def test_lipschitz_parametrization():
    M = torch.randn(5, 5, dtype=torch.float64)
    skew = lipschitz_matrix(M, beta=1.0, gamma=0.1)
    torch.testing.assert_close(skew + skew.T, -0.2 * torch.eye(5, dtype=torch.float64))
    sym = lipschitz_matrix(M, beta=0.0, gamma=0.0)
    torch.testing.assert_close(sym, sym.T)


def test_step_is_positive_and_learned_or_fixed():
    m = NoisyRNN(1, 4, 1, dt=0.05)
    torch.testing.assert_close(m.step_size(), torch.full((4,), 0.05))
    assert "raw_dt" in dict(m.named_parameters())
    with torch.no_grad():
        m.raw_dt.fill_(-50.0)
    assert torch.all(m.step_size() > 0)
    fixed = NoisyRNN(1, 4, 1, dt=0.05, learn_dt=False)
    assert "raw_dt" not in dict(fixed.named_parameters())
    assert "raw_dt" in dict(fixed.named_buffers())


def test_gradients_flow_to_every_parameter():
    m = _module("mixed", add=0.1, mult=0.1).train()
    m(torch.randn(4, 5, 2, dtype=torch.float64)).sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_unknown_options_raise():
    with pytest.raises(ValueError, match="noise_type"):
        NoisyRNN(1, 2, 1, noise_type="brownian")
    with pytest.raises(ValueError, match="solver"):
        NoisyRNN(1, 2, 1, solver="rk4")


@pytest.mark.parametrize(
    "noise_type, level, expected",
    [
        ("none", 0.3, (0.0, 0.0)),
        ("none", (-1.0, 2.0, 3.0), (0.0, 0.0)),  # ignored
        ("additive", 0.3, (0.3, 0.0)),
        ("multiplicative", 0.3, (0.0, 0.3)),
        ("mixed", 0.3, (0.3, 0.3)),
        ("mixed", (0.1, 0.2), (0.1, 0.2)),
        ("additive", (0.1, 0.2), (0.1, 0.0)),  # the module's (s1, s2): the type decides
    ],
)
def test_noise_levels_are_decided_in_one_place(noise_type, level, expected):
    assert noise_levels(noise_type, level) == expected
    m = NoisyRNN(2, 4, 1, noise_type=noise_type, noise_additive=0.3, noise_multiplicative=0.3)
    assert (m.noise_additive, m.noise_multiplicative) == noise_levels(noise_type, 0.3)
    assert m.is_noisy == (noise_type != "none") == has_noise(*noise_levels(noise_type, 0.3))
    if noise_type != "none":
        with pytest.raises(ValueError, match="finite and >= 0"):
            noise_levels(noise_type, -1.0)


@pytest.mark.parametrize("solver", ["euler", "midpoint"])
def test_clean_step_jacobian_matches_autograd(solver):
    """The step and Jacobian that the diagnostics read are the module's own."""
    torch.manual_seed(0)
    m = NoisyRNN(3, 5, 2, solver=solver, init_std=0.5).double()
    h = torch.randn(4, 5, dtype=torch.float64)
    u = torch.randn(4, 5, dtype=torch.float64)
    h_next, J = m.clean_step(h, u, jacobian=True)
    torch.testing.assert_close(h_next, m.sde_step(h, u, m.step_size()))  # same step, no noise
    for b in range(4):
        expected = torch.autograd.functional.jacobian(
            lambda x: m.clean_step(x[None], u[b : b + 1])[0], h[b]
        )
        torch.testing.assert_close(J[b], expected)


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.75, 1.0])
def test_lipschitz_matrix_is_the_formula_bit_for_bit_with_its_gradient(beta):
    M = torch.randn(6, 6, dtype=torch.float64, requires_grad=True)
    eye = torch.eye(6, dtype=torch.float64)
    formula = beta * (M - M.T) + (1 - beta) * (M + M.T) - 0.2 * eye
    out = lipschitz_matrix(M, beta=beta, gamma=0.2)
    # bit for bit: a fitted model must give the same numbers in every version
    assert torch.equal(out, formula)
    w = torch.randn(6, 6, dtype=torch.float64)
    (grad,) = torch.autograd.grad((out * w).sum(), M)
    (grad_formula,) = torch.autograd.grad((formula * w).sum(), M)
    torch.testing.assert_close(grad, grad_formula)


# -- windows, reading both ways, a range of time scales ------------------------------
from sknrnn._sde import initial_steps, reverse_sequences, window_sequences  # noqa: E402


def test_windows_group_consecutive_observations_and_count_windows():
    x = torch.arange(2 * 7 * 2, dtype=torch.float32).reshape(2, 7, 2)
    lengths = torch.tensor([7, 4])
    xw, lw, sw = window_sequences(x, lengths, None, 3)
    assert xw.shape == (2, 3, 6)
    torch.testing.assert_close(xw[0, 0], x[0, :3].reshape(-1))
    torch.testing.assert_close(xw[0, 2], torch.cat([x[0, 6], torch.zeros(4)]))  # partial window
    assert lw.tolist() == [3, 2]
    # steps past a sequence's end are zeros in its windows
    torch.testing.assert_close(xw[1, 1], torch.cat([x[1, 3], torch.zeros(4)]))
    assert sw is None
    assert window_sequences(x, lengths, None, 1)[0] is x


def test_window_step_scale_is_the_mean_of_its_observations():
    x = torch.zeros(1, 5, 1)
    scale = torch.tensor([[1.0, 3.0, 2.0, 4.0, 9.0]])
    _, _, sw = window_sequences(x, torch.tensor([4]), scale, 2)
    torch.testing.assert_close(sw, torch.tensor([[2.0, 3.0, 1.0]]))


def test_reverse_reads_each_sequence_from_its_last_valid_step():
    x = torch.arange(10.0).reshape(2, 5, 1)
    lengths = torch.tensor([5, 3])
    rev, _ = reverse_sequences(x, lengths, None)
    assert rev[0, :, 0].tolist() == [4.0, 3.0, 2.0, 1.0, 0.0]
    assert rev[1, :3, 0].tolist() == [7.0, 6.0, 5.0]
    r = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    _, rev_r = reverse_sequences(torch.zeros(1, 5, 1), torch.tensor([5]), r)
    # the reversed step that reads observation k spans the time to observation k + 1
    assert rev_r[0].tolist() == [1.0, 5.0, 4.0, 3.0, 2.0]


def test_initial_steps_spread_geometrically_over_a_range():
    steps = initial_steps((0.01, 1.0), 5)
    torch.testing.assert_close(steps, torch.tensor([0.01, 10 ** -1.5, 0.1, 10 ** -0.5, 1.0],
                                                   dtype=torch.float64))
    assert initial_steps(0.2, 3).tolist() == [0.2, 0.2, 0.2]
    m = NoisyRNN(1, 4, 1, dt=(0.01, 1.0))
    torch.testing.assert_close(m.step_size().double(), initial_steps((0.01, 1.0), 4),
                               rtol=1e-5, atol=1e-7)


def _assert_padding_invariant(m, x, lengths):
    """What lies past a sequence's end changes nothing, and a sequence alone gives what
    it gives in a batch (``x``: 3 sequences of 8 steps, ``lengths`` [8, 5, 2])."""
    garbage = x.clone()
    garbage[1, 5:], garbage[2, 2:] = 50.0, -7.0
    torch.testing.assert_close(m(garbage, lengths), m(x, lengths))
    torch.testing.assert_close(m(x[1:2, :5], lengths[1:2]), m(x, lengths)[1:2])


def test_bidirectional_window_module_is_padding_invariant_and_trains_both_readers():
    torch.manual_seed(0)
    m = NoisyRNN(2, 6, 3, window=3, bidirectional=True, dt=(0.05, 1.0), noise_type="mixed",
                 noise_additive=0.1, noise_multiplicative=0.1)
    assert m.encoder.in_features == 6 and m.decoder.in_features == 12
    assert m.reverse.encoder.in_features == 6 and m.reverse.decoder is None
    x, lengths = torch.randn(3, 8, 2), torch.tensor([8, 5, 2])
    m(x, lengths).sum().backward()
    assert m.reverse.M_W.grad.abs().sum() > 0 and m.M_W.grad.abs().sum() > 0
    _assert_padding_invariant(m.eval(), x, lengths)


def test_bidirectional_reads_the_reversed_sequence():
    """The reverse reader's final state is the forward recursion of the reversed series."""
    torch.manual_seed(1)
    m = NoisyRNN(1, 4, 2, bidirectional=True).eval()
    x = torch.randn(2, 6, 1)
    h = torch.cat([m.final_state(x), m.reverse.final_state(x.flip(1))], dim=1)
    torch.testing.assert_close(m(x), m.decoder(h))


def test_reverse_reader_follows_configure():
    m = NoisyRNN(1, 4, 2, bidirectional=True)
    m.configure(noise_type="additive", noise_additive=0.3, noise_multiplicative=0.0,
                solver="midpoint", beta=0.5, gamma_a=0.1, gamma_w=0.1, linear_weight=0.5)
    assert (m.reverse.noise_additive, m.reverse.solver, m.reverse.beta) == (0.3, "midpoint", 0.5)


def test_augmentation_crops_scales_and_jitters_in_training_only():
    from sknrnn._sde import augment_sequences

    x = torch.ones(4, 50, 2)
    lengths = torch.tensor([50, 50, 30, 10])
    g = torch.Generator().manual_seed(0)
    aug, new_lengths, _ = augment_sequences(x, lengths, None, 0.2, g)
    assert (new_lengths <= lengths).all() and (new_lengths >= lengths - 2 * (0.2 * lengths).floor()).all()
    assert (aug[torch.arange(50)[None, :] >= new_lengths[:, None]] == 0).all()  # padding stays 0
    assert not torch.equal(aug[0, :40], x[0, :40])
    same, _, _ = augment_sequences(x, lengths, None, 0.2, torch.Generator().manual_seed(0))
    torch.testing.assert_close(same, aug)  # drawn from the generator given
    m = NoisyRNN(2, 4, 2, augment=0.2)
    m.eval()
    torch.testing.assert_close(m(x, lengths), m(x, lengths))  # prediction: no augmentation
    m.train()
    m.generator = torch.Generator().manual_seed(1)
    assert not torch.equal(m(x, lengths), m(x, lengths))
    assert not torch.equal(m(x, lengths, noise=False), m(x, lengths))


def test_input_clip_bounds_outliers_and_keeps_ordinary_values():
    from sknrnn._sde import clip_inputs

    x = torch.tensor([0.0, 0.5, -1.0, 2.0, 12.0, -1e6])
    y = clip_inputs(x, 3.0)
    assert (y.abs() <= 3.0).all() and y[-1] < -2.99 and y[-2] > 2.9
    torch.testing.assert_close(y[:3], x[:3], atol=0.05, rtol=0.05)  # near the identity
    assert torch.all(torch.diff(clip_inputs(torch.linspace(-20, 20, 101), 3.0)) > 0)  # monotone
    assert clip_inputs(x, None) is x
    # The module reads the clipped input: the same weights read clip(x) without clipping.
    seq = torch.randn(3, 9, 2) * 4
    clipped, plain = NoisyRNN(2, 4, 2, input_clip=2.0), NoisyRNN(2, 4, 2)
    plain.load_state_dict(clipped.state_dict())
    clipped.eval(), plain.eval()
    torch.testing.assert_close(clipped(seq), plain(clip_inputs(seq, 2.0)))
    assert not torch.allclose(clipped(seq), plain(seq))
    # What every reader of the module's input sees (the diagnostics too): the clipped input.
    assert clipped.windows(seq)[0].abs().max() <= 2.0 < seq.abs().max()
    # Gradient attacks still see the input through the clip.
    seq.requires_grad_(True)
    clipped(seq).sum().backward()
    assert seq.grad.abs().sum() > 0


def test_readout_features_pool_the_valid_states():
    from sknrnn._sde import readout_features, readout_size

    states = torch.arange(24, dtype=torch.float64).reshape(2, 4, 3)
    lengths = torch.tensor([4, 2])
    states[1, 2:] = 0.0  # past the end of the second sequence
    final = states[torch.arange(2), lengths - 1]
    torch.testing.assert_close(readout_features(final, states, lengths, "last"), final)
    mean = readout_features(final, states, lengths, "mean")
    torch.testing.assert_close(mean[:, 3:], torch.stack([states[0].mean(0), states[1, :2].mean(0)]))
    top = readout_features(final, -states, lengths, "max")  # zeros past the end must not win
    torch.testing.assert_close(top[:, 3:], torch.stack([-states[0, 0], -states[1, 0]]))
    pos = readout_features(final, states, lengths, "positions")
    # a quarter, half and three quarters of 4 steps: steps 1, 2, 3; of 2 steps: 1, 1, 2
    torch.testing.assert_close(pos[0, 3:], states[0, [0, 1, 2]].reshape(-1))
    torch.testing.assert_close(pos[1, 3:], states[1, [0, 0, 1]].reshape(-1))
    assert [readout_size(r) for r in ("last", "mean", "max", "positions")] == [1, 2, 2, 4]


@pytest.mark.parametrize("readout", ["mean", "max", "positions"])
def test_pooled_readouts_fused_equal_reference_and_ignore_padding(readout):
    x, lengths = torch.randn(3, 8, 2, dtype=torch.float64), torch.tensor([8, 5, 2])
    outs, grads = [], []
    for fused in (True, False):
        torch.manual_seed(0)
        m = NoisyRNN(2, 5, 3, window=2, bidirectional=True, readout=readout, fused=fused,
                     noise_type="mixed", noise_additive=0.1, noise_multiplicative=0.1).double()
        assert m.decoder.in_features == 10 * (4 if readout == "positions" else 2)
        m.generator = torch.Generator().manual_seed(1)
        out = m(x, lengths)
        out.square().sum().backward()
        outs.append(out)
        grads.append({k: p.grad for k, p in m.named_parameters()})
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-10, atol=1e-12)
    for k in grads[0]:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-8, atol=1e-10, msg=k)
    _assert_padding_invariant(m.eval(), x, lengths)


def test_unknown_readout_is_refused():
    with pytest.raises(ValueError, match="readout must be one of"):
        NoisyRNN(1, 4, 2, readout="attention")
