"""Training step with uneven observation times against evenly sampled steps.

Uneven times (``fit(..., times=...)``) scale the step that reads each observation
(``step_scale``); the fused recursion takes them as it takes even steps. Prints
the median ratio of one training step (forward + backward + Adam) with uneven
steps to one with even steps, for the fused recursion and for NoisyRNN's
step-by-step reference loop (``fused=False``), all measured in the same run,
interleaved.

    python benchmarks/irregular.py --threads 2
"""

import argparse
import time

import torch

from sknrnn._sde import NoisyRNN


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for batch, n_steps, hidden in [(64, 24, 64), (64, 150, 128)]:
        module = NoisyRNN(1, hidden, 2, noise_type="additive", noise_additive=0.1)
        optimizer = torch.optim.Adam(module.parameters())
        x = torch.randn(batch, n_steps, 1)
        y = torch.randint(2, (batch,))
        uneven = torch.rand(batch, n_steps) + 0.5

        def step(scale, fused):
            module.fused = fused
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(module(x, None, scale), y)
            loss.backward()
            optimizer.step()

        cases = {
            "even": (None, True),
            "uneven": (uneven, True),
            "uneven, reference loop": (uneven, False),
        }
        times = {name: [] for name in cases}
        for _ in range(args.repeats):
            for name, (scale, fused) in cases.items():
                step(scale, fused)  # warm-up
                start = time.perf_counter()
                for _ in range(3):
                    step(scale, fused)
                times[name].append((time.perf_counter() - start) / 3)
        median = {name: sorted(t)[len(t) // 2] for name, t in times.items()}
        print(
            f"(batch {batch}, T={n_steps}, N={hidden}) train step, uneven / even times: "
            f"{median['uneven'] / median['even']:.2f} (fused), "
            f"{median['uneven, reference loop'] / median['even']:.2f} (reference loop); "
            f"even step {1e3 * median['even']:.1f} ms"
        )


if __name__ == "__main__":
    main()
