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
- ``params``: other estimator parameters.

    python benchmarks/model_screen.py --variants '{"readout": "mean"}' \\
        '{"readout": "mean", "dropout": 0.3}' --datasets OSULeaf ACSF1 GunPoint --seeds 2 \\
        --log benchmarks/results/model_screen.jsonl
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import accuracy  # noqa: E402


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
            decoder = self.decoder
            training = self.training if noise is None else noise
            if training:
                gen = self.generator

                def drop(h):
                    keep = torch.rand(h.shape, generator=gen, device=h.device) >= rate
                    return decoder(h * keep.to(h.dtype) / (1 - rate))

                self.__dict__["decoder"] = drop  # shadows the registered module
            try:
                return forward(self, x, lengths, step_scale, noise)
            finally:
                self.__dict__.pop("decoder", None)

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
