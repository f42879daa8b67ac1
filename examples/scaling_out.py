"""
Searching on a Dask cluster
===========================

The noise of an NRNN searched on a Dask cluster, with the results of a local run.
(The documentation shows this example without running it: it starts a cluster.)

GridSearchCV over noise_type x noise_level on digits read as 64-step
sequences runs its fits on the workers of a Dask cluster through joblib's Dask
backend; the refit of the best model runs here. Each worker process runs one
fit at a time with a set number of torch threads (a worker plugin), so that the
workers together use the cores they have and no more. The same search run
locally (joblib's default backend) gives the same ``cv_results_``.

By default the cluster is a LocalCluster of 2 worker processes on this
machine; ``--scheduler`` points the same code at a running cluster. On a worker
with a GPU the estimator's ``device="auto"`` picks CUDA; there the scores agree
with a CPU run to float round-off rather than bit for bit.

Run::

    python examples/scaling_out.py                                  # a few minutes on 2 cores
    python examples/scaling_out.py --fast                           # a smoke run
    python examples/scaling_out.py --scheduler tcp://scheduler:8786 # a running cluster
"""

import argparse
from contextlib import ExitStack

import joblib
import numpy as np
from distributed import Client, LocalCluster, WorkerPlugin
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

from sknrnn import NoisyRNNClassifier


class TorchThreads(WorkerPlugin):
    """``torch.set_num_threads(n_threads)`` on every worker, present and future."""

    name = "torch-threads"

    def __init__(self, n_threads):
        self.n_threads = n_threads

    def setup(self, worker):
        import torch

        torch.set_num_threads(self.n_threads)


def _torch_threads():
    import torch

    return torch.get_num_threads()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Search the noise of an NRNN on a Dask cluster")
    parser.add_argument("--fast", action="store_true", help="few epochs on a subset (smoke run)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="address of a running Dask scheduler (default: a LocalCluster)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads per worker")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)  # each row a 64-step sequence
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, stratify=y, random_state=0)
    if args.fast:
        X_train, y_train, X_test, y_test = X_train[:200], y_train[:200], X_test[:100], y_test[:100]
    search = GridSearchCV(
        NoisyRNNClassifier(hidden_size=16 if args.fast else 32,
                           max_iter=8 if args.fast else 30, random_state=0),
        {"noise_type": ["none", "additive", "multiplicative"],
         "noise_level": [0.1] if args.fast else [0.05, 0.2]},
        cv=2 if args.fast else 3, n_jobs=-1,
    )

    with ExitStack() as stack:
        if args.scheduler:
            address = args.scheduler
        else:  # 2 worker processes, one fit at a time in each
            address = stack.enter_context(LocalCluster(n_workers=2, threads_per_worker=1,
                                                       processes=True, dashboard_address=":0"))
        client = stack.enter_context(Client(address))
        client.register_plugin(TorchThreads(args.torch_threads))
        # in the thread that runs tasks on each worker
        threads = [client.submit(_torch_threads, workers=[worker], pure=False).result()
                   for worker in client.scheduler_info()["workers"]]
        print(f"{len(threads)} workers, torch threads per worker: {threads}")

        on_dask = clone(search)  # a fresh search for each run
        with joblib.parallel_backend("dask"):
            on_dask.fit(X_train, y_train)
    print(f"best params on Dask: {on_dask.best_params_} "
          f"(cv accuracy {on_dask.best_score_:.3f}, test accuracy {on_dask.score(X_test, y_test):.3f})")

    # the same search on this machine (no refit: only its cv_results_ are compared)
    local = clone(search).set_params(refit=False).fit(X_train, y_train)
    a, b = on_dask.cv_results_, local.cv_results_
    difference = np.max(np.abs(a["mean_test_score"] - b["mean_test_score"]))
    same = (list(a["params"]) == list(b["params"]) and difference <= 1e-12
            and np.array_equal(a["rank_test_score"], b["rank_test_score"]))
    print(f"cv_results_ on Dask equal to the local run: {same} "
          f"(largest difference of mean_test_score {difference:.1e})")


if __name__ == "__main__":
    main()
