"""The Triton kernels (sknrnn._triton) against the CPU path of sknrnn._fused.

Without a GPU the kernels run on CPU tensors under Triton's interpreter
(``TRITON_INTERPRET=1``, set here while ``sknrnn._triton`` is imported, since
Triton reads it when the kernels are decorated, and during this file's tests); with CUDA they run compiled on
the GPU (``benchmarks/gpu_check.sh``), and the reference is the CPU path.
"""

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from sknrnn import _fused
from sknrnn._fused import euler_final_state
from sknrnn._sde import NoisyRNN

COMPILED = torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1"
DEVICE = "cuda" if COMPILED else "cpu"


def _import_kernels():
    if COMPILED:
        pytest.importorskip("triton")
        return importlib.import_module("sknrnn._triton")
    previous = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        pytest.importorskip("triton")
        module = importlib.import_module("sknrnn._triton")
        if type(module._forward_kernel).__name__ != "InterpretedFunction":
            module = importlib.reload(module)  # imported compiled earlier in this process
        return module
    finally:
        if previous is None:
            del os.environ["TRITON_INTERPRET"]
        else:
            os.environ["TRITON_INTERPRET"] = previous


kernels = _import_kernels()


@pytest.fixture(autouse=True)
def _interpreter(monkeypatch):
    """Triton reads the variable at launches too: set for this file's tests only."""
    if not COMPILED:
        monkeypatch.setenv("TRITON_INTERPRET", "1")

NOISES = {
    "none": (0.0, 0.0),
    "additive": (0.3, 0.0),
    "multiplicative": (0.0, 0.4),
    "mixed": (0.3, 0.4),
}
LENGTHS = {"full": None, "padded": [6, 2, 0, 4, 5, 1, 6, 3, 6, 2, 4, 5, 6, 1, 6, 3, 5, 6, 2]}
# Float32: the kernels sum the products in another order, tanh comes from exp.
TOL = 1e-5


