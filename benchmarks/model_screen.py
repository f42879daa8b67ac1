"""Screen of model-level candidates that are not (yet) estimator parameters.

Each variant is ``benchmarks/accuracy.py``'s sknrnn fit (same splits and
perturbations) with some of these changes, given as JSON. A change of the model is a
subclass of :class:`sknrnn.NoisyRNN` that overrides its documented hooks (see its
docstring), passed as the estimator's ``module=``; a change of the training loop is a
skorch callback passed as ``callbacks=``. The script patches nothing in sknrnn.

- ``readout``: the estimator's ``readout`` parameter (kept as a key for the commands of
  ``benchmarks/README.md``);
- ``dropout``: dropout of rate p on what the decoder reads, in training only
  (``FeatureDropout``);
- ``swa``: the weights at the end of a fit are the mean of those after each of its last
  ``swa`` fraction of epochs (stochastic weight averaging, the callback
  ``WeightAveraging``);
- ``noise_warmup``: the training noise off in the first epoch of a fit, rising linearly to
  its level over the first ``noise_warmup`` fraction of the fit's epochs (the callback
  ``NoiseWarmup``; the module's levels ``noise_additive`` / ``noise_multiplicative``
  scaled per epoch, and put back at the end of the fit);
- ``noise_anneal``: the training noise falling linearly over the last ``noise_anneal``
  fraction of the fit's epochs, to a small share of its level in the last epoch (the
  callback ``NoiseAnneal``, scaled as ``NoiseWarmup`` scales it);
- ``input_noise``: Gaussian noise of that standard deviation added to the (standardized)
  input in training, when the model has training noise (noise of the SDE at its input;
  ``InputNoise``);
- ``gated_dt``: ``"input"``, ``"state"`` or ``"hidden"``: each unit's step gated per step as in
  LEM, ``dt_k = dt * sigmoid(G x_k + c + 2)`` (``"state"``: ``+ H h_k``; ``"hidden"``:
  ``sigmoid(H h_k + c + 2)``, the state alone), the gate's weights zero at initialization
  (the plain step). ``"median"`` / ``"mean"``: the input gate reads the median / the mean
  of each window's observations per channel instead of the window (a gate that one
  outlying observation cannot move far). ``gate_noise``: in training, Gaussian noise of that
  standard deviation added to the gate's argument (``GatedStep``);
- ``noise_power``: the noise increment of unit ``i`` is ``sigma(h) dt_i^p xi`` (the SDE's
  ``p = 0.5``): a smaller power gives the slow units (small ``dt_i``) more noise per step
  (``PoweredNoise``);
- ``encoder``: ``{"kind": "conv", "width": k}``: the encoder reads ``k`` neighbouring windows
  (a Conv1d of width ``k`` over the windows, zero-padded, instead of the Linear of one window;
  ``ConvEncoder``); ``{"kind": "mlp"}``: ``u = U_2 tanh(U_1 x~ + b_1) + b_2`` (a hidden layer
  of N units; ``MlpEncoder``);
- ``segments``: ``{"length": L}``: the readers also read every segment of ``L`` recurrence
  steps (stride ``L / 2``) from a zero state, and the decoder reads the mean of the
  segments' final states beside the readout (a learned recurrent kernel pooled over
  positions); same weights, equal-length sequences only (``Segments``);
- ``second_order``: ``{"damping": e}``: an oscillator state as in coRNN, the drift driving a
  velocity ``v`` instead of the state, ``v_{k+1} = v_k + dt (a A h_k + tanh(W h_k + u_k) -
  e v_k) + sqrt(dt) sigma(h_k) xi_k``, ``h_{k+1} = h_k + dt v_{k+1}`` (implicit-explicit, as
  coRNN integrates), ``h_0 = v_0 = 0``; the decoder reads ``h`` as before (``SecondOrder``);
- ``params``: other estimator parameters.

The variants with a step of their own (``gated_dt``, ``noise_power``, ``second_order``)
run NoisyRNN's reference loop, autograd through every step. The keys combine: the
variant's module is one subclass of the classes above (``variant_module``). It is built
in the process that fits it and not saved (a saved model would need its class
importable by name).

Screened, rejected and removed: label smoothing (``smoothing``), class probabilities
averaged over draws of the training noise at prediction (``draws``), a warm-up over
several epochs (``warmup_epochs``) and mixup (``mixup``, at the input, at what the decoder
reads, with noise). They changed the loss, the prediction or a private callback of the
training loop, which the estimators do not open to variants; their code was last in commit
61b6fca (``git show 61b6fca:benchmarks/model_screen.py``), their results in
``benchmarks/README.md``.

    python benchmarks/model_screen.py --variants '{"readout": "mean"}' \\
        '{"readout": "mean", "dropout": 0.3}' --datasets OSULeaf ACSF1 GunPoint --seeds 2 \\
        --log benchmarks/results/model_screen_VERSION_VARIANT.jsonl
"""

