"""How large the training noise is against the hidden state, per unit and per step.

For a fitted model (defaults, or ``noise_type="none"`` with several levels put on it), integrates a batch of
training sequences with the model's own recursion twice, deterministically and
with the training noise (the same module, ``noise=True``), and reports, per group
of hidden units sorted by their step ``dt``: the std of the clean state, the std of
the noise's displacement (noisy state minus clean state) at the last step and
pooled over steps, and their ratio. A ratio near or above 1 means the noise
swamps what the state carries. Also the training loss curve of each fit.

Run::

    python benchmarks/noise_scale.py DistalPhalanxOutlineCorrect --extra '{"noise_level": 0.1}'
    python benchmarks/noise_scale.py Meat --relative 0.2 --skip-none   # relative additive noise

With ``--relative`` the noisy model trains with the screen-only relative additive noise
(``_AUTO_NOISE_RELATIVE``), and its rows also give the mean running state scale ``c`` of
each group (the additive level of a unit is ``relative * c``).
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from accuracy import load  # noqa: E402


def state_noise(est, X, n_rows=256, draws=4):
    from sknrnn._inputs import module_inputs

    module = est.net_.module_
    inputs = module_inputs(est, X[:n_rows], None, reset=False)
    x = torch.from_numpy(inputs["x"])
    lengths = torch.from_numpy(inputs["lengths"])
    xw, lw, sw = module.windows(x, lengths, None)
    with torch.no_grad():
        _, clean = module.final_state(xw, lw, sw, noise=False, states=True)
        diffs = []
        for d in range(draws):
            gen = torch.Generator().manual_seed(d)
            _, noisy = module.final_state(xw, lw, sw, noise=True, generator=gen, states=True)
            diffs.append(noisy - clean)
        diff = torch.stack(diffs)  # (draws, B, S, N)
    dt = module.step_size().detach().numpy()
    order = np.argsort(dt)
    groups = np.array_split(order, 4)
    rows = []
    for g in groups:
        c = clean[..., g]
        dd = diff[..., g]
        rows.append({
            "dt": [float(dt[g].min()), float(dt[g].max())],
            "state_std_last": float(c[:, -1].std()),
            "noise_std_last": float(dd[:, :, -1].std()),
            "state_std_steps": float(c.std()),
            "noise_std_steps": float(dd.std()),
        })
        r = rows[-1]
        scale = getattr(module, "state_scale", None)
        if scale is not None:
            r["scale_c"] = float(scale[g].mean())
        r["ratio_last"] = r["noise_std_last"] / max(r["state_std_last"], 1e-12)
        r["ratio_steps"] = r["noise_std_steps"] / max(r["state_std_steps"], 1e-12)
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dataset")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--extra", default="{}")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only-none", action="store_true",
                   help="fit only the noiseless model, and measure several levels on it")
    p.add_argument("--relative", type=float, default=0.0,
                   help="train the noisy model with relative additive noise at this level")
    p.add_argument("--skip-none", action="store_true", help="do not fit the noiseless model")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    from sknrnn import NoisyRNNClassifier
    from sknrnn._base import auto_budget

    Xtr, ytr, Xte, yte = load(a.dataset)
    models = [] if a.only_none else [("defaults", json.loads(a.extra))]
    for label, params in models + ([] if a.skip_none else [("none", {"noise_type": "none"})]):
        budget = {"_AUTO_NOISE_RELATIVE": a.relative} if label == "defaults" else {}
        with auto_budget(**budget):
            est = NoisyRNNClassifier(random_state=a.seed, **params).fit(Xtr, ytr)
        print(f"## {a.dataset} {label} {params} {budget}: test {est.score(Xte, yte):.3f} "
              f"train {est.score(Xtr, ytr):.3f} epochs {est.n_iter_}")
        curve = est.loss_curve_
        print("loss curve (every tenth):",
              [round(float(v), 3) for v in curve[:: max(1, len(curve) // 10)]])
        if label == "defaults":
            _show(state_noise(est, Xtr))
            continue
        # The noiseless model's state under several levels (what the noise would do to it).
        m = est.net_.module_  # the forward reader, which state_noise reads
        for levels in ((0.2, 0.2), (0.2, 0.0), (0.0, 0.2), (0.1, 0.1)):
            m.noise_additive, m.noise_multiplicative = levels
            _show(state_noise(est, Xtr), f"none-model, noise {levels}: ")


def _show(rows, prefix=""):
    """Print each group's row of ``state_noise`` as a JSON line, rounded."""
    for r in rows:
        print(prefix + json.dumps({k: round(v, 3) if isinstance(v, float) else
                                   [round(x, 4) for x in v] for k, v in r.items()}))

if __name__ == "__main__":
    main()
