"""Speed and memory of sknrnn's recurrence against torch's nn.RNN and nn.LSTM.

Models (same hidden size N, same batches, a Linear decoder on the last state):

- ``nn.RNN``       torch's tanh RNN (the reference of every ratio),
- ``nn.LSTM``      torch's LSTM,
- ``NRNN fused``   sknrnn's NoisyRNN (Euler), the hand-written backward of ``sknrnn._fused``,
                   without noise and with mixed noise (s_1 = s_2 = 0.02) when training,
                   with Gaussian draws (the module's default) and with Rademacher draws
                   (the estimators' default),
- ``NRNN loop``    the same module through the reference step loop (``fused=False``).

Timings interleave the models repetition by repetition and report medians, printed
as ratios to nn.RNN measured in the same run. A training step is forward +
cross-entropy + backward + Adam step; inference is a forward pass under
``torch.no_grad`` in evaluation mode (no noise).

Memory: each model runs one training step in a fresh subprocess. On the CPU it
reports the peak resident set during that step minus the resident set just before
it (``VmHWM`` - ``VmRSS`` from ``/proc/self/status``, after a short warm-up step
that loads the kernels and creates Adam's state): the extra memory the step
touches, allocator caching included. On CUDA it reports
``torch.cuda.max_memory_allocated`` during the step minus the memory allocated
before it.

Whole fits (``fits``): the estimator's ``fit`` (validation of the data,
standardization, skorch's loop and callbacks), with its default mixed noise and
without noise, against a plain torch loop over the same data and batches with
nn.RNN of the same size and with sknrnn's module, and the targets of the speed
work printed as met or missed.

    python benchmarks/speed.py [--quick] [--threads 2] [--device cpu|cuda]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sknrnn._sde import NoisyRNN  # noqa: E402

N_CLASSES = 10
N_CHANNELS = 1


class TorchRNN(nn.Module):
    """torch's recurrent layer and a Linear decoder on the last state (of each direction)."""

    def __init__(self, cell, hidden_size, bidirectional=False):
        super().__init__()
        self.rnn = cell(N_CHANNELS, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.decoder = nn.Linear(hidden_size * (2 if bidirectional else 1), N_CLASSES)

    def forward(self, x):
        _, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h  # LSTM: (h, c)
        return self.decoder(torch.cat(list(h), dim=1))  # the last state of each direction


def build(name, hidden_size):
    if name == "nn.RNN":
        return TorchRNN(nn.RNN, hidden_size)
    if name == "nn.LSTM":
        return TorchRNN(nn.LSTM, hidden_size)
    noise = "mixed" in name
    return NoisyRNN(
        N_CHANNELS,
        hidden_size,
        N_CLASSES,
        noise_type="mixed" if noise else "none",
        noise_additive=0.02,
        noise_multiplicative=0.02,
        noise_increment="rademacher" if "Rademacher" in name else "gaussian",
        fused="fused" in name,
    )


TRAIN_MODELS = [
    "nn.RNN", "nn.LSTM", "NRNN fused", "NRNN fused, mixed noise",
    "NRNN fused, mixed noise, Rademacher", "NRNN loop, mixed noise",
]
INFER_MODELS = ["nn.RNN", "nn.LSTM", "NRNN fused", "NRNN loop"]


class Timer:
    def __init__(self, device):
        self.cuda = device.startswith("cuda")

    def __call__(self, fn):
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1e3
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0


def train_step_fn(model, opt, x, y):
    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def infer_fn(model, x):
    def run():
        with torch.no_grad():
            model(x)

    return run


def compare(names, make_fn, shape, device, repeats, training):
    batch, n_steps, hidden = shape
    torch.manual_seed(0)
    x = torch.randn(batch, n_steps, N_CHANNELS, device=device)
    y = torch.randint(0, N_CLASSES, (batch,), device=device)
    fns = {}
    for name in names:
        model = build(name, hidden).to(device).train(training)
        if training:
            fns[name] = make_fn(model, torch.optim.Adam(model.parameters(), lr=1e-3), x, y)
        else:
            fns[name] = make_fn(model, x)
    timer = Timer(device)
    for fn in fns.values():  # warm-up
        timer(fn)
    times = {name: [] for name in names}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timer(fn))
    return {name: statistics.median(t) for name, t in times.items()}