def _inputs(batch, n_steps, n, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    kw = dict(dtype=dtype, generator=g)
    u = torch.randn(batch, n_steps, n, **kw)
    K = torch.randn(n, 2 * n, **kw) / n**0.5
    dt = 0.05 + 0.5 * torch.rand(n, **kw)
    xi = torch.randn(n_steps, batch, n, **kw)
    r = 0.1 + 2 * torch.rand(batch, n_steps, **kw)
    return u, K, dt, xi, r


def _error(a, b):
    """Largest difference, relative to the largest entry of the reference (at least 1)."""
    a, b = a.detach().cpu(), b.detach().cpu()
    return float((a - b).abs().max() / max(1.0, float(b.abs().max())))


def _run(fn, u, K, dt, device, weights, **kw):
    """Final state, states and the gradients of a weighted sum of both w.r.t. u, K, dt."""
    u, K, dt = (t.detach().to(device).requires_grad_() for t in (u, K, dt))
    kw = {k: v.to(device) if torch.is_tensor(v) else v for k, v in kw.items()}
    final, states = fn(u, K, dt, states=True, **kw)
    w1, w2 = (w.to(device) for w in weights)
    grads = torch.autograd.grad((final * w1).sum() + (states * w2).sum(), (u, K, dt))
    return (final, states, *grads)


@pytest.mark.parametrize("n", [16, 32])
@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("times", [False, True])
def test_states_and_gradients_match_cpu_path(n, noise, lengths, times):
    # 19 rows: two programs of 16 rows, the second one partly past the batch.
    batch, n_steps = 19, 6
    u, K, dt, xi, r = _inputs(batch, n_steps, n)
    s1, s2 = NOISES[noise]
    lengths = None if LENGTHS[lengths] is None else torch.tensor(LENGTHS[lengths])
    weights = (torch.randn(batch, n), torch.randn(batch, n_steps, n))
    kw = dict(lengths=lengths, xi=xi, step_scale=r if times else None)
    ref = _run(
        lambda u, K, dt, **kw: euler_final_state(u, K, dt, noise_additive=s1,
                                                 noise_multiplicative=s2, **kw),
        u, K, dt, "cpu", weights, **kw,
    )
    out = _run(
        lambda u, K, dt, **kw: kernels.euler_triton(u, K, dt, s1=s1, s2=s2, **kw),
        u, K, dt, DEVICE, weights, **kw,
    )
    for name, a, b in zip(("final", "states", "grad u", "grad K", "grad dt"), out, ref):
        assert _error(a, b) < TOL, name


@pytest.mark.parametrize("noise", ["none", "mixed"])
@pytest.mark.parametrize("times", [False, True])
def test_inference_matches_cpu_path(noise, times):
    batch, n_steps, n = 19, 5, 16
    u, K, dt, xi, r = _inputs(batch, n_steps, n, seed=1)
    s1, s2 = NOISES[noise]
    lengths = torch.tensor(LENGTHS["padded"])
    scale = r if times else None
    with torch.no_grad():
        ref = euler_final_state(u, K, dt, lengths, s1, s2, xi, scale, states=True)
        dev = [t.to(DEVICE) for t in (u, K, dt, lengths, xi, r)]
        out = kernels.euler_triton(
            *dev[:4], s1, s2, dev[4], dev[5] if times else None, states=True
        )
        final = kernels.euler_triton(*dev[:4], s1, s2, dev[4], dev[5] if times else None)
    assert _error(out[0], ref[0]) < TOL
    assert _error(out[1], ref[1]) < TOL
    assert _error(final, ref[0]) < TOL


def test_padding_is_never_read():
    # NaN in the input and the step scales past each sequence's end change nothing.
    batch, n_steps, n = 19, 6, 16
    u, K, dt, xi, r = _inputs(batch, n_steps, n, seed=2)
    lengths = torch.tensor(LENGTHS["padded"])
    past = torch.arange(n_steps)[None, :] >= lengths[:, None]
    weights = (torch.randn(batch, n), torch.randn(batch, n_steps, n))

    def run(u, r):
        return _run(
            lambda u, K, dt, **kw: kernels.euler_triton(u, K, dt, s1=0.3, s2=0.4, **kw),
            u, K, dt, DEVICE, weights, lengths=lengths, xi=xi, step_scale=r,
        )

    clean = run(u, r)
    dirty = run(u.masked_fill(past[..., None], float("nan")), r.masked_fill(past, float("nan")))
    for a, b in zip(clean, dirty):
        assert torch.isfinite(b).all()
    for a, b in zip(clean[:4], dirty[:4]):  # grad u: zero past the ends in both
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(clean[4], dirty[4], rtol=0, atol=0)


def test_gradcheck_float64():
    # Finite differences of the kernels themselves, in float64: N = 4 (< the tile's 16
    # columns), padding, step scales, mixed noise, the final state and every state.
    batch, n_steps, n = 3, 4, 4
    u, K, dt, xi, r = _inputs(batch, n_steps, n, dtype=torch.float64, seed=3)
    lengths = torch.tensor([4, 1, 3], device=DEVICE)
    xi, r = xi.to(DEVICE), r.to(DEVICE)

    def fn(u, K, dt):
        return kernels.euler_triton(u, K, dt, lengths, 0.3, 0.4, xi, r, states=True)

    inputs = tuple(t.to(DEVICE).requires_grad_() for t in (u, K, dt))
    assert torch.autograd.gradcheck(fn, inputs, atol=1e-6, rtol=1e-5)


def test_float64_matches_cpu_path_to_round_off():
    # In float64 the only differences left are the order of the sums (and tanh).
    batch, n_steps, n = 19, 6, 16
    u, K, dt, xi, r = _inputs(batch, n_steps, n, dtype=torch.float64, seed=4)
    weights = (torch.randn(batch, n, dtype=torch.float64),
               torch.randn(batch, n_steps, n, dtype=torch.float64))
    kw = dict(lengths=torch.tensor(LENGTHS["padded"]), xi=xi, step_scale=r)
    ref = _run(lambda u, K, dt, **kw: euler_final_state(u, K, dt, noise_additive=0.3,
                                                        noise_multiplicative=0.4, **kw),
               u, K, dt, "cpu", weights, **kw)
    out = _run(lambda u, K, dt, **kw: kernels.euler_triton(u, K, dt, s1=0.3, s2=0.4, **kw),
               u, K, dt, DEVICE, weights, **kw)
    for a, b in zip(out, ref):
        assert _error(a, b) < 1e-12


def _module_run(use_kernels, monkeypatch, noise, increment="gaussian"):
    """A bidirectional module with windows, input clip, mean readout and times, trained
    one step (noise on): its output and parameter gradients."""
    # What euler_final_state does on CUDA with SKNRNN_TRITON=1, or the CPU path.
    monkeypatch.setattr(_fused, "_triton_kernels", lambda u: kernels if use_kernels else None)
    s1, s2 = NOISES[noise]
    torch.manual_seed(0)
    module = NoisyRNN(
        2, 16, 3, noise_type=noise, noise_additive=s1, noise_multiplicative=s2, dt=(0.05, 0.5),
        window=2, bidirectional=True, readout="mean", input_clip=2.0, init_std=0.2,
        noise_increment=increment,
    ).train()
    g = torch.Generator().manual_seed(5)
    x = torch.randn(5, 9, 2, generator=g)
    lengths = torch.tensor([9, 4, 7, 1, 9])
    times = 0.5 + torch.rand(5, 9, generator=g)
    module.generator = torch.Generator().manual_seed(6)
    out = module(x, lengths, times)
    out.square().sum().backward()
    return out, {k: p.grad for k, p in module.named_parameters()}


@pytest.mark.skipif(COMPILED, reason="the module runs on the CPU here")
@pytest.mark.parametrize("noise, increment", [("additive", "gaussian"), ("mixed", "rademacher")])
def test_module_both_directions_match_cpu_path(noise, increment, monkeypatch):
    # Through NoisyRNN: both directions (the reverse one reads reversed sequences),
    # windows, input clip, mean readout, times, the noise from the module's generator.
    out, grads = _module_run(True, monkeypatch, noise, increment)
    ref, ref_grads = _module_run(False, monkeypatch, noise, increment)
    assert _error(out, ref) < TOL
    assert grads.keys() == ref_grads.keys()
    for k in grads:
        assert _error(grads[k], ref_grads[k]) < TOL, k


def test_cpu_path_never_dispatches(monkeypatch):
    # Opting in changes nothing on CPU tensors: the CPU path runs, bit for bit.
    monkeypatch.setenv("SKNRNN_TRITON", "1")
    u, K, dt, xi, r = _inputs(4, 5, 16, seed=7)
    assert _fused._triton_kernels(u) is None
    a = euler_final_state(u, K, dt, None, 0.3, 0.4, xi, r)
    monkeypatch.delenv("SKNRNN_TRITON")
    b = euler_final_state(u, K, dt, None, 0.3, 0.4, xi, r)
    assert torch.equal(a, b)


@pytest.mark.skipif(not COMPILED, reason="needs CUDA")
def test_cuda_dispatch_and_fit_match(monkeypatch):
    # On a GPU: with SKNRNN_TRITON=1 the kernels run, and a noisy fit on CUDA predicts
    # as the CUDA fit without them (the same CUDA draws), to float32 round-off; a
    # deterministic one as the CPU fit.
    from sknrnn import NoisyRNNClassifier

    monkeypatch.delenv("SKNRNN_TRITON", raising=False)
    assert _fused._triton_kernels(torch.zeros(2, 3, 16, device="cuda")) is None
    monkeypatch.setenv("SKNRNN_TRITON", "1")
    assert _fused._triton_kernels(torch.zeros(2, 3, 16, device="cuda")) is kernels
    rng = np.random.RandomState(0)
    y = rng.randint(2, size=60)
    X = rng.normal(size=(60, 12)) + y[:, None]
    kw = dict(hidden_size=16, max_iter=3, random_state=0)

    def proba(device, triton, **params):
        monkeypatch.setenv("SKNRNN_TRITON", "1" if triton else "0")
        clf = NoisyRNNClassifier(device=device, **kw, **params)
        return clf.fit(X, y).predict_proba(X)

    mixed = dict(noise_type="mixed", noise_level=(0.1, 0.1))
    np.testing.assert_allclose(proba("cuda", True, **mixed), proba("cuda", False, **mixed),
                               atol=1e-4)
    np.testing.assert_allclose(proba("cuda", True, noise_type="none"),
                               proba("cpu", False, noise_type="none"), atol=1e-4)


# Compiles both kernels (all switches on) for a Hopper GPU with the ptxas that Triton
# ships: no GPU needed. Prints the shared memory each one asks for.
_COMPILE = """
import inspect, torch, triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from sknrnn import _triton

for kernel, flags in [
    (_triton._forward_kernel, dict(SCALED=True, NOISY=True, ADD=True, MULT=True,
                                   KEEP_STATES=True, KEEP_TANH=True)),
    (_triton._backward_kernel, dict(SCALED=True, NOISY=True, MULT=True, HAS_GS=True,
                                    NEED_DT=True)),
]:
    names = list(inspect.signature(kernel.fn).parameters)
    consts = dict(BLOCK_B=_triton.BLOCK_B, BLOCK_N=_triton.MAX_N[torch.float32], **flags)
    types = {name: "*fp32" for name in names}
    types.update(LEN="*i32", batch="i32", n_steps="i32", n="i32")
    types.update({name: "constexpr" for name in consts})
    source = ASTSource(fn=kernel, signature=types,
                       constexprs={(names.index(c),): v for c, v in consts.items()})
    print(triton.compile(source, target=GPUTarget("cuda", 90, 32)).metadata.shared)
"""


def test_kernels_compile_for_a_gpu():
    # The interpreter does not compile: this catches what only the compiler rejects.
    import triton

    ptxas = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "ptxas")
    if not os.path.exists(ptxas):
        pytest.skip("Triton without its ptxas")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    done = subprocess.run([sys.executable, "-c", _COMPILE], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    shared = [int(line) for line in done.stdout.split()]
    assert len(shared) == 2 and max(shared) <= 227 * 1024  # an H100's shared memory per block
