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
``K' = [I + (aA)^T diag(dt), W^T]``, so that one step is one matrix product
``z = h_k @ K' + [s_1 E_k, u_k]`` (an ``addmm``), one ``tanh`` and one
``addcmul`` (plus one ``addcmul`` for multiplicative noise):

    h_{k+1} = z[:, :N] + dt * tanh(z[:, N:]) + s_2 h_k * E_k.

Backward, with ``g_{k+1} = dL/dh_{k+1}`` and ``t_k = tanh(z[:, N:])``:

    p_k = g_{k+1} * dt * (1 - t_k^2)              (= dL/du_k)
    g_k = [g_{k+1}, p_k] @ K'^T + s_2 g_{k+1} * E_k

so one step of the backward pass is one product and one or two elementwise
operations. ``[g_{k+1}, p_k]`` is written into one preallocated buffer ``S`` of
shape ``(T, B, 2N)``; once the loop is done the gradients of the parameters are
bulk reductions over time:

    dL/dK'  = sum_k h_k^T [g_{k+1}, p_k]         (one (N, T B) x (T B, 2N) product)
    dL/dK   = dL/dK' * [dt, 1]
    dL/ddt  = sum_rows(dL/dK'[:, :N] * (aA)^T) + sum_{k,b} g_{k+1} * t_k
              + sum_{k,b} g_{k+1} * (s_1 + s_2 h_k) * E_k / (2 dt)

Variable lengths: the batch is sorted by decreasing length (a permutation,
undone on the way out), so that the sequences still running at step ``k`` are
the first ``b_k`` rows and a step only touches those rows (as a packed
sequence does). A sequence that ends at step ``L`` keeps ``h_L``: the forward
pass reads it there, and the backward pass injects its gradient there.

Noise: ``xi`` has the shape ``(T, B, N)`` and defaults to one
``torch.randn`` call; on the CPU this is the same stream as ``T`` draws of
``(B, N)`` (the reference loop) whenever ``B * N`` is a multiple of 16.
"""

import torch


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


def _stepping_matrix(K, dt):
    """``K' = [I + K[:, :N] diag(dt), K[:, N:]]``."""
    n = K.shape[0]
    eye = torch.eye(n, dtype=K.dtype, device=K.device)
    return torch.cat([torch.addcmul(eye, K[:, :n], dt), K[:, n:]], dim=1)


class _EulerRecursion(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, K, dt, lengths, s1, s2, xi):
        batch, n_steps, n = u.shape
        perm, sorted_lengths, active = _active_rows(lengths, batch, n_steps)
        masked = perm is not None
        noisy = xi is not None and (s1 != 0.0 or s2 != 0.0)
        Kp = _stepping_matrix(K, dt)
        Ka, Wt = Kp[:, :n], Kp[:, n:]

        # Tb[k] starts as u_k, becomes W h_k + u_k, then t_k = tanh(W h_k + u_k).
        u_t = u.detach().transpose(0, 1)
        E = dt.sqrt() * xi if noisy else None
        if masked:
            perm_dev = perm.to(u.device)
            u_t = u_t[:, perm_dev]
            if noisy:
                E = E[:, perm_dev]
        Tb = u_t.contiguous() if masked else u_t.clone(memory_format=torch.contiguous_format)
        if masked:  # rows past their end are never stepped: keep them finite (padding may be NaN)
            ended = torch.arange(batch)[None, :] >= torch.tensor(active)[:, None]
            Tb.masked_fill_(ended.to(u.device)[..., None], 0.0)
        # H[k + 1] starts as the additive noise s1 E_k, then receives h_k K'[:, :N].
        if noisy and s1 != 0.0:
            H = torch.empty(n_steps + 1, batch, n, dtype=u.dtype, device=u.device)
            torch.mul(E, s1, out=H[1:])
            H[0].zero_()
        else:
            H = torch.zeros(n_steps + 1, batch, n, dtype=u.dtype, device=u.device)
        mult = noisy and s2 != 0.0
        for k in range(n_steps):
            b = active[k]
            if b == 0:
                break
            h = H[k, :b]
            t = Tb[k, :b].addmm_(h, Wt).tanh_()
            h_next = H[k + 1, :b].addmm_(h, Ka).addcmul_(t, dt)
            if mult:
                h_next.addcmul_(h, E[k, :b], value=s2)
        if masked:
            final = H[sorted_lengths.to(u.device), torch.arange(batch, device=u.device)]
            out = torch.empty_like(final)
            out[perm_dev] = final
        else:
            out = H[n_steps].clone()

        ctx.save_for_backward(K, dt, Kp, H, Tb, E)
        ctx.perm = perm
        ctx.active = active
        ctx.s1, ctx.s2 = s1, s2
        ctx.noisy = noisy
        return out

    @staticmethod
    def backward(ctx, grad_out):
        K, dt, Kp, H, Tb, E = ctx.saved_tensors
        perm, active = ctx.perm, ctx.active
        s1, s2 = ctx.s1, ctx.s2
        n_steps, batch, n = Tb.shape
        masked = perm is not None
        mult = ctx.noisy and s2 != 0.0
        KaT, W = Kp[:, :n].T, Kp[:, n:].T

        go = grad_out.contiguous()
        if masked:
            perm_dev = perm.to(go.device)
            go = go[perm_dev]
        # D = dt (1 - t^2), the derivative of dt * tanh.
        D = torch.mul(Tb, Tb).mul_(-dt).add_(dt)
        # G[k] = dL/dh_{k+1}, P[k] = dL/du_k.
        alloc = torch.zeros if masked else torch.empty
        G = alloc(n_steps, batch, n, dtype=go.dtype, device=go.device)
        P = alloc(n_steps, batch, n, dtype=go.dtype, device=go.device)
        b_next = 0
        for k in range(n_steps - 1, -1, -1):
            b = active[k]
            if b > b_next:  # sequences whose last step is k + 1: their gradient enters here
                G[k, b_next:b] = go[b_next:b]
            if b == 0:
                continue
            g = G[k, :b]
            p = torch.mul(g, D[k, :b], out=P[k, :b])
            if k > 0:
                g_prev = torch.mm(g, KaT, out=G[k - 1, :b]).addmm_(p, W)
                if mult:
                    g_prev.addcmul_(g, E[k, :b], value=s2)
            b_next = b
        del D

        grad_u = grad_K = grad_dt = None
        need_u, need_K, need_dt = ctx.needs_input_grad[:3]
        if need_K or need_dt:
            Hm = H[:n_steps].reshape(-1, n).T
            grad_Ka = Hm @ G.reshape(-1, n)
        if need_K:
            grad_K = torch.cat([grad_Ka * dt, Hm @ P.reshape(-1, n)], dim=1)
        if need_dt:
            grad_dt = (grad_Ka * K[:, :n]).sum(0)
            grad_dt += torch.einsum("tbn,tbn->n", G, Tb)
            if ctx.noisy:
                sigma = H[:n_steps] * s2 + s1 if s2 != 0.0 else s1
                grad_dt += torch.einsum("tbn,tbn->n", G * sigma, E) / (2 * dt)
        if need_u:
            grad_u = P
            if masked:
                inverse = torch.empty_like(perm_dev)
                inverse[perm_dev] = torch.arange(batch, device=go.device)
                grad_u = grad_u[:, inverse]
            grad_u = grad_u.transpose(0, 1)
        return grad_u, grad_K, grad_dt, None, None, None, None


def _euler_inference(u, K, dt, lengths, s1, s2, xi):
    """The same recursion without storing anything for a backward pass."""
    batch, n_steps, n = u.shape
    perm, sorted_lengths, active = _active_rows(lengths, batch, n_steps)
    noisy = xi is not None and (s1 != 0.0 or s2 != 0.0)
    Kp = _stepping_matrix(K, dt)
    Ka, Wt = Kp[:, :n], Kp[:, n:]
    u_t = u.transpose(0, 1)
    E = dt.sqrt() * xi if noisy else None
    if perm is not None:
        perm_dev = perm.to(u.device)
        u_t = u_t[:, perm_dev]
        if noisy:
            E = E[:, perm_dev]
    u_t = u_t.contiguous()
    h = u.new_zeros(batch, n)
    h_next = torch.empty_like(h)
    final = h.clone() if perm is not None else None
    b_prev = batch
    for k in range(n_steps):
        b = active[k]
        if b < b_prev and final is not None:
            final[b:b_prev] = h[b:b_prev]
        if b == 0:
            break
        hb = h[:b]
        t = u_t[k, :b].addmm_(hb, Wt).tanh_()
        hn = torch.mm(hb, Ka, out=h_next[:b]).addcmul_(t, dt)
        if noisy:
            if s1 != 0.0:
                hn.add_(E[k, :b], alpha=s1)
            if s2 != 0.0:
                hn.addcmul_(hb, E[k, :b], value=s2)
        h, h_next = h_next, h
        b_prev = b
    if final is None:
        return h
    if b_prev > 0:
        final[:b_prev] = h[:b_prev]
    out = torch.empty_like(final)
    out[perm_dev] = final
    return out


def euler_final_state(u, K, dt, lengths=None, noise_additive=0.0, noise_multiplicative=0.0, xi=None):
    """Last valid state of the Euler-Maruyama recursion, with a hand-written backward.

    Parameters
    ----------
    u : tensor ``(B, T, N)``
        The encoded input ``U x + b``.
    K : tensor ``(N, 2N)``
        ``[a A; W]^T`` (see ``NoisyRNN._stacked_weight``).
    dt : tensor ``(N,)``
        The strictly positive per-unit step.
    lengths : integer tensor ``(B,)`` or None
        Valid steps of each sequence (all ``T`` when None).
    noise_additive, noise_multiplicative : float
        ``s_1`` and ``s_2``; noise is drawn when one of them is nonzero.
    xi : tensor ``(T, B, N)`` or None
        The standard Gaussian draws; drawn here when None and noise is on.

    Returns
    -------
    tensor ``(B, N)``, differentiable w.r.t. ``u``, ``K`` and ``dt``.
    """
    s1, s2 = float(noise_additive), float(noise_multiplicative)
    batch, n_steps, n = u.shape
    if (s1 != 0.0 or s2 != 0.0) and xi is None:
        xi = torch.randn(n_steps, batch, n, dtype=u.dtype, device=u.device)
    if s1 == 0.0 and s2 == 0.0:
        xi = None
    if n_steps == 0:
        return u.new_zeros(batch, n) + 0.0 * (K.sum() + dt.sum())
    if torch.is_grad_enabled() and (u.requires_grad or K.requires_grad or dt.requires_grad):
        return _EulerRecursion.apply(u, K, dt, lengths, s1, s2, xi)
    return _euler_inference(u, K, dt, lengths, s1, s2, xi)
