"""The hand-written backward through time of the recursion in ``_sde.py``.

``euler_final_state`` integrates the Euler-Maruyama recursion of
:class:`sknrnn._sde.NoisyRNN` over whole sequences and returns the last valid
state, like the reference loop in ``NoisyRNN.final_state``, but as one
``torch.autograd.Function`` whose backward pass is written by hand instead of
being recorded step by step by autograd.

The recursion, with ``u_k = U x_k + b`` precomputed, ``K = [a A; W]^T`` (so that
``h @ K = [a A h, W h]``), the per-unit step ``dt`` and ``E_k = sqrt(dt) xi_k``:

    h_{k+1} = h_k + dt * (a A h_k) + dt * tanh(W h_k + u_k) + (s_1 + s_2 h_k) * E_k

The identity and the linear drift fold into one matrix,
``K' = [I + (aA)^T diag(dt), W^T] = [Ka, Wt]``, so that one step is two matrix
products of ``(B, N) x (N, N)`` (``addmm``), one ``tanh`` and one ``addcmul`` (plus
one ``addcmul`` for multiplicative noise), written once in ``_euler_step``:

    t_k     = tanh(h_k @ Wt + u_k)
    h_{k+1} = h_k @ Ka + dt * t_k + s_1 E_k + s_2 h_k * E_k.

The states are stored in ``H`` ``(T + 1, B, N)`` and the ``t_k`` in ``Tanh``
``(T, B, N)``, time-major, so that the ``B`` rows of a step are contiguous; ``u``
comes time-major from ``NoisyRNN.encode`` and is copied into ``Tanh``.

Backward, with ``g_{k+1} = dL/dh_{k+1}``:

    p_k = g_{k+1} * dt * (1 - t_k^2)              (= dL/du_k)
    g_k = g_{k+1} @ Ka^T + p_k @ W + s_2 g_{k+1} * E_k

so one step of the backward pass is two products and one or two elementwise
operations. The ``p_k`` are written time-major into ``P`` ``(T, B, N)``, which is
the gradient of ``u`` as it is (a ``(B, T, N)`` view with the strides of ``u``).
The time axis is walked in chunks of ``_CHUNK`` steps: the ``g`` of a chunk live
in one reused buffer, and the gradients of the parameters are products over the
chunk's ``(steps x B)`` rows:

    dL/dKa  = sum_k h_k^T g_{k+1},   dL/dW^T = sum_k h_k^T p_k
    dL/dK   = [dL/dKa * dt, dL/dW^T]
    dL/ddt  = sum_rows(dL/dKa * (aA)^T) + sum_{k,b} g_{k+1} * t_k
              + sum_{k,b} g_{k+1} * (s_1 + s_2 h_k) * E_k / (2 dt)

Variable lengths: the batch is sorted by decreasing length (a permutation,
undone on the way out), so that the sequences still running at step ``k`` are
the first ``b_k`` rows and a step only touches those rows (as a packed
sequence does). A sequence that ends at step ``L`` keeps ``h_L``: the forward
pass reads it there, and the backward pass injects its gradient there.

Irregular sampling: with a per-sample, per-step scale ``r_k > 0`` (``step_scale``,
shape ``(B, T)``) the step that reads observation ``k`` is ``dt_k = dt * r_k``:

    h_{k+1} = h_k + dt_k * (a A h_k) + dt_k * tanh(W h_k + u_k) + (s_1 + s_2 h_k) * sqrt(dt_k) xi_k

The noise is pre-scaled per row, ``E_k = sqrt(r_k) sqrt(dt) xi_k``, so that the noise
terms (and their part of ``dL/ddt``, ``E / (2 dt)``) keep the form above. The identity
no longer folds into the stepping matrix (``r_k`` differs per row): with
``M = (aA)^T diag(dt)`` (``K'`` without its identity),

    h_{k+1} = h_k + r_k * (h_k @ M + dt * t_k) + s_1 E_k + s_2 h_k * E_k,

and backward

    p_k = g_{k+1} * r_k * dt * (1 - t_k^2)        (= dL/du_k)
    g_k = g_{k+1} + (r_k g_{k+1}) @ M^T + p_k @ W + s_2 g_{k+1} * E_k

    dL/dM   = sum_k h_k^T (r_k g_{k+1})           (then dL/dK and dL/ddt as above)
    dL/ddt  = sum_rows(dL/dM * (aA)^T) + sum_{k,b} g_{k+1} * r_k * t_k
              + sum_{k,b} g_{k+1} * (s_1 + s_2 h_k) * E_k / (2 dt)

Without ``step_scale`` the recursion is the one with ``K'`` (no per-row scaling).
Rows are permuted with the batch, like ``u``; the scale of steps past a
sequence's end is never read.

Every state (``states=True``, for readouts that pool over the sequence): the
forward pass also returns ``h_1 .. h_T`` (a copy of ``H[1:]``, zero past each
sequence's end), and the backward pass adds their gradient ``dL/dh_k`` to ``g_k`` as
it forms it (the bias of the first product, ``g_k = dL/dh_k + g_{k+1} @ Ka^T + ...``;
at a sequence's last step, with the final state's gradient); the rest is unchanged.

On CUDA, opt-in: with ``SKNRNN_TRITON=1`` in the environment and Triton installed
(the ``gpu`` extra), ``euler_final_state`` runs the same recursion as Triton kernels
(``_triton.py``: one launch per pass, the same noise draws); the CPU path never
goes there.

Noise: ``xi`` has the shape ``(T, B, N)``; when it is not given it comes from
``noise_draws`` (Gaussian or Rademacher increments), which the reference loop of
``NoisyRNN`` uses too, so that both paths see the same noise under one generator
state.
"""

