"""The Euler recursion of ``_fused.py`` as Triton kernels (opt-in, CUDA tensors).

The same recursion, the same noise draws and the same hand-written backward as
``_fused._EulerRecursion`` (see that module for the equations), but each pass is one
kernel launch: the loop over the steps runs inside the kernel, each program owns a
tile of ``BLOCK_B`` batch rows, and the stepping matrix ``K' = [Ka, W^T]`` stays on
chip (in registers) across the steps, as persistent RNN kernels do.

- ``_forward_kernel``: the forward pass. It keeps the states ``H`` ``(T + 1, B, N)``
  (``H[0] = 0``, zero past each sequence's end) and ``t_k`` in ``Tanh`` ``(T, B, N)``
  for the backward pass and the pooled readouts; for inference it keeps nothing
  (or only the states).
- ``_backward_kernel``: the recurrence of ``g_k = dL/dh_k`` and ``p_k = dL/du_k``,
  written time-major into ``G`` (``r_k g_{k+1}``, the gradient that reaches the drift)
  and ``P`` (the gradient of ``u``), with per-program partial sums of the two
  elementwise parts of ``dL/ddt``. The gradients of the matrices are then two
  matmuls over the stored states (``H^T G`` and ``H^T P``), in torch.

Unlike the CPU path, the rows are not sorted by length: a row past its end is
masked (its state is held, its stored state and gradient are zero), so that
nothing moves between the host and the device. The noise ``E_k = sqrt(dt) xi_k``
(times ``sqrt(r_k)`` with step scales) is formed in the kernels from the draws
``xi`` of ``_fused.noise_draws``, so the same generator state gives the same noise
as the CPU path. Differences to the CPU path are float32 round-off (another order
of the sums in the products, ``tanh`` written with ``exp``).

Off by default: ``_fused.euler_final_state`` dispatches here only for CUDA
tensors, when Triton imports and ``SKNRNN_TRITON=1`` is set. The tests call
``euler_triton`` directly, on CPU tensors under Triton's interpreter
(``TRITON_INTERPRET=1`` set before this module is imported).
"""

import torch
import triton
import triton.language as tl

from ._fused import _step_scales, _stepping_matrix, has_noise

# Batch rows per program (tl.dot needs at least 16).
BLOCK_B = 16


# The largest N per dtype: both N x N blocks of K' live on chip (in shared memory for the
# products: 170 KB for the backward kernel at N = 128 in float32, of an H100's 227 KB).
MAX_N = {torch.float32: 128, torch.float64: 64}


def supported(u):
    """Whether the kernels take ``u`` ``(B, T, N)`` (32-bit offsets, float32 / float64,
    ``N <= MAX_N``); else ``euler_final_state`` runs the torch path."""
    batch, n_steps, n = u.shape
    return (
        n <= MAX_N.get(u.dtype, 0) and batch > 0 and (n_steps + 1) * batch * n < 2**31
    )


@triton.jit
def _tanh(x):
    """``tanh`` from ``exp`` (no libdevice under the interpreter); a series near 0."""
    a = tl.abs(x)
    e = tl.exp(-2.0 * a)
    big = (1.0 - e) / (1.0 + e)
    x2 = x * x
    # The Taylor series to x^11: its remainder is below 3e-15 of tanh where it is used.
    small = x * (1.0 + x2 * (-0.333333333333333333 + x2 * (0.133333333333333333 + x2 * (
        -0.053968253968253968 + x2 * (0.021869488536155203 + x2 * -0.008863235529902197)))))
    return tl.where(a < 0.125, small, tl.where(x < 0, -big, big))


