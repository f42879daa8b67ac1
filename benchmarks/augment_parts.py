"""Which part of ``augment`` helps or hurts: crop, scaling, jitter, slice-and-resample.

A screen behind the choice to keep ``augment=0`` by default. Each run replaces
``sknrnn._sde.augment_sequences`` (training-time only) with one that applies the
named parts at level ``a``: ``crop`` (up to ``floor(a L)`` observations off each
end, as the estimator does), ``scale`` (``(1 + a e) x``), ``jit`` (``+ a z``),
``roll`` (a circular shift by up to ``a L``, length kept),
``slice`` (crop by up to ``a L`` at each end, then resample linearly back to
``L`` observations, the window slicing of Le Guennec et al. 2016). Everything
else is ``benchmarks/accuracy.py``'s run (same splits and perturbations).

    python benchmarks/augment_parts.py --modes crop scale cropjit slice \
        --datasets OSULeaf ACSF1 --seeds 2 --level 0.2 \
        --log benchmarks/results/augment_parts_VERSION.jsonl
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import accuracy  # noqa: E402


def _augment(mode):
    import torch

    from sknrnn._sde import observed_steps

    def augment(x, lengths, step_scale, level, generator=None):
        batch, n_steps, channels = x.shape
        kw = dict(device=x.device, generator=generator)
        if lengths is None:
            lengths = torch.full((batch,), n_steps, dtype=torch.long, device=x.device)
        kept = lengths
        gather = lambda i: x.gather(1, i.unsqueeze(-1).expand(-1, -1, channels))  # noqa: E731
        if "crop" in mode:
            most = torch.floor(level * lengths.to(torch.float64)).to(torch.long)
            start = torch.floor(torch.rand(batch, dtype=torch.float64, **kw) * (most + 1)).long()
            cut = torch.floor(torch.rand(batch, dtype=torch.float64, **kw) * (most + 1)).long()
            kept = (lengths - start - cut).clamp_min(1)
            k = torch.arange(n_steps, device=x.device)[None, :]
            x = gather((k + start[:, None]).clamp_max(n_steps - 1))
        if "roll" in mode:
            shift = torch.floor(torch.rand(batch, dtype=torch.float64, **kw) * level * lengths).long()
            k = torch.arange(n_steps, device=x.device)[None, :]
            x = gather(torch.remainder(k + shift[:, None], lengths[:, None]).clamp_max(n_steps - 1))
        if "slice" in mode:
            L = lengths.to(torch.float64)
            start = torch.rand(batch, dtype=torch.float64, **kw) * level * L
            cut = torch.rand(batch, dtype=torch.float64, **kw) * level * L
            k = torch.arange(n_steps, device=x.device, dtype=torch.float64)[None, :]
            span = (L - 1 - start - cut).clamp_min(0) / (L - 1).clamp_min(1)
            pos = torch.minimum(start[:, None] + k * span[:, None], (L - 1)[:, None])
            lo = pos.floor().long().clamp_max(n_steps - 1)
            frac = (pos - lo).to(x.dtype).unsqueeze(-1)
            x = (1 - frac) * gather(lo) + frac * gather((lo + 1).clamp_max(n_steps - 1))
        if "scale" in mode:
            x = (1.0 + level * torch.randn(batch, 1, 1, dtype=x.dtype, **kw)) * x
        if "jit" in mode:
            x = x + level * torch.randn(x.shape, dtype=x.dtype, **kw)
        x = x * observed_steps(kept, n_steps).unsqueeze(-1).to(x.dtype)
        return x, kept, step_scale

    return augment


def run(mode, level, name, seed):
    from sknrnn import _sde

    _sde.augment_sequences = _augment(mode)
    kind = f"{mode}{level}"
    return accuracy.run_one(name, kind, seed, {kind: {"augment": level}}, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", nargs="+", default=["crop", "scale", "jit", "slice"])
    parser.add_argument("--datasets", nargs="+", default=["OSULeaf", "ACSF1"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--level", type=float, default=0.2)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--log", default=None)
    args = parser.parse_args(argv)
    tasks = [(m, args.level, d, s) for m in args.modes for d in args.datasets for s in range(args.seeds)]
    accuracy.run_tasks(run, tasks, args.jobs, args.log)


if __name__ == "__main__":
    main()