import os

import torch

# Steps per chunk of the backward pass (buffers of dL/dh live per chunk).
_CHUNK = 32


def _active_rows(lengths, batch, n_steps):
    """Sort by decreasing length; return (perm or None, sorted lengths, rows active per step)."""
    if lengths is None:
        return None, None, [batch] * n_steps
    lengths = lengths.detach().to("cpu", torch.long).clamp(0, n_steps)
    if bool((lengths == n_steps).all()):
        return None, None, [batch] * n_steps
    sorted_lengths, perm = torch.sort(lengths, descending=True, stable=True)
    steps = torch.arange(n_steps)
    active = (sorted_lengths[None, :] > steps[:, None]).sum(1).tolist()
    return perm, sorted_lengths, active


def _stepping_matrix(K, dt, identity=True):
    """``K' = [I + K[:, :N] diag(dt), K[:, N:]]``, or ``[K[:, :N] diag(dt), K[:, N:]]``."""
    n = K.shape[0]
    if not identity:
        return torch.cat([K[:, :n] * dt, K[:, n:]], dim=1)
    eye = torch.eye(n, dtype=K.dtype, device=K.device)
    return torch.cat([torch.addcmul(eye, K[:, :n], dt), K[:, n:]], dim=1)


def _step_scales(r, like):
    """``(B, T)`` step scales as ``(T, B)`` in the dtype and on the device of ``like``."""
    return r.detach().to(device=like.device, dtype=like.dtype).T


def _rows_unsorted(perm, tensor):
    """A ``(T, B, ...)`` tensor whose rows are in sorted order, back in the caller's order."""
    unsorted = torch.empty_like(tensor)
    unsorted[:, perm] = tensor
    return unsorted


def _rows_in_order(perm, *tensors):
    """Each ``(T, B, ...)`` tensor with its batch rows permuted (None stays None)."""
    return [None if t is None else t[:, perm] for t in tensors]


def _nonzero(level):
    """Whether a level is nonzero: a float, or a per-unit tensor ``(N,)`` (any unit)."""
    if torch.is_tensor(level):
        return bool((level != 0).any())
    return level != 0.0


def has_noise(s1, s2):
    """Whether the diffusion ``s_1 + s_2 h`` is nonzero: the one test of "is it noisy".

    ``s_1`` may be a per-unit tensor ``(N,)`` (the screen-only relative additive noise,
    ``NoisyRNN.noise_relative``); ``s_2`` is a float.
    """
    return _nonzero(s1) or s2 != 0.0