@triton.jit
def _setup(KP, DT, SDT, LEVELS, LEN, batch, n, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
           TRANSPOSED: tl.constexpr):
    """What a program holds across the steps: its rows, the columns, their masks, the
    offsets of its tile in one step, the two blocks of ``K'`` (``Ka, W^T``, or
    transposed: ``Ka^T, W``), ``dt``, ``sqrt(dt)``, ``s_1``, ``s_2`` and the rows' lengths."""
    rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = tl.arange(0, BLOCK_N)
    row_ok = rows < batch
    col_ok = cols < n
    tile_ok = row_ok[:, None] & col_ok[None, :]
    offs = rows[:, None] * n + cols[None, :]
    if TRANSPOSED:
        mat = cols[None, :] * (2 * n) + cols[:, None]
    else:
        mat = cols[:, None] * (2 * n) + cols[None, :]
    mat_ok = col_ok[:, None] & col_ok[None, :]
    first = tl.load(KP + mat, mask=mat_ok, other=0.0)
    second = tl.load(KP + n + mat, mask=mat_ok, other=0.0)
    dt = tl.load(DT + cols, mask=col_ok, other=0.0)[None, :]
    sdt = tl.load(SDT + cols, mask=col_ok, other=0.0)[None, :]
    s1 = tl.load(LEVELS)
    s2 = tl.load(LEVELS + 1)
    length = tl.load(LEN + rows, mask=row_ok, other=0)
    return rows, row_ok, tile_ok, offs, first, second, dt, sdt, s1, s2, length


@triton.jit
def _noise(XI, SR, offs, rows, load_ok, rows_ok, sdt, SCALED: tl.constexpr):
    """``E_k = sqrt(dt) xi_k`` (times ``sqrt(r_k)`` per row with step scales)."""
    e = tl.load(XI + offs, mask=load_ok, other=0.0) * sdt
    if SCALED:
        e = e * tl.load(SR + rows, mask=rows_ok, other=0.0)[:, None]
    return e


@triton.jit
def _forward_kernel(
    U, XI, R, SR, LEN, KP, DT, SDT, LEVELS, H, TANH, OUT,
    batch, n_steps, n,
    BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr, SCALED: tl.constexpr, NOISY: tl.constexpr,
    ADD: tl.constexpr, MULT: tl.constexpr, KEEP_STATES: tl.constexpr, KEEP_TANH: tl.constexpr,
):
    rows, row_ok, tile_ok, offs, Ka, Wt, dt, sdt, s1, s2, length = _setup(
        KP, DT, SDT, LEVELS, LEN, batch, n, BLOCK_B, BLOCK_N, False
    )
    step = batch * n
    h = tl.zeros([BLOCK_B, BLOCK_N], dtype=U.dtype.element_ty)
    for k in range(0, n_steps):
        live = k < length
        act = live[:, None]
        load_ok = tile_ok & act
        # Padding past a sequence's end may hold anything (NaN): never read.
        u = tl.load(U + offs, mask=load_ok, other=0.0)
        t = _tanh(tl.dot(h, Wt, input_precision="ieee") + u)
        drift = tl.dot(h, Ka, input_precision="ieee") + dt * t
        if SCALED:
            r = tl.load(R + rows, mask=row_ok & live, other=1.0)[:, None]
            h_next = h + r * drift
        else:
            h_next = drift
        if NOISY:
            e = _noise(XI, SR, offs, rows, load_ok, row_ok & live, sdt, SCALED)
            if ADD:
                h_next += s1 * e
            if MULT:
                h_next += s2 * h * e
        h_next = tl.where(act, h_next, 0.0)
        if KEEP_STATES:
            tl.store(H + step + offs, h_next, mask=tile_ok)
        if KEEP_TANH:
            tl.store(TANH + offs, tl.where(act, t, 0.0), mask=tile_ok)
        h = tl.where(act, h_next, h)
        U += step
        XI += step
        H += step
        TANH += step
        R += batch
        SR += batch
    tl.store(OUT + offs, h, mask=tile_ok)