import argparse
import json
import math
import os
import sys

import torch
from skorch.callbacks import Callback
from torch import nn

from sknrnn import NoisyRNN

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import accuracy  # noqa: E402

# Keys of variants that an earlier form of the script screened and that are gone.
REMOVED = ("smoothing", "draws", "warmup_epochs", "mixup")
KEYS = ("readout", "dropout", "swa", "noise_warmup", "noise_anneal", "input_noise", "gated_dt", "gate_noise", "noise_power",
        "encoder", "segments", "second_order", "params")


def _training(module, noise):
    """Whether this call draws the training noise (``NoisyRNN.forward``'s ``noise``)."""
    return module.training if noise is None else noise


def _uniform_fan_in(layer, generator):
    """``layer``'s weight and bias drawn from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` on the
    CPU, as NoisyRNN draws its encoder and decoder."""
    bound = 1.0 / math.sqrt(layer.weight[0].numel())
    with torch.no_grad():
        for p in (layer.weight, layer.bias):
            p.copy_(torch.empty(p.shape).uniform_(-bound, bound, generator=generator))


# -- what the decoder reads -----------------------------------------------------------
class FeatureDropout(NoisyRNN):
    """Dropout of rate ``dropout`` on what the decoder reads, in training."""

    dropout = 0.0

    def features(self, x, lengths=None, step_scale=None, noise=None):
        h = super().features(x, lengths, step_scale, noise)
        if not _training(self, noise):
            return h
        keep = torch.rand(h.shape, generator=self.generator, device=h.device) >= self.dropout
        return h * keep.to(h.dtype) / (1 - self.dropout)


class InputNoise(NoisyRNN):
    """Gaussian noise of standard deviation ``input_noise`` added to the input in training,
    when the model has training noise."""

    input_noise = 0.0

    def features(self, x, lengths=None, step_scale=None, noise=None):
        if _training(self, noise) and self.is_noisy:
            x = x + self.input_noise * torch.randn(
                x.shape, generator=self.generator, device=x.device, dtype=x.dtype
            )
        return super().features(x, lengths, step_scale, noise)