def _euler_step(
    h, t, h_next, Ka, Wt, dt, r=None, d=None, e=None, s2=0.0, fresh=False, u=None,
):
    """One Euler step of a block of rows, in place: the only place the step is written.

    ``t`` holds ``u_k`` (or ``u`` is ``u_k``, left as it is) and becomes
    ``t_k = tanh(h W^T + u_k)``. ``h_next`` becomes the
    next state: it holds the additive noise ``s_1 E_k`` and the step is added to it, or
    it is overwritten (``fresh=True``, no additive noise). Without step scales
    ``Ka = I + (aA)^T diag(dt)`` and the step is ``h Ka + dt t``; with scales ``r``
    (rows ``(b, 1)``) ``Ka = (aA)^T diag(dt)``, ``d`` is a work buffer and the step is
    ``h + r (h Ka + dt t)``. ``e`` (``E_k``) adds the multiplicative noise
    ``s_2 h E_k``.
    """
    (t.addmm_(h, Wt) if u is None else torch.addmm(u, h, Wt, out=t)).tanh_()
    if r is not None:
        torch.mm(h, Ka, out=d).addcmul_(t, dt)
        if fresh:
            torch.addcmul(h, d, r, out=h_next)
        else:
            h_next.addcmul_(d, r).add_(h)
    elif fresh:
        torch.mm(h, Ka, out=h_next).addcmul_(t, dt)
    else:
        h_next.addmm_(h, Ka).addcmul_(t, dt)
    if e is not None:
        h_next.addcmul_(h, e, value=s2)


NOISE_INCREMENTS = ("gaussian", "rademacher")
_SIGNS = {}  # (dtype, device) -> the (256, 8) table of the signs coded by each byte's bits


def _signs(like):
    key = (like.dtype, like.device)
    if key not in _SIGNS:
        bits = (torch.arange(256)[:, None] >> torch.arange(8)) & 1
        _SIGNS[key] = (2 * bits - 1).to(dtype=like.dtype, device=like.device)
    return _SIGNS[key]