@triton.jit
def _backward_kernel(
    GF, GS, H, TANH, XI, R, SR, LEN, KP, DT, SDT, LEVELS, G, P, PART,
    batch, n_steps, n,
    BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr, SCALED: tl.constexpr, NOISY: tl.constexpr,
    MULT: tl.constexpr, HAS_GS: tl.constexpr, NEED_DT: tl.constexpr,
):
    # Transposed reads of K': KaT[i, j] = Ka[j, i], W[i, j] = Wt[j, i].
    rows, row_ok, tile_ok, offs, KaT, W, dt, sdt, s1, s2, length = _setup(
        KP, DT, SDT, LEVELS, LEN, batch, n, BLOCK_B, BLOCK_N, True
    )
    grad_final = tl.load(GF + offs, mask=tile_ok, other=0.0)
    step = batch * n
    last = n_steps - 1
    # Start at step T - 1 and walk back.
    H += last * step
    TANH += last * step
    XI += last * step
    GS += last * step
    G += last * step
    P += last * step
    R += last * batch
    SR += last * batch
    g = tl.zeros([BLOCK_B, BLOCK_N], dtype=GF.dtype.element_ty)
    acc_t = tl.zeros([BLOCK_N], dtype=GF.dtype.element_ty)
    acc_e = tl.zeros([BLOCK_N], dtype=GF.dtype.element_ty)
    for kk in range(0, n_steps):
        k = last - kk
        live = k < length
        act = live[:, None]
        load_ok = tile_ok & act
        # g = g_{k+1}: the final state's gradient enters at each sequence's last step,
        # the states' gradient dL/dh_{k+1} at every valid step.
        g = tl.where((k == length - 1)[:, None], grad_final, g)
        if HAS_GS:
            g += tl.load(GS + offs, mask=load_ok, other=0.0)
        t = tl.load(TANH + offs, mask=load_ok, other=0.0)
        d = dt - t * t * dt
        if SCALED:
            r = tl.load(R + rows, mask=row_ok & live, other=0.0)[:, None]
            gr = g * r
            p = gr * d
        else:
            gr = g
            p = g * d
        tl.store(P + offs, p, mask=tile_ok)
        tl.store(G + offs, gr, mask=tile_ok)
        g_prev = tl.dot(gr, KaT, input_precision="ieee") + tl.dot(p, W, input_precision="ieee")
        if SCALED:
            g_prev += g
        if NEED_DT:
            acc_t += tl.sum(gr * t, axis=0)
        if NOISY:
            e = _noise(XI, SR, offs, rows, load_ok, row_ok & live, sdt, SCALED)
            h = tl.load(H + offs, mask=load_ok, other=0.0)
            if NEED_DT:
                acc_e += tl.sum(g * e * (s1 + s2 * h), axis=0)
            if MULT:
                g_prev += s2 * g * e
        g = tl.where(act, g_prev, 0.0)
        H -= step
        TANH -= step
        XI -= step
        GS -= step
        G -= step
        P -= step
        R -= batch
        SR -= batch
    part = PART + tl.program_id(0) * 2 * BLOCK_N + tl.arange(0, BLOCK_N)
    tl.store(part, acc_t)
    tl.store(part + BLOCK_N, acc_e)


def _block_n(n):
    return max(16, triton.next_power_of_2(n))


class _Prepared:
    """What both kernels read: the tensors of one call, laid out time-major."""

    def __init__(self, u, K, dt, lengths, s1, s2, xi, r):
        batch, n_steps, n = u.shape
        self.shape = (batch, n_steps, n)
        self.dtype, self.device = u.dtype, u.device
        self.s1, self.s2 = s1, s2
        self.noisy = xi is not None and has_noise(s1, s2)
        self.scaled = r is not None
        self.Kp = _stepping_matrix(K, dt, identity=not self.scaled).contiguous()
        self.dt = dt.detach().contiguous()
        self.sdt = self.dt.sqrt()
        self.levels = torch.tensor([s1, s2], dtype=u.dtype, device=u.device)
        self.u = u.detach().transpose(0, 1).contiguous()
        self.xi = xi.contiguous() if self.noisy else self.u  # (not read when not noisy)
        if lengths is None:
            self.lengths = torch.full((batch,), n_steps, dtype=torch.int32, device=u.device)
        else:
            self.lengths = lengths.detach().to(u.device, torch.int32).clamp(0, n_steps).contiguous()
        if self.scaled:
            self.R = _step_scales(r, u).contiguous()
            self.SR = self.R.sqrt()
        else:
            self.R = self.SR = self.lengths  # (not read)

    def grid(self):
        return (triton.cdiv(self.shape[0], BLOCK_B),)