# -- memory ---------------------------------------------------------------------------
def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def memory_child(name, shape, device):
    """One training step in this (fresh) process; print the extra memory in MiB."""
    batch, n_steps, hidden = shape
    torch.manual_seed(0)
    model = build(name, hidden).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    y = torch.randint(0, N_CLASSES, (batch,), device=device)
    warm = torch.randn(batch, 4, N_CHANNELS, device=device)
    train_step_fn(model, opt, warm, y)()
    x = torch.randn(batch, n_steps, N_CHANNELS, device=device)
    step = train_step_fn(model, opt, x, y)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        extra = torch.cuda.max_memory_allocated() - before
    else:
        before = _status_kb("VmRSS")
        hwm_before = _status_kb("VmHWM")
        step()
        hwm = _status_kb("VmHWM")
        if hwm <= hwm_before:
            raise RuntimeError("the step did not raise the peak resident set; use a larger T")
        extra = (hwm - before) * 1024
    print(json.dumps({"mib": extra / 2**20}))


def memory(names, shape, device, threads):
    out = {}
    for name in names:
        cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(threads),
               "--device", device, "--memory-child", name, "--shape", *map(str, shape)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[name] = json.loads(res.stdout.strip().splitlines()[-1])["mib"]
    return out


# -- whole fits ----------------------------------------------------------------------
FIT_SHAPE = (640, 150, 128)  # sequences, steps, hidden units
FIT_BATCH, FIT_EPOCHS = 64, 2
# A small set (the size of ItalyPowerDemand), where each step is short and the loop
# around the module weighs most: batches of 8, 20 epochs.
SMALL_FIT_SHAPE, SMALL_FIT_BATCH, SMALL_FIT_EPOCHS = (64, 24, 64), 8, 20


def fits(shape, device, repeats, epochs=FIT_EPOCHS, batch=FIT_BATCH):
    """Whole fits of ``epochs`` epochs on the same data, interleaved, min of ``repeats``.

    - ``nn.RNN, torch loop``: a plain PyTorch loop (shuffle, batches, Adam) over nn.RNN,
    - ``nn.RNN both ways, torch loop``: the same over a bidirectional nn.RNN (the peer
      of the estimator's default, which reads both ways),
    - ``NoisyRNN module, torch loop``: the same loop over sknrnn's module built with the
      arguments the estimator's defaults give for these data (noise, windows, both ways,
      steps): what the estimator costs beyond its module is the difference to the next row,
    - ``NoisyRNNClassifier().fit``: the estimator with its defaults (validation,
      standardization, skorch's loop, callbacks),
    - ``NoisyRNNClassifier(noise_type="none").fit``: the same without noise.
    """
    from sknrnn import NoisyRNNClassifier

    n_samples, n_steps, hidden = shape
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, n_steps)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, n_samples)
    xt = torch.as_tensor(X[:, :, None], device=device)
    yt = torch.as_tensor(y, device=device)

    def torch_loop(make_model):
        def fit():
            torch.manual_seed(0)
            model = make_model().to(device).train()
            opt = torch.optim.Adam(model.parameters(), lr=3e-3)
            for _ in range(epochs):
                order = torch.randperm(n_samples, device=device)
                for i in range(0, n_samples, batch):
                    idx = order[i:i + batch]
                    train_step_fn(model, opt, xt[idx], yt[idx])()
        return fit

    def estimator(**params):
        def fit():
            NoisyRNNClassifier(hidden_size=hidden, max_iter=epochs, batch_size=batch,
                               random_state=0, device=device, **params).fit(X, y)
        return fit

    # The module as the estimator's defaults build it for these data.
    arguments = NoisyRNNClassifier(hidden_size=hidden)._module_arguments(
        n_steps, N_CHANNELS, N_CLASSES)
    module = lambda: NoisyRNN(**arguments)  # noqa: E731
    fns = {
        "nn.RNN, torch loop": torch_loop(lambda: TorchRNN(nn.RNN, hidden)),
        "nn.RNN both ways, torch loop": torch_loop(lambda: TorchRNN(nn.RNN, hidden, True)),
        "NoisyRNN module, torch loop": torch_loop(module),
        "NoisyRNNClassifier().fit": estimator(),
        'NoisyRNNClassifier(noise_type="none").fit': estimator(noise_type="none"),
    }
    timer = Timer(device)
    for fn in fns.values():  # warm-up
        timer(fn)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timer(fn))
    return {name: min(t) for name, t in times.items()}