def noise_draws(n_steps, batch, n, like, generator=None, increment="gaussian"):
    """The draws ``xi`` of a sequence batch, ``(T, B, N)``: the one place they are made.

    ``"gaussian"``: standard normal, one ``torch.randn`` call (Euler-Maruyama).
    ``"rademacher"``: -1 or +1 with equal probability, the same mean and variance
    per step (a weak order-1 scheme), eight signs from each random byte: several
    times cheaper to draw than Gaussians. Drawn from ``generator`` (torch's global
    one when None), in the dtype and on the device of ``like``. The reference loop
    of ``NoisyRNN`` draws here too, so that both paths see the same noise under one
    generator state.
    """
    kw = dict(dtype=like.dtype, device=like.device)
    if increment == "gaussian":
        return torch.randn(n_steps, batch, n, generator=generator, **kw)
    if increment != "rademacher":
        raise ValueError(f"increment must be one of {NOISE_INCREMENTS}, got {increment!r}.")
    size = n_steps * batch * n
    codes = torch.empty(-(-size // 8), dtype=torch.uint8, device=like.device)
    codes.random_(generator=generator)
    signs = torch.index_select(_signs(like), 0, codes.to(torch.int32))
    return signs.view(-1)[:size].view(n_steps, batch, n)


class _EulerRecursion(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, K, dt, lengths, s1, s2, xi, own_xi=False, r=None, states=False):
        batch, n_steps, n = u.shape
        ctx.set_materialize_grads(False)
        perm, sorted_lengths, active = _active_rows(lengths, batch, n_steps)
        masked = perm is not None
        noisy = xi is not None  # euler_final_state passes draws only when there is noise
        scaled = r is not None
        # Ka is I + (aA)^T diag(dt), or (aA)^T diag(dt) (= M) with step scales.
        Kp = _stepping_matrix(K, dt, identity=not scaled)
        Ka, Wt = Kp[:, :n], Kp[:, n:]
        R = _step_scales(r, u) if scaled else None

        # Tanh[k] starts as u_k, becomes W h_k + u_k, then t_k = tanh(W h_k + u_k).
        u_t = u.detach().transpose(0, 1)
        E = None
        if noisy:  # E = sqrt(dt) xi, in place when xi was drawn here
            E = xi.mul_(dt.sqrt()) if own_xi else dt.sqrt() * xi
        if masked:
            perm_dev = perm.to(u.device)
            u_t, E, R = _rows_in_order(perm_dev, u_t, E, R)
        Tanh = u_t.contiguous() if masked else u_t.clone(memory_format=torch.contiguous_format)
        if masked:  # rows past their end are never stepped: keep them finite (padding may be NaN)
            ended = torch.arange(batch)[None, :] >= torch.tensor(active)[:, None]
            Tanh.masked_fill_(ended.to(u.device)[..., None], 0.0)
            if scaled:
                R = R.masked_fill(ended.to(u.device), 1.0)
        if scaled:  # R[k]: (B, 1), the scale of each row's step k; E_k = sqrt(r_k dt) xi_k
            R = R.contiguous().unsqueeze(-1)
            if noisy:
                E.mul_(R.sqrt())
        # H[k + 1] starts as the additive noise s1 E_k, then receives h_k K'[:, :N].
        # Without additive noise every step overwrites its row of H (fresh), and only
        # the rows that have ended need zeros (the backward multiplies them by zero).
        fresh = not (noisy and _nonzero(s1))
        H = (torch.zeros if fresh and masked else torch.empty)(
            n_steps + 1, batch, n, dtype=u.dtype, device=u.device
        )
        H[0].zero_()
        if not fresh:
            torch.mul(E, s1, out=H[1:])
        mult = noisy and s2 != 0.0
        Hs, Ts = H.unbind(0), Tanh.unbind(0)
        Es = E.unbind(0) if mult else None
        Rs = R.unbind(0) if scaled else None
        drift = torch.empty(batch, n, dtype=u.dtype, device=u.device) if scaled else None
        r_k = d = e_k = None
        for k in range(n_steps):
            b = active[k]
            if b == batch:
                h, t, h_next = Hs[k], Ts[k], Hs[k + 1]
                if scaled:
                    r_k, d = Rs[k], drift
                if mult:
                    e_k = Es[k]
            elif b == 0:
                break
            else:
                h, t, h_next = Hs[k][:b], Ts[k][:b], Hs[k + 1][:b]
                if scaled:
                    r_k, d = Rs[k][:b], drift[:b]
                if mult:
                    e_k = Es[k][:b]
            _euler_step(h, t, h_next, Ka, Wt, dt, r_k, d, e_k, s2, fresh)
        if masked:
            final = H[sorted_lengths.to(u.device), torch.arange(batch, device=u.device)]
            out = torch.empty_like(final)
            out[perm_dev] = final
        else:
            out = H[n_steps].clone()
        S = None
        if states:  # h_1 .. h_T in the caller's row order, zero past each sequence's end
            if masked:
                S = _rows_unsorted(perm_dev, H[1:].masked_fill(ended.to(u.device)[..., None], 0.0))
            else:
                S = H[1:].clone()

        ctx.save_for_backward(K, dt, Kp, H, Tanh, E, R)
        ctx.perm = perm
        ctx.active = active
        ctx.s1, ctx.s2 = s1, s2
        ctx.noisy = noisy
        return out if S is None else (out, S.transpose(0, 1))

    @staticmethod
    def backward(ctx, grad_out, grad_states=None):
        K, dt, Kp, H, Tanh, E, R = ctx.saved_tensors
        perm, active = ctx.perm, ctx.active
        s1, s2 = ctx.s1, ctx.s2
        n_steps, batch, n = Tanh.shape
        masked = perm is not None
        scaled = R is not None  # then KaT is M^T and the identity is added per step
        mult = ctx.noisy and s2 != 0.0
        KaT, W = Kp[:, :n].T, Kp[:, n:].T
        need_u, need_K, need_dt = ctx.needs_input_grad[:3]

        if grad_out is None and grad_states is None:
            return (None,) * 10
        like = grad_out if grad_out is not None else grad_states
        dev, dtype = like.device, like.dtype
        grad_final = (
            grad_out.contiguous() if grad_out is not None
            else torch.zeros(batch, n, dtype=dtype, device=dev)
        )
        # dL/dh_{k+1} read from the states (time-major), added where step k receives it.
        GS = None if grad_states is None else grad_states.transpose(0, 1)
        if masked:
            perm_dev = perm.to(dev)
            grad_final = grad_final[perm_dev]
            if GS is not None:
                GS = GS[:, perm_dev]
        # P[k] = dL/du_k, time-major like Tanh (B rows of one step are contiguous).
        P = (torch.zeros if masked else torch.empty)(n_steps, batch, n, dtype=dtype, device=dev)
        Ps = P.unbind(0)
        grad_Ka = torch.zeros(n, n, dtype=dtype, device=dev)
        grad_W = torch.zeros(n, n, dtype=dtype, device=dev)
        grad_dt = torch.zeros(n, dtype=dtype, device=dev)
        noise_dt = torch.zeros(n, dtype=dtype, device=dev) if ctx.noisy else None
        # The time axis goes backwards in chunks: G (dL/dh) and D = dt (1 - t^2) live only
        # per chunk (one buffer G_all, reused), and the parameter gradients are accumulated
        # per chunk. G[j] = dL/dh_{k0 + j}, j = 0 .. k1 - k0; G[-1] comes from the chunk
        # above (its G[0]), zero at the top.
        G_all = torch.empty(min(_CHUNK, n_steps) + 1, batch, n, dtype=dtype, device=dev)
        carry = None
        Es = E.unbind(0) if mult else None
        if scaled:  # RG[j] = r_k g_{k+1}, per chunk (zero on rows that have ended)
            RG_all = torch.empty(min(_CHUNK, n_steps), batch, n, dtype=dtype, device=dev)
        b_next = 0
        for k1 in range(n_steps, 0, -_CHUNK):
            k0 = max(0, k1 - _CHUNK)
            G = G_all[: k1 - k0 + 1]
            if carry is None:
                G[-1].zero_()
            else:
                G[-1].copy_(carry)
            if masked:  # rows that have ended keep a zero gradient
                G[:-1].zero_()
            Tc = Tanh[k0:k1]
            D = torch.mul(Tc, Tc).mul_(-dt).add_(dt)
            if scaled:  # D = r dt (1 - t^2)
                Rs = R[k0:k1].unbind(0)
                D.mul_(R[k0:k1])
                RG = RG_all[: k1 - k0]
                if masked:
                    RG.zero_()
                RGs = RG.unbind(0)
            Gs, Ds = G.unbind(0), D.unbind(0)
            for k in range(k1 - 1, k0 - 1, -1):
                b = active[k]
                j = k - k0
                if b > b_next:  # sequences whose last step is k + 1: their gradient enters here
                    Gs[j + 1][b_next:b] = grad_final[b_next:b]
                    if GS is not None:  # (the other rows received GS[k] at step k + 1)
                        Gs[j + 1][b_next:b] += GS[k][b_next:b]
                if b == batch:
                    g, d, p_out, g_prev = Gs[j + 1], Ds[j], Ps[k], Gs[j]
                    if scaled:
                        r_k, rg_out = Rs[j], RGs[j]
                    if mult:
                        e_k = Es[k]
                elif b == 0:
                    continue
                else:
                    g, d, p_out, g_prev = Gs[j + 1][:b], Ds[j][:b], Ps[k][:b], Gs[j][:b]
                    if scaled:
                        r_k, rg_out = Rs[j][:b], RGs[j][:b]
                    if mult:
                        e_k = Es[k][:b]
                p = torch.mul(g, d, out=p_out)
                # The states' gradient dL/dh_k enters g_k as it is formed.
                gs = None if GS is None or k == 0 else GS[k - 1][:b]
                if scaled:
                    rg = torch.mul(g, r_k, out=rg_out)
                    if k > 0:  # g_k = g_{k+1} + (r_k g_{k+1}) M^T + p_k W
                        if gs is None:
                            torch.addmm(g, rg, KaT, out=g_prev).addmm_(p, W)
                        else:
                            torch.add(g, gs, out=g_prev).addmm_(rg, KaT).addmm_(p, W)
                        if mult:
                            g_prev.addcmul_(g, e_k, value=s2)
                elif k > 0:
                    if gs is None:
                        torch.mm(g, KaT, out=g_prev).addmm_(p, W)
                    else:
                        torch.addmm(gs, g, KaT, out=g_prev).addmm_(p, W)
                    if mult:
                        g_prev.addcmul_(g, e_k, value=s2)
                b_next = b
            carry = G[0]  # read (copied) before the next chunk writes into G_all
            Gc, Hc = G[1:], H[k0:k1].reshape(-1, n)
            Gr = RG if scaled else Gc  # the gradient reaching the drift: r_k g_{k+1}
            if need_K or need_dt:
                grad_Ka.addmm_(Hc.T, Gr.reshape(-1, n))
            if need_K:
                grad_W.addmm_(Hc.T, P[k0:k1].reshape(-1, n))
            if need_dt:
                # Sums over (time, batch) as products and column sums: einsum would
                # permute into batched dot products, several times slower at this size.
                grad_dt += torch.mul(Gr, Tc).sum((0, 1))
                if ctx.noisy:  # sum g_{k+1} * (s_1 + s_2 h_k) * E_k
                    GE = torch.mul(Gc, E[k0:k1])
                    if s2 != 0.0:
                        GE.mul_(torch.mul(H[k0:k1], s2).add_(s1))
                    elif torch.is_tensor(s1) or s1 != 1.0:
                        GE.mul_(s1)
                    noise_dt += GE.sum((0, 1))
            del D

        grad_u = grad_K = None
        if need_K:
            grad_K = torch.cat([grad_Ka * dt, grad_W], dim=1)
        if need_dt:
            grad_dt += (grad_Ka * K[:, :n]).sum(0)
            if ctx.noisy:
                grad_dt += noise_dt / (2 * dt)
        else:
            grad_dt = None
        if need_u:  # (B, T, N), a view of the time-major P (the strides of u from encode)
            if masked:
                P = _rows_unsorted(perm_dev, P)
            grad_u = P.transpose(0, 1)
        return grad_u, grad_K, grad_dt, None, None, None, None, None, None, None


def _euler_inference(u, K, dt, lengths, s1, s2, xi, r=None, states=False):
    """The same recursion without storing anything for a backward pass (but the
    states ``h_1 .. h_T`` when ``states``)."""
    batch, n_steps, n = u.shape
    perm, sorted_lengths, active = _active_rows(lengths, batch, n_steps)
    noisy = xi is not None  # euler_final_state passes draws only when there is noise
    scaled = r is not None
    Kp = _stepping_matrix(K, dt, identity=not scaled)
    Ka, Wt = Kp[:, :n], Kp[:, n:]
    u_t = u.transpose(0, 1)
    E = dt.sqrt() * xi if noisy else None
    R = _step_scales(r, u) if scaled else None
    if perm is not None:
        perm_dev = perm.to(u.device)
        u_t, E, R = _rows_in_order(perm_dev, u_t, E, R)
    u_t = u_t.contiguous()
    h = u.new_zeros(batch, n)
    h_next = torch.empty_like(h)
    t_all = torch.empty_like(h)  # t_k: u (the caller's tensor) is only read
    drift = torch.empty_like(h) if scaled else None
    if scaled:  # rows of steps past a sequence's end are never read
        R = R.contiguous().unsqueeze(-1)
        if noisy:
            E.mul_(R.sqrt())
    add = noisy and _nonzero(s1)
    mult = noisy and s2 != 0.0
    final = h.clone() if perm is not None else None
    S = u.new_zeros(n_steps, batch, n) if states else None
    b_prev = batch
    Us = u_t.unbind(0)
    r_k = d = e_k = None
    for k in range(n_steps):
        b = active[k]
        if b < b_prev and final is not None:
            final[b:b_prev] = h[b:b_prev]
        if b == 0:
            break
        if b == batch:
            hb, u_k, t, hn = h, Us[k], t_all, h_next
        else:
            hb, u_k, t, hn = h[:b], Us[k][:b], t_all[:b], h_next[:b]
        if scaled:
            r_k, d = R[k, :b], drift[:b]
        if mult:
            e_k = E[k, :b]
        if add:
            torch.mul(E[k, :b], s1, out=hn)
        _euler_step(hb, t, hn, Ka, Wt, dt, r_k, d, e_k, s2, fresh=not add, u=u_k)
        if S is not None:
            S[k, :b] = hn
        h, h_next = h_next, h
        b_prev = b
    if final is None:
        out = h
    else:
        if b_prev > 0:
            final[:b_prev] = h[:b_prev]
        out = torch.empty_like(final)
        out[perm_dev] = final
        if S is not None:
            S = _rows_unsorted(perm_dev, S)
    return out if S is None else (out, S.transpose(0, 1))


def _triton_kernels(u):
    """The module of Triton kernels (``_triton.py``) when they run this call, else None:
    CUDA tensors, ``SKNRNN_TRITON=1`` (opt-in) and Triton importable."""
    if not u.is_cuda or os.environ.get("SKNRNN_TRITON") != "1":
        return None
    try:
        from . import _triton
    except ImportError:
        return None
    return _triton if _triton.supported(u) else None


def euler_final_state(
    u, K, dt, lengths=None, noise_additive=0.0, noise_multiplicative=0.0, xi=None, step_scale=None,
    generator=None, increment="gaussian", states=False,
):
    """Last valid state of the Euler-Maruyama recursion, with a hand-written backward.

    Parameters
    ----------
    u : tensor ``(B, T, N)``
        The encoded input ``U x + b``.
    K : tensor ``(N, 2N)``
        ``[a A; W]^T`` (see ``NoisyRNN.stacked_weight``).
    dt : tensor ``(N,)``
        The strictly positive per-unit step.
    lengths : integer tensor ``(B,)`` or None
        Valid steps of each sequence (all ``T`` when None).
    noise_additive, noise_multiplicative : float
        ``s_1`` and ``s_2``; noise is drawn when one of them is nonzero. ``s_1`` may
        also be a tensor ``(N,)``, one additive level per unit (the screen-only
        relative additive noise of ``NoisyRNN.noise_relative``; no gradient flows to
        it, and the Triton kernels are not used).
    xi : tensor ``(T, B, N)`` or None
        The draws of the noise increments (Gaussian or Rademacher, mean 0 and
        variance 1); drawn here when None and noise is on.
    step_scale : tensor ``(B, T)`` or None
        Strictly positive scale of the step that reads each observation (irregular
        sampling): ``dt_k = dt * r_k``. None: 1 everywhere. No gradient flows to it.
    generator : torch.Generator or None
        Where ``xi`` is drawn from when it is drawn here (on the device of ``u``);
        torch's global generator when None.
    increment : {"gaussian", "rademacher"}
        The distribution of ``xi`` when it is drawn here (see ``noise_draws``).
    states : bool
        Whether to return every state too.

    Returns
    -------
    tensor ``(B, N)``, differentiable w.r.t. ``u``, ``K`` and ``dt``; with ``states``,
    ``(final, S)`` where ``S`` ``(B, T, N)`` holds ``h_1 .. h_T`` (``S[:, k]`` is the
    state after reading step ``k``; zero past each sequence's end), differentiable too.
    """
    s2 = float(noise_multiplicative)
    if torch.is_tensor(noise_additive):  # per unit (relative additive noise): no gradient
        s1 = noise_additive.detach().to(device=u.device, dtype=u.dtype)
    else:
        s1 = float(noise_additive)
    batch, n_steps, n = u.shape
    if step_scale is not None and tuple(step_scale.shape) != (batch, n_steps):
        raise ValueError(
            f"step_scale must have the shape (batch, T) = {(batch, n_steps)}, "
            f"got {tuple(step_scale.shape)}."
        )
    own_xi = False
    if not has_noise(s1, s2):
        xi = None  # the recursions below draw on xi exactly when it is given
    elif xi is None:
        xi = noise_draws(n_steps, batch, n, u, generator, increment)
        own_xi = True
    if n_steps == 0:
        out = u.new_zeros(batch, n) + 0.0 * (K.sum() + dt.sum())
        return (out, u.new_zeros(batch, 0, n)) if states else out
    kernels = None if torch.is_tensor(s1) else _triton_kernels(u)
    if kernels is not None:
        return kernels.euler_triton(u, K, dt, lengths, s1, s2, xi, step_scale, states)
    if torch.is_grad_enabled() and (u.requires_grad or K.requires_grad or dt.requires_grad):
        return _EulerRecursion.apply(u, K, dt, lengths, s1, s2, xi, own_xi, step_scale, states)
    return _euler_inference(u, K, dt, lengths, s1, s2, xi, step_scale, states)
