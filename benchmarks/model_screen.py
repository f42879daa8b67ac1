"""Screen of model-level candidates that are not (yet) estimator parameters.

Each variant is ``benchmarks/accuracy.py``'s sknrnn fit (same splits and
perturbations) with some of these changes, given as JSON:

- ``readout``: the module built with that ``readout`` (``sknrnn._sde.readout_features``);
- ``dropout``: dropout of rate p on what the decoder reads, in training only;
- ``smoothing``: label smoothing of the cross-entropy;
- ``draws``: class probabilities averaged over that many draws of the training noise
  (classification only);
- ``warmup_epochs``: the warm-up spans that many epochs (one in sknrnn);
- ``swa``: the weights at the end of a fit are the mean of those after each of its last
  ``swa`` fraction of epochs (stochastic weight averaging);
- ``input_noise``: Gaussian noise of that standard deviation added to the (standardized)
  input in training, when the model has training noise (noise of the SDE at its input);
- ``mixup``: ``{"alpha": a, "at": "input" | "features" | "either", "noise": s}``: each training
  batch is mixed with a permutation of itself, ``lambda ~ Beta(a, a)``, at the input, at what
  the decoder reads, or at one of the two drawn per batch (manifold mixup), the loss being
  ``lambda L(y) + (1 - lambda) L(y_perm)``; ``noise`` adds Gaussian noise of that standard
  deviation to the mixed features (Noisy Feature Mixup);
- ``gated_dt``: ``"input"``, ``"state"`` or ``"hidden"``: each unit's step gated per step as in
  LEM, ``dt_k = dt * sigmoid(G x_k + c + 2)`` (``"state"``: ``+ H h_k``; ``"hidden"``:
  ``sigmoid(H h_k + c + 2)``, the state alone), the gate's weights zero at initialization
  (the plain step); integrated by autograd through the reference loop. ``"median"`` /
  ``"mean"``: the input gate reads the median / the mean of each window's observations per
  channel instead of the window (a gate that one outlying observation cannot move far). ``gate_noise``: in
  training, Gaussian noise of that standard deviation added to the gate's argument;
- ``noise_power``: the noise increment of unit ``i`` is ``sigma(h) dt_i^p xi`` (the SDE's
  ``p = 0.5``): a smaller power gives the slow units (small ``dt_i``) more noise per step;
- ``encoder``: ``{"kind": "conv", "width": k}``: the encoder reads ``k`` neighbouring windows
  (a Conv1d of width ``k`` over the windows, zero-padded, instead of the Linear of one window);
  ``{"kind": "mlp"}``: ``u = U_2 tanh(U_1 x~ + b_1) + b_2`` (a hidden layer of N units);
- ``segments``: ``{"length": L}``: the readers also read every segment of ``L`` recurrence
  steps (stride ``L / 2``) from a zero state, and the decoder reads the mean of the
  segments' final states beside the readout (a learned recurrent kernel pooled over
  positions); same weights, equal-length sequences only;
- ``second_order``: ``{"damping": e}``: an oscillator state as in coRNN, the drift driving a
  velocity ``v`` instead of the state, ``v_{k+1} = v_k + dt (a A h_k + tanh(W h_k + u_k) -
  e v_k) + sqrt(dt) sigma(h_k) xi_k``, ``h_{k+1} = h_k + dt v_{k+1}`` (implicit-explicit, as
  coRNN integrates), ``h_0 = v_0 = 0``; the decoder reads ``h`` as before; integrated by
  autograd through a loop;
- ``params``: other estimator parameters.

    python benchmarks/model_screen.py --variants '{"readout": "mean"}' \\
        '{"readout": "mean", "dropout": 0.3}' --datasets OSULeaf ACSF1 GunPoint --seeds 2 \\
        --log benchmarks/results/model_screen_VERSION_VARIANT.jsonl
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import accuracy  # noqa: E402


def _reading_through(module, transform, forward, *args):
    """``forward(module, *args)`` with what the decoder reads passed through ``transform``.

    The module's own ``forward`` runs (windows, both readers, readout); a function
    shadowing the registered decoder for the call applies ``transform`` first.
    """
    decoder = module.decoder
    module.__dict__["decoder"] = lambda h: decoder(transform(h))  # shadows the module
    try:
        return forward(module, *args)
    finally:
        module.__dict__.pop("decoder", None)


def _loop_start(module, x, lengths, noise, generator):
    """What a step-by-step loop over ``module``'s recursion starts from (the patches that
    change the step): ``(u, K, dt, generator, active, xis)`` as ``NoisyRNN.final_state``
    forms them, ``active`` the per-step masks of the valid rows (None: all valid) and
    ``xis`` the noise draws per step (None each without noise)."""
    from sknrnn import _sde

    generator = module.generator if generator is None else generator
    u_all = module.encode(x)
    batch, n_steps, n = u_all.shape[0], u_all.shape[1], module.hidden_size
    noisy = (module.training if noise is None else noise) and module.is_noisy
    active = None
    if lengths is not None and bool((lengths < n_steps).any()):
        active = _sde.observed_steps(lengths, n_steps).unsqueeze(-1).unbind(1)
    xis = (
        _sde.noise_draws(n_steps, batch, n, u_all, generator, module.noise_increment)
        .unbind(0) if noisy else [None] * n_steps
    )
    return u_all, module.stacked_weight(), module.step_size(), generator, active, xis


def _loop_run(u_all, active, xis, states, step, carry=None):
    """The loop of a patched recursion: ``h_{k+1}, c_{k+1} = step(k, u_k, h_k, c_k, xi_k)``
    from ``h_0 = 0`` (``c``: a second state, or None), each sequence keeping its state
    past its end; returns the last state, or ``(last, every state)`` with ``states``."""
    import torch

    h = u_all.new_zeros(u_all.shape[0], u_all.shape[2])
    kept = []
    for k, u in enumerate(u_all.unbind(1)):
        h_next, carry_next = step(k, u, h, carry, xis[k])
        if active is None:
            h, carry = h_next, carry_next
        else:
            h = torch.where(active[k], h_next, h)
            if carry is not None:
                carry = torch.where(active[k], carry_next, carry)
        if states:
            kept.append(h if active is None else h * active[k].to(h.dtype))
    if not states:
        return h
    return h, torch.stack(kept, 1)


def _patch(variant):
    import functools

    import numpy as np
    import torch

    from sknrnn import _base, _inference, _net, _sde

    readout = variant.get("readout")
    if readout is not None:
        original = _base.BaseNoisyRNN._module_arguments

        def module_arguments(self, *args, **kwargs):
            return dict(original(self, *args, **kwargs), readout=readout)

        _base.BaseNoisyRNN._module_arguments = module_arguments
    rate = variant.get("dropout", 0.0)
    if rate:
        forward = _sde.NoisyRNN.forward

        def dropout_forward(self, x, lengths=None, step_scale=None, noise=None):
            if not (self.training if noise is None else noise):
                return forward(self, x, lengths, step_scale, noise)
            gen = self.generator

            def drop(h):
                keep = torch.rand(h.shape, generator=gen, device=h.device) >= rate
                return h * keep.to(h.dtype) / (1 - rate)

            return _reading_through(self, drop, forward, x, lengths, step_scale, noise)

        _sde.NoisyRNN.forward = dropout_forward
    smoothing = variant.get("smoothing", 0.0)
    if smoothing:
        settings = _net._net_settings

        def net_settings(n_classes, target_scaling):
            cls, kw = settings(n_classes, target_scaling)
            if target_scaling is None:
                kw["criterion"] = functools.partial(
                    torch.nn.CrossEntropyLoss, label_smoothing=smoothing
                )
            return cls, kw

        _net._net_settings = net_settings
    epochs = variant.get("warmup_epochs")
    if epochs:
        begin = _net._Warmup.on_epoch_begin

        def longer_warmup(self, net, dataset_train=None, **kwargs):
            begin(self, net, dataset_train=dataset_train, **kwargs)
            if self.seen_ == 0:
                self.batches_ *= epochs

        _net._Warmup.on_epoch_begin = longer_warmup
    swa = variant.get("swa", 0.0)
    if swa:
        from skorch.callbacks import Callback

        class _Averaging(Callback):
            def __init__(self, epochs):
                self.epochs = epochs

            def on_train_begin(self, net, **kwargs):
                self.done_, self.count_, self.mean_ = 0, 0, None

            def on_epoch_end(self, net, **kwargs):
                self.done_ += 1
                if self.done_ <= (1 - swa) * self.epochs:
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

        callbacks = _net._callbacks

        def with_averaging(est, epochs, *, held_out):
            return callbacks(est, epochs, held_out=held_out) + [("swa", _Averaging(epochs))]

        _net._callbacks = with_averaging
    input_noise = variant.get("input_noise", 0.0)
    mixup = variant.get("mixup")
    if input_noise or mixup:
        plain_forward = _sde.NoisyRNN.forward

        def mixed_forward(self, x, lengths=None, step_scale=None, noise=None):
            training = self.training if noise is None else noise
            if not training:
                return plain_forward(self, x, lengths, step_scale, noise)
            gen = self.generator
            if input_noise and self.is_noisy:
                x = x + input_noise * torch.randn(
                    x.shape, generator=gen, device=x.device, dtype=x.dtype
                )
            at, mix_noise = None, float((mixup or {}).get("noise", 0.0))
            if mixup:
                alpha = torch.tensor(float(mixup.get("alpha", 1.0)), dtype=torch.float64)
                lam = float(torch.distributions.Beta(alpha, alpha).sample())
                perm = torch.randperm(x.shape[0], generator=gen, device=x.device)
                at = mixup.get("at", "features")
                if at == "either":
                    at = "input" if torch.rand((), generator=gen, device=x.device) < 0.5 else (
                        "features")
                self._mix = (lam, perm)
                if at == "input":
                    x = lam * x + (1 - lam) * x[perm]
                    if lengths is not None:
                        lengths = torch.maximum(lengths, lengths[perm])

            def mix(h):
                if at == "features":
                    h = lam * h + (1 - lam) * h[perm]
                if mix_noise:
                    h = h + mix_noise * torch.randn(
                        h.shape, generator=gen, device=h.device, dtype=h.dtype
                    )
                return h

            return _reading_through(self, mix, plain_forward, x, lengths, step_scale, noise)

        _sde.NoisyRNN.forward = mixed_forward
    if mixup:
        plain_loss = _net._WeightedLoss.get_loss

        def mixed_loss(self, y_pred, y_true, X=None, training=False):
            mix = getattr(self.module_, "_mix", None)
            if not training or mix is None:
                return plain_loss(self, y_pred, y_true, X=X, training=training)
            self.module_._mix = None
            lam, perm = mix
            return lam * plain_loss(self, y_pred, y_true, X=X, training=True) + (
                1 - lam) * plain_loss(self, y_pred, y_true[perm.to(y_true.device)], X=X,
                                      training=True)

        _net._WeightedLoss.get_loss = mixed_loss
    gated = variant.get("gated_dt")
    gate_noise = variant.get("gate_noise", 0.0)
    if gated:
        from torch import nn

        plain_init = _sde.NoisyRNN.__init__

        def gated_init(self, input_size, hidden_size, output_size, **kwargs):
            plain_init(self, input_size, hidden_size, output_size, **kwargs)
            pooled = gated in ("median", "mean")  # the gate reads one value per channel
            self.gate = nn.Linear(input_size * (1 if pooled else self.window), hidden_size)
            self.gate_h = nn.Linear(hidden_size, hidden_size, bias=False)
            zero_gate(self)

        def zero_gate(self):
            with torch.no_grad():
                for p in (self.gate.weight, self.gate.bias, self.gate_h.weight):
                    p.zero_()

        plain_reset = _sde.NoisyRNN.reset_parameters

        def gated_reset(self, generator=None):  # the estimator builds on the meta device
            plain_reset(self, generator)
            if hasattr(self, "gate"):
                zero_gate(self)

        def gated_final_state(self, x, lengths=None, step_scale=None, noise=None,
                              generator=None, states=False):
            u_all, K, dt, generator, active, xis = _loop_start(self, x, lengths, noise, generator)
            if gated in ("median", "mean"):
                w = self.window
                by_channel = x.reshape(x.shape[0], x.shape[1], w, x.shape[2] // w)
                g_all = self.gate(by_channel.median(2).values if gated == "median"
                                  else by_channel.mean(2))
            else:
                g_all = self.gate(x)
            scales = [None] * u_all.shape[1] if step_scale is None else step_scale.unbind(1)
            gates = g_all.unbind(1)

            def gated_step(k, u, h, _, xi):
                g = gates[k]
                if gated == "state":
                    g = g + self.gate_h(h)
                elif gated == "hidden":
                    g = self.gate_h(h) + self.gate.bias
                if gate_noise and xi is not None:  # in training, with the SDE's noise
                    g = g + gate_noise * torch.randn(
                        g.shape, generator=generator, device=g.device, dtype=g.dtype
                    )
                dtk = dt * torch.sigmoid(g + 2.0)  # at most dt; 0.88 dt at initialization
                if scales[k] is not None:
                    dtk = dtk * scales[k][:, None]
                return self.sde_step(h, u, dtk, K, xi), None

            return _loop_run(u_all, active, xis, states, gated_step)

        _sde.NoisyRNN.__init__ = gated_init
        _sde.NoisyRNN.reset_parameters = gated_reset
        _sde.NoisyRNN.final_state = gated_final_state
    second = variant.get("second_order")
    if second:
        damping = float(second.get("damping", 1.0))

        def oscillator_final_state(self, x, lengths=None, step_scale=None, noise=None,
                                   generator=None, states=False):
            u_all, K, dt, generator, active, xis = _loop_start(self, x, lengths, noise, generator)
            n_steps = u_all.shape[1]
            dts = [dt] * n_steps if step_scale is None else (step_scale[..., None] * dt).unbind(1)

            def oscillator_step(k, u, h, v, xi):
                v_next = v + dts[k] * (self.drift(h, u, K) - damping * v)
                if xi is not None:
                    v_next = v_next + dts[k].sqrt() * self.diffusion(h) * xi
                return h + dts[k] * v_next, v_next

            v0 = u_all.new_zeros(u_all.shape[0], self.hidden_size)
            return _loop_run(u_all, active, xis, states, oscillator_step, carry=v0)

        _sde.NoisyRNN.final_state = oscillator_final_state
    power = variant.get("noise_power")
    if power is not None:
        from sknrnn import _fused

        plain_euler = _sde.euler_final_state

        def powered_euler(u, K, dt, lengths=None, noise_additive=0.0, noise_multiplicative=0.0,
                          xi=None, step_scale=None, generator=None, increment="gaussian",
                          states=False):
            if xi is None and _fused.has_noise(noise_additive, noise_multiplicative):
                batch, n_steps, n = u.shape
                xi = _fused.noise_draws(n_steps, batch, n, u, generator, increment)
                xi = xi * dt.detach().pow(power - 0.5)  # sqrt(dt) xi' = dt^p xi
            return plain_euler(u, K, dt, lengths, noise_additive, noise_multiplicative, xi,
                               step_scale, generator, increment, states)

        _sde.euler_final_state = powered_euler
    encoder = variant.get("encoder")
    if encoder:
        import math

        from torch import nn

        kind = encoder["kind"]
        width = int(encoder.get("width", 3))
        init_before = _sde.NoisyRNN.__init__

        def init_with_encoder(self, input_size, hidden_size, output_size, **kwargs):
            init_before(self, input_size, hidden_size, output_size, **kwargs)
            channels = input_size * self.window
            if kind == "conv":
                self.context = nn.Conv1d(channels, hidden_size, width, padding=width // 2)
            else:
                self.inner = nn.Linear(hidden_size, hidden_size)
            draw_encoder(self, None)

        def draw_encoder(self, generator):
            layer = getattr(self, "context", None) or getattr(self, "inner", None)
            fan_in = layer.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in)
            with torch.no_grad():
                for p in (layer.weight, layer.bias):
                    p.copy_(torch.empty(p.shape).uniform_(-bound, bound, generator=generator))

        reset_before = _sde.NoisyRNN.reset_parameters

        def reset_with_encoder(self, generator=None):
            reset_before(self, generator)
            if hasattr(self, "context") or hasattr(self, "inner"):
                draw_encoder(self, generator)

        def encode(self, x):
            if kind == "conv":
                y = self.context(x.transpose(1, 2))  # (B, N, T)
                return y.permute(2, 0, 1).contiguous().transpose(0, 1)
            u = self.encoder(x.transpose(0, 1))
            return self.inner(torch.tanh(u)).transpose(0, 1)

        _sde.NoisyRNN.__init__ = init_with_encoder
        _sde.NoisyRNN.reset_parameters = reset_with_encoder
        _sde.NoisyRNN.encode = encode
    segments = variant.get("segments")
    if segments:
        from torch import nn

        seg_len = int(segments["length"])
        init_plain = _sde.NoisyRNN.__init__

        def init_with_segments(self, input_size, hidden_size, output_size, **kwargs):
            init_plain(self, input_size, hidden_size, output_size, **kwargs)
            if self.decoder is not None:
                extra = hidden_size * (2 if self.bidirectional else 1)
                self.decoder = nn.Linear(self.decoder.in_features + extra, output_size)
                self.reset_parameters()

        def pooled(reader, x, noise, generator):
            batch, n_steps, channels = x.shape
            length = min(seg_len, n_steps)
            segs = x.unfold(1, length, max(1, length // 2))  # (B, n, C, L)
            n = segs.shape[1]
            segs = segs.permute(0, 1, 3, 2).reshape(batch * n, length, channels)
            final = reader.final_state(segs, None, None, noise, generator)
            return final.view(batch, n, -1).mean(1)

        forward_plain = _sde.NoisyRNN.forward

        def forward_with_segments(self, x, lengths=None, step_scale=None, noise=None):
            def beside(h):  # the segments read after both readers (their noise drawn after)
                windows = self.windows(x, lengths, step_scale)[0]
                parts = [h, pooled(self, windows, noise, self.generator)]
                if self.reverse is not None:
                    parts.append(pooled(self.reverse, windows.flip(1), noise, self.generator))
                return torch.cat(parts, dim=1)

            return _reading_through(self, beside, forward_plain, x, lengths, step_scale, noise)

        _sde.NoisyRNN.__init__ = init_with_segments
        _sde.NoisyRNN.forward = forward_with_segments
    draws = variant.get("draws", 0)
    if draws:

        def averaged_outputs(module, inputs):
            outputs = []
            with torch.no_grad():
                for _, batch in _inference.batches(inputs, _inference.module_device(module)):
                    runs = [module(**batch, noise=True) for _ in range(draws)]
                    # classifiers: the mean of the draws' probabilities, as log-probabilities
                    probs = torch.stack([torch.softmax(r, -1) for r in runs]).mean(0)
                    outputs.append(torch.log(probs).to("cpu", torch.float64).numpy())
            return np.concatenate(outputs, axis=0)

        _base.deterministic_outputs = averaged_outputs  # what predict calls

def run(variant, name, seed):
    _patch(variant)
    kind = "screen" + json.dumps(variant, sort_keys=True)
    return accuracy.run_one(name, kind, seed, {kind: variant.get("params", {})}, 1)


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
    accuracy.run_tasks(run, tasks, args.jobs, args.log, fresh_workers=True)


if __name__ == "__main__":
    main()
