"""What would one batched recursion of both readers save against two recursions?

With ``bidirectional=True`` (the default) the fused recursion of ``sknrnn._fused`` runs
twice per batch, once per reader, each step a handful of small products and elementwise
operations on ``(B, N)`` blocks. Both readers step the same number of steps over the same
rows, so they could run as one recursion on ``(2, B, N)`` blocks: ``baddbmm`` / ``bmm``
instead of ``addmm`` / ``mm``, half the operations and half the Python per step.

This script times the loop structure alone (not sknrnn: its step and adjoint are
reproduced here in their shape, with random weights and fixed lengths), both ways, one
interleaved run per batch size, and prints the stacked loop's time as a multiple of the
two loops', and the largest relative difference between the gradients the two ways
reach (0: the same numbers). The forward pass holds the step of ``_fused._euler_step``
(mixed noise), the backward pass the adjoint step of ``_fused._Adjoint.step`` and its
per-chunk reductions.

    python benchmarks/stacked_readers.py --threads 1 --repeats 20
"""

import argparse
import time

import torch


def _weights(readers, n, generator):
    shape = (readers, n, n)
    Ka = torch.randn(shape, generator=generator) * 0.1
    Wt = torch.randn(shape, generator=generator) * 0.1
    dt = torch.rand((readers, 1, n), generator=generator) * 0.1
    return Ka, Wt, dt


def loops(batch, n, n_steps, stacked, s1=0.2, s2=0.2, seed=0):
    """A function that runs one forward and backward pass of both readers."""
    g = torch.Generator().manual_seed(seed)
    readers = 2
    Ka, Wt, dt = _weights(readers, n, g)
    # Time-major: a step's block (2, B, N) is contiguous (the recursion's operations run on
    # contiguous blocks); the reductions copy each reader's (T * B, N) rows out once a pass.
    U = torch.randn((n_steps, readers, batch, n), generator=g)
    E = torch.randn((n_steps, readers, batch, n), generator=g)
    H = torch.zeros(n_steps + 1, readers, batch, n)
    Tn = torch.empty(n_steps, readers, batch, n)
    P = torch.empty(n_steps, readers, batch, n)
    G = torch.empty(n_steps + 1, readers, batch, n)
    G[-1] = torch.randn((readers, batch, n), generator=g)  # dL/dh_T, the same in every pass
    grad_Ka = torch.zeros(readers, n, n)
    grad_W = torch.zeros(readers, n, n)
    # One reader's view of each tensor (the two-recursion layout: its own contiguous blocks).
    parts = [
        [t[:, r].contiguous() for t in (U, E, H, Tn, P, G)]
        + [Ka[r], Wt[r], dt[r], grad_Ka[r].clone(), grad_W[r].clone()]
        for r in range(readers)
    ]

    def one(U, E, H, Tn, P, G, Ka, Wt, dt, gKa, gW, stacked):
        if stacked:  # the readers on a batch axis: per step (2, B, N)
            mm = torch.bmm

            def addmm_(out, a, b):
                return out.baddbmm_(a, b)

            def rows(X):  # each reader's (steps x B) rows
                return X.transpose(0, 1).reshape(-1, n_steps * batch, n)
        else:
            mm = torch.mm

            def addmm_(out, a, b):
                return out.addmm_(a, b)

            def rows(X):
                return X.reshape(n_steps * batch, n)
        Tn.copy_(U)
        H[1:].copy_(E).mul_(s1)
        Hs, Ts, Es = H.unbind(0), Tn.unbind(0), E.unbind(0)
        for k in range(n_steps):  # t_k = tanh(h W^T + u_k); h_{k+1} += h Ka + dt t_k + s2 h E_k
            h, t, hn = Hs[k], Ts[k], Hs[k + 1]
            addmm_(t, h, Wt).tanh_()
            addmm_(hn, h, Ka).addcmul_(t, dt).addcmul_(h, Es[k], value=s2)
        D = torch.mul(Tn, Tn).mul_(-dt).add_(dt)
        Gs, Ps, Ds = G.unbind(0), P.unbind(0), D.unbind(0)
        KaT, W = Ka.transpose(-1, -2), Wt.transpose(-1, -2)
        for k in range(n_steps - 1, -1, -1):  # p_k = g d_k; g_k = g Ka^T + p W + s2 g E_k
            g = Gs[k + 1]
            p = torch.mul(g, Ds[k], out=Ps[k])
            addmm_(mm(g, KaT, out=Gs[k]), p, W).addcmul_(g, Es[k], value=s2)
        # the parameters' gradients: products over each reader's (steps x B) rows
        Hc, Gc, Pc = rows(H[:-1]), rows(G[1:]), rows(P)
        addmm_(gKa, Hc.transpose(-1, -2), Gc)
        addmm_(gW, Hc.transpose(-1, -2), Pc)

    if stacked:
        def run():
            one(U, E, H, Tn, P, G, Ka, Wt, dt, grad_Ka, grad_W, stacked=True)
            return grad_Ka, grad_W
    else:
        def run():
            for part in parts:
                one(*part, stacked=False)
            return torch.stack([q[-2] for q in parts]), torch.stack([q[-1] for q in parts])
    return run


def largest_difference(batch, n, n_steps):
    """The largest relative difference between the two ways' gradients after one pass."""
    two = loops(batch, n, n_steps, stacked=False)()
    one = loops(batch, n, n_steps, stacked=True)()
    return max(float((a - b).abs().max() / b.abs().max()) for a, b in zip(one, two))


def best_time(run, repeats):
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 16, 32, 64])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), N={args.hidden}, "
          f"{args.steps} steps, best of {args.repeats}")
    print("batch  two recursions (ms)  one stacked (ms)  stacked / two  gradients' largest relative difference")
    for batch in args.batches:
        two = loops(batch, args.hidden, args.steps, stacked=False)
        one = loops(batch, args.hidden, args.steps, stacked=True)
        t_two, t_one = 0.0, 0.0
        for _ in range(3):  # interleaved: the machine's noise falls on both
            t_two += best_time(two, args.repeats)
            t_one += best_time(one, args.repeats)
        diff = largest_difference(batch, args.hidden, args.steps)
        print(f"{batch:5d}  {1e3 * t_two / 3:19.2f}  {1e3 * t_one / 3:16.2f}  {t_one / t_two:13.2f}"
              f"  {diff:.1e}")


if __name__ == "__main__":
    main()