def _forward(prep, keep_states, keep_tanh):
    """Run the forward kernel: ``(final (B, N), H (T + 1, B, N) or None, Tanh or None)``."""
    batch, n_steps, n = prep.shape
    kw = dict(dtype=prep.dtype, device=prep.device)
    out = torch.empty(batch, n, **kw)
    H = torch.empty(n_steps + 1, batch, n, **kw) if keep_states else out
    if keep_states:
        H[0].zero_()
    Tanh = torch.empty(n_steps, batch, n, **kw) if keep_tanh else out
    _forward_kernel[prep.grid()](
        prep.u, prep.xi, prep.R, prep.SR, prep.lengths, prep.Kp, prep.dt, prep.sdt, prep.levels,
        H, Tanh, out, batch, n_steps, n,
        BLOCK_B=BLOCK_B, BLOCK_N=_block_n(n), SCALED=prep.scaled, NOISY=prep.noisy,
        ADD=prep.noisy and prep.s1 != 0.0, MULT=prep.noisy and prep.s2 != 0.0,
        KEEP_STATES=keep_states, KEEP_TANH=keep_tanh,
    )
    return out, (H if keep_states else None), (Tanh if keep_tanh else None)


class _TritonRecursion(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, K, dt, lengths, s1, s2, xi, r, states):
        ctx.set_materialize_grads(False)
        prep = _Prepared(u, K, dt, lengths, s1, s2, xi, r)
        out, H, Tanh = _forward(prep, keep_states=True, keep_tanh=True)
        prep.u = None  # (read by the forward pass only)
        ctx.save_for_backward(K, H, Tanh)
        ctx.prep = prep
        if not states:
            return out
        return out, H[1:].clone().transpose(0, 1)

    @staticmethod
    def backward(ctx, grad_out, grad_states=None):
        K, H, Tanh = ctx.saved_tensors
        prep = ctx.prep
        batch, n_steps, n = prep.shape
        need_u, need_K, need_dt = ctx.needs_input_grad[:3]
        if grad_out is None and grad_states is None:
            return (None,) * 9
        kw = dict(dtype=prep.dtype, device=prep.device)
        grad_final = (
            grad_out.contiguous() if grad_out is not None else torch.zeros(batch, n, **kw)
        )
        GS = None if grad_states is None else grad_states.transpose(0, 1).contiguous()
        G = torch.empty(n_steps, batch, n, **kw)
        P = torch.empty(n_steps, batch, n, **kw)
        grid = prep.grid()
        block_n = _block_n(n)
        part = torch.empty(grid[0], 2, block_n, **kw)
        _backward_kernel[grid](
            grad_final, GS if GS is not None else G, H, Tanh, prep.xi, prep.R, prep.SR,
            prep.lengths, prep.Kp, prep.dt, prep.sdt, prep.levels, G, P, part,
            batch, n_steps, n,
            BLOCK_B=BLOCK_B, BLOCK_N=block_n, SCALED=prep.scaled, NOISY=prep.noisy,
            MULT=prep.noisy and prep.s2 != 0.0, HAS_GS=GS is not None, NEED_DT=bool(need_dt),
        )
        grad_K = grad_dt = None
        if need_K or need_dt:  # the parameter gradients: products over the (T B) rows
            Hk = H[:-1].reshape(-1, n).T
            grad_Ka = Hk @ G.reshape(-1, n)
        if need_K:
            grad_K = torch.cat([grad_Ka * prep.dt, Hk @ P.reshape(-1, n)], dim=1)
        if need_dt:
            sums = part.sum(0)[:, :n]
            grad_dt = sums[0] + (grad_Ka * K[:, :n]).sum(0)
            if prep.noisy:
                grad_dt += sums[1] / (2 * prep.dt)
        grad_u = P.transpose(0, 1) if need_u else None
        return grad_u, grad_K, grad_dt, None, None, None, None, None, None


def euler_triton(u, K, dt, lengths=None, s1=0.0, s2=0.0, xi=None, step_scale=None, states=False):
    """``_fused.euler_final_state`` on the kernels, with the draws ``xi`` given (or None).

    The arguments and the returns are those of ``euler_final_state`` (``xi`` is only
    read when ``s1`` or ``s2`` is nonzero); a backward pass is recorded when a
    gradient is wanted, else the inference kernel runs (keeping the states only when
    ``states``).
    """
    s1, s2 = float(s1), float(s2)
    if not has_noise(s1, s2):
        xi = None
    if torch.is_grad_enabled() and (u.requires_grad or K.requires_grad or dt.requires_grad):
        return _TritonRecursion.apply(u, K, dt, lengths, s1, s2, xi, step_scale, states)
    prep = _Prepared(u, K, dt, lengths, s1, s2, xi, step_scale)
    out, H, _ = _forward(prep, keep_states=states, keep_tanh=False)
    return out if not states else (out, H[1:].transpose(0, 1))