class Segments(NoisyRNN):
    """The decoder also reads the mean of the final states of every segment of
    ``segment_length`` steps (stride half of it), read by each reader from a zero state."""

    segment_length = 16

    def add_weights(self):
        if self.decoder is not None:  # the reverse reader has none
            extra = self.hidden_size * (2 if self.bidirectional else 1)
            self.decoder = nn.Linear(
                self.decoder.in_features + extra, self.decoder.out_features
            )

    def _pooled(self, reader, x, noise):
        batch, n_steps, channels = x.shape
        length = min(self.segment_length, n_steps)
        segs = x.unfold(1, length, max(1, length // 2))  # (B, n, C, L)
        n = segs.shape[1]
        segs = segs.permute(0, 1, 3, 2).reshape(batch * n, length, channels)
        final = reader.final_state(segs, None, None, noise, self.generator)
        return final.view(batch, n, -1).mean(1)

    def features(self, x, lengths=None, step_scale=None, noise=None):
        h = super().features(x, lengths, step_scale, noise)
        # the segments read after both readers (their noise drawn after)
        windows = self.windows(x, lengths, step_scale)[0]
        parts = [h, self._pooled(self, windows, noise)]
        if self.reverse is not None:
            parts.append(self._pooled(self.reverse, windows.flip(1), noise))
        return torch.cat(parts, dim=1)


# -- the encoder --------------------------------------------------------------------
class ConvEncoder(NoisyRNN):
    """The encoder reads ``width`` neighbouring windows: a Conv1d over the windows."""

    width = 3

    def add_weights(self):
        channels = self.encoder.in_features  # the window's observations
        self.context = nn.Conv1d(
            channels, self.hidden_size, self.width, padding=self.width // 2
        )

    def reset_parameters(self, generator=None):
        super().reset_parameters(generator)
        _uniform_fan_in(self.context, generator)

    def encode(self, x):
        y = self.context(x.transpose(1, 2))  # (B, N, T)
        return y.permute(2, 0, 1).contiguous().transpose(0, 1)


class MlpEncoder(NoisyRNN):
    """The encoder has a hidden layer: ``u = U_2 tanh(U_1 x + b_1) + b_2``."""

    def add_weights(self):
        self.inner = nn.Linear(self.hidden_size, self.hidden_size)

    def reset_parameters(self, generator=None):
        super().reset_parameters(generator)
        _uniform_fan_in(self.inner, generator)

    def encode(self, x):
        u = self.encoder(x.transpose(0, 1))
        return self.inner(torch.tanh(u)).transpose(0, 1)


# -- the step -------------------------------------------------------------------------
class GatedStep(NoisyRNN):
    """Each unit's step gated per step as in LEM: ``dt_k = dt sigmoid(g_k + 2)``, ``g_k``
    read from the input (``gate_reads="input"``, or the median / mean of each window's
    observations per channel), the input and the state (``"state"``) or the state alone
    (``"hidden"``); zero weights at initialization. ``gate_noise``: Gaussian noise of that
    standard deviation added to ``g_k`` in training."""

    gate_reads = "input"
    gate_noise = 0.0

    def add_weights(self):
        window_size = self.encoder.in_features  # the window's observations, all channels
        pooled = self.gate_reads in ("median", "mean")  # the gate reads one value per channel
        self.gate = nn.Linear(
            window_size // self.window if pooled else window_size, self.hidden_size
        )
        self.gate_h = nn.Linear(self.hidden_size, self.hidden_size, bias=False)

    def reset_parameters(self, generator=None):
        super().reset_parameters(generator)
        with torch.no_grad():
            for p in (self.gate.weight, self.gate.bias, self.gate_h.weight):
                p.zero_()

    def encode(self, x):
        """``[U x + b, G x + c]``: the step reads the gate's input after ``u`` (``"hidden"``:
        ``U x + b``, the gate reads the state alone)."""
        if self.gate_reads == "hidden":
            return super().encode(x)
        if self.gate_reads in ("median", "mean"):
            w = self.window
            by_channel = x.reshape(x.shape[0], x.shape[1], w, x.shape[2] // w)
            g = self.gate(by_channel.median(2).values if self.gate_reads == "median"
                          else by_channel.mean(2))
        else:
            g = self.gate(x)
        return torch.cat([super().encode(x), g], dim=-1)

    def sde_step(self, h, u, dt, K=None, xi=None):
        n = self.hidden_size
        if self.gate_reads == "hidden":
            g = self.gate_h(h) + self.gate.bias
        else:
            u, g = u[:, :n], u[:, n:]
            if self.gate_reads == "state":
                g = g + self.gate_h(h)
        if self.gate_noise and xi is not None:  # in training, with the SDE's noise
            g = g + self.gate_noise * torch.randn(
                g.shape, generator=self.generator, device=g.device, dtype=g.dtype
            )
        # at most dt; 0.88 dt at initialization
        return super().sde_step(h, u, dt * torch.sigmoid(g + 2.0), K, xi)


class PoweredNoise(NoisyRNN):
    """The noise increment ``sigma(h) dt^p xi`` with ``p = noise_power`` (the SDE's 0.5)."""

    noise_power = 0.5

    def sde_step(self, h, u, dt, K=None, xi=None):
        if xi is not None:  # sqrt(dt) xi' = dt^p xi
            xi = xi * dt.detach().pow(self.noise_power - 0.5)
        return super().sde_step(h, u, dt, K, xi)


class SecondOrder(NoisyRNN):
    """An oscillator as in coRNN: the drift drives a velocity ``v`` (damped by
    ``damping``), the state follows it; the state of the loop is ``[h, v]``."""

    damping = 1.0

    def initial_state(self, batch, like):
        return like.new_zeros(batch, 2 * self.hidden_size)

    def sde_step(self, h, u, dt, K=None, xi=None):
        n = self.hidden_size
        h, v = h[:, :n], h[:, n:]
        v_next = v + dt * (self.drift(h, u, K) - self.damping * v)
        if xi is not None:
            v_next = v_next + dt.sqrt() * self.diffusion(h) * xi
        return torch.cat([h + dt * v_next, v_next], dim=1)


# -- the training loop -------------------------------------------------------------
class WeightAveraging(Callback):
    """Stochastic weight averaging: the weights at the end of a fit are the mean of those
    after each of its last ``fraction`` of epochs (with early stopping, skorch then loads
    the best epoch's weights over them)."""

    def __init__(self, fraction):
        self.fraction = fraction

    def on_train_begin(self, net, **kwargs):
        self.done_, self.count_, self.mean_ = 0, 0, None

    def on_epoch_end(self, net, **kwargs):
        self.done_ += 1
        if self.done_ <= (1 - self.fraction) * net.max_epochs:
            return
        params = [p.detach().clone() for p in net.module_.parameters()]
        self.count_ += 1
        if self.mean_ is None:
            self.mean_ = params
        else:
            for m, p in zip(self.mean_, params):
                m.add_(p - m, alpha=1.0 / self.count_)

    def on_train_end(self, net, **kwargs):
        if self.mean_ is not None:
            with torch.no_grad():
                for p, m in zip(net.module_.parameters(), self.mean_):
                    p.copy_(m)


class NoiseWarmup(Callback):
    """The training noise rising linearly from 0 over the first ``fraction`` of the epochs
    of a fit: epoch ``k`` (from 0) of ``E`` trains at ``min(1, k / (fraction E))`` of the
    module's levels, which are put back at the end of the fit."""

    def __init__(self, fraction):
        self.fraction = fraction

    def _readers(self, net):
        module = net.module_
        return [module] + ([module.reverse] if module.reverse is not None else [])

    def on_train_begin(self, net, **kwargs):
        self.epoch_ = 0
        self.levels_ = [(r.noise_additive, r.noise_multiplicative) for r in self._readers(net)]

    def scale(self, epoch, epochs):
        """The share of the module's levels that epoch ``epoch`` (from 0) of ``epochs`` trains at."""
        return min(1.0, epoch / max(self.fraction * epochs, 1e-12))

    def on_epoch_begin(self, net, **kwargs):
        scale = self.scale(self.epoch_, net.max_epochs)
        for reader, (s1, s2) in zip(self._readers(net), self.levels_):
            reader.noise_additive, reader.noise_multiplicative = s1 * scale, s2 * scale
        self.epoch_ += 1

    def on_train_end(self, net, **kwargs):
        for reader, (s1, s2) in zip(self._readers(net), self.levels_):
            reader.noise_additive, reader.noise_multiplicative = s1, s2


class NoiseAnneal(NoiseWarmup):
    """The training noise falling linearly over the last ``fraction`` of the epochs of a
    fit, to ``1 / (fraction E)`` of its level in the last epoch: epoch ``k`` (from 0) of ``E``
    trains at ``min(1, (E - k) / (fraction E))`` of the module's levels (fine-tuning with
    ever less noise while the cosine schedule's rate is small), put back at the end of the fit."""

    def scale(self, epoch, epochs):
        return min(1.0, (epochs - epoch) / max(self.fraction * epochs, 1e-12))


# -- a variant's estimator ------------------------------------------------------------
def variant_module(variant):
    """The subclass of NoisyRNN that ``variant`` describes (None: NoisyRNN itself): one
    class over those of its keys, each key a class attribute."""
    bases, settings = [], {}

    def use(cls, **attributes):
        if cls not in bases:
            bases.append(cls)
        settings.update(attributes)

    if variant.get("dropout"):
        use(FeatureDropout, dropout=float(variant["dropout"]))
    if variant.get("input_noise"):
        use(InputNoise, input_noise=float(variant["input_noise"]))
    if variant.get("segments"):
        use(Segments, segment_length=int(variant["segments"]["length"]))
    encoder = variant.get("encoder")
    if encoder:
        if encoder["kind"] == "conv":
            use(ConvEncoder, width=int(encoder.get("width", 3)))
        elif encoder["kind"] == "mlp":
            use(MlpEncoder)
        else:
            raise ValueError(f"encoder kind must be 'conv' or 'mlp', got {encoder['kind']!r}.")
    if variant.get("gated_dt"):
        use(GatedStep, gate_reads=variant["gated_dt"],
            gate_noise=float(variant.get("gate_noise", 0.0)))
    if variant.get("noise_power") is not None:
        use(PoweredNoise, noise_power=float(variant["noise_power"]))
    if variant.get("second_order"):
        use(SecondOrder, damping=float(variant["second_order"].get("damping", 1.0)))
    if not bases:
        return None
    return type("ScreenedRNN", tuple(bases), settings)


def estimator_params(variant):
    """The estimator parameters of ``variant``: its ``params``, and its ``readout``, module
    and callbacks."""
    removed = sorted(set(variant) & set(REMOVED))
    if removed:
        raise ValueError(
            f"{removed} were screened, rejected and removed from model_screen.py; their code "
            "is in `git show 61b6fca:benchmarks/model_screen.py`."
        )
    unknown = sorted(set(variant) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown variant keys {unknown}; the keys are {KEYS}.")
    params = dict(variant.get("params", {}))
    if "readout" in variant:
        params["readout"] = variant["readout"]
    module = variant_module(variant)
    if module is not None:
        params["module"] = module
    callbacks = []
    if variant.get("swa"):
        callbacks.append(("swa", WeightAveraging(float(variant["swa"]))))
    if variant.get("noise_warmup"):
        callbacks.append(("noise_warmup", NoiseWarmup(float(variant["noise_warmup"]))))
    if variant.get("noise_anneal"):
        callbacks.append(("noise_anneal", NoiseAnneal(float(variant["noise_anneal"]))))
    if callbacks:
        params["callbacks"] = callbacks
    return params


def run(variant, name, seed):
    kind = "screen" + json.dumps(variant, sort_keys=True)
    return accuracy.run_one(name, kind, seed, {kind: estimator_params(variant)}, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=['{"readout": "mean"}'])
    parser.add_argument("--datasets", nargs="+", default=["OSULeaf", "ACSF1", "GunPoint"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--log", default=None)
    args = parser.parse_args(argv)
    tasks = [
        (json.loads(v), d, s)
        for v in args.variants for d in args.datasets
        for s in range(args.first_seed, args.first_seed + args.seeds)
    ]
    for variant, _, _ in tasks:  # a bad key fails here, not in a worker
        estimator_params(variant)
    accuracy.run_tasks(run, tasks, args.jobs, args.log)


if __name__ == "__main__":
    main()