TARGETS = [  # (what, numerator, denominator, at most)
    ("mixed-noise fit / noiseless fit", "NoisyRNNClassifier().fit",
     'NoisyRNNClassifier(noise_type="none").fit', 1.10),
    ("default fit / plain nn.RNN torch loop", "NoisyRNNClassifier().fit",
     "nn.RNN, torch loop", 1.30),
    ("default fit / nn.RNN both ways torch loop", "NoisyRNNClassifier().fit",
     "nn.RNN both ways, torch loop", 1.30),
]


# -- report ---------------------------------------------------------------------------
def table(title, shapes, results, unit, scale):
    names = list(next(iter(results.values())).keys())
    head = ["model"] + [f"({b}, {t}, {n})" for b, t, n in shapes]
    rows = [head, ["---"] * len(head)]
    base = [results[s]["nn.RNN"] if "nn.RNN" in results[s] else None for s in shapes]
    rows.append(["nn.RNN " + unit] + [f"{b * scale:.3g}" for b in base])
    for name in names:
        rows.append([name] + [f"{results[s][name] / results[s]['nn.RNN']:.2f}" for s in shapes])
    print(f"\n{title}")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, T=784 skipped")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--shape", type=int, nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args.memory_child, tuple(args.shape), args.device)
        return

    repeats = args.repeats or (3 if args.quick else 7)
    train_shapes = [(64, 24, 64), (64, 150, 128)] + ([] if args.quick else [(128, 784, 128)])
    infer_shapes = [(256, 150, 128)]
    mem_shape = (128, 196, 128) if args.quick else (128, 784, 128)
    print(f"torch {torch.__version__}, device {args.device}, threads {args.threads}, "
          f"repeats {repeats} (median)")

    train = {s: compare(TRAIN_MODELS, train_step_fn, s, args.device, repeats, True)
             for s in train_shapes}
    table("Training step (forward + backward + Adam), time / nn.RNN; shapes (batch, T, N)",
          train_shapes, train, "[ms]", 1e3)
    infer = {s: compare(INFER_MODELS, infer_fn, s, args.device, repeats, False)
             for s in infer_shapes}
    table("Inference (no_grad, eval), time / nn.RNN", infer_shapes, infer, "[ms]", 1e3)
    mem = {mem_shape: memory(TRAIN_MODELS, mem_shape, args.device, args.threads)}
    table("Peak extra memory of one training step / nn.RNN", [mem_shape], mem, "[MiB]", 1)
    fit_shape = (320, 150, 128) if args.quick else FIT_SHAPE
    fit = fits(fit_shape, args.device, repeats if args.quick else 5)
    small = fits(SMALL_FIT_SHAPE, args.device, repeats if args.quick else 5,
                 epochs=SMALL_FIT_EPOCHS, batch=SMALL_FIT_BATCH)
    for (n, t, h), batch, epochs, result in [
        (fit_shape, FIT_BATCH, FIT_EPOCHS, fit),
        (SMALL_FIT_SHAPE, SMALL_FIT_BATCH, SMALL_FIT_EPOCHS, small),
    ]:
        print(f"\nWhole fits: {n} sequences of length {t}, N={h}, batch {batch}, {epochs} epochs "
              "(min of the repeats)")
        base = result["nn.RNN, torch loop"]
        print("| loop | seconds | / nn.RNN torch loop |\n| --- | --- | --- |")
        for k, v in result.items():
            print(f"| {k} | {v:.2f} | {v / base:.2f} |")
    print("\nTargets")
    print("| ratio | value | target | |\n| --- | --- | --- | --- |")
    rows = [(what, fit[a] / fit[b], limit) for what, a, b, limit in TARGETS]
    rows += [(what + " (small set)", small[a] / small[b], limit) for what, a, b, limit in TARGETS]
    big = (128, 784, 128)
    if big in train:
        rows.append(("train step (128, 784, 128), mixed noise / nn.RNN",
                     train[big]["NRNN fused, mixed noise, Rademacher"] / train[big]["nn.RNN"],
                     1.5))
    rows.append(("inference (256, 150, 128) / nn.RNN",
                 infer[infer_shapes[0]]["NRNN fused"] / infer[infer_shapes[0]]["nn.RNN"], 1.1))
    for what, value, limit in rows:
        print(f"| {what} | {value:.2f} | <= {limit} | {'met' if value <= limit else 'missed'} |")

if __name__ == "__main__":
    main()
