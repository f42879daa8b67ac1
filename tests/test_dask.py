"""GridSearchCV scaled out on a Dask cluster gives the results of a local run.

Each worker process runs one task at a time (``threads_per_worker=1``) with a
set number of torch threads, so that the workers together use the cores they
have and no more. The torch threads are set by a worker plugin, registered
from the client: it runs on every worker of the cluster, and on every worker
that joins or restarts later, before the worker runs a task.
"""

import os
from contextlib import contextmanager

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sknrnn import NoisyRNNClassifier

distributed = pytest.importorskip("distributed")

TORCH_THREADS = 1  # per worker: 2 single-threaded workers on a 2-core machine


class TorchThreads(distributed.WorkerPlugin):
    """``torch.set_num_threads(n_threads)`` on each worker."""

    name = "torch-threads"

    def __init__(self, n_threads):
        self.n_threads = n_threads

    def setup(self, worker):
        import torch

        torch.set_num_threads(self.n_threads)


def _torch_threads():
    import torch

    return torch.get_num_threads()


@contextmanager
def _client(n_workers, torch_threads):
    # The Nanny writes its pre-spawn variables (OMP_NUM_THREADS=1, ...) into this
    # process's environment: restore it, for the subprocesses of later tests.
    saved = dict(os.environ)
    try:
        with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster, \
                distributed.Client(cluster) as client:
            client.register_plugin(TorchThreads(torch_threads))
            yield client
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def client():
    with _client(n_workers=2, torch_threads=TORCH_THREADS) as client:
        yield client


def _threads_per_worker(client):
    """torch.get_num_threads() in the thread that runs tasks (where fits happen), per worker."""
    return {
        address: client.submit(_torch_threads, workers=[address], pure=False).result()
        for address in client.scheduler_info()["workers"]
    }


def _data(n=40, n_steps=12, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    X = rng.normal(size=(n, n_steps)) + 0.8 * y[:, None]
    return X, y


def test_workers_run_torch_with_the_threads_set(client):
    threads = _threads_per_worker(client)
    assert len(threads) == 2
    assert set(threads.values()) == {TORCH_THREADS}


def test_the_plugin_sets_the_threads():
    # Not the workers' default by chance: another count reaches the worker too.
    with _client(n_workers=1, torch_threads=2) as client:
        assert list(_threads_per_worker(client).values()) == [2]


def test_grid_search_on_dask_matches_local_run(client):
    X, y = _data()
    search = GridSearchCV(
        NoisyRNNClassifier(hidden_size=16, max_iter=5, batch_size=16, random_state=0),
        {"noise_type": ["none", "additive", "multiplicative"], "noise_level": [0.05, 0.5]},
        cv=2, n_jobs=-1,
    )
    # Each run fits a clone of the unfitted search, so both start from the same
    # estimator. (Unpickling a fitted model on a worker would not disturb a fit there
    # either: it draws nothing from torch's global generator, see
    # test_loading_draws_nothing_from_torchs_generator.) The local reference runs in this
    # process under joblib's default backend, with the workers' torch threads
    # (loky's process start-up alone would double this test's time).
    threads = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    try:
        local = clone(search).set_params(n_jobs=None).fit(X, y).cv_results_
    finally:
        torch.set_num_threads(threads)
    with joblib.parallel_backend("dask"):
        on_dask = clone(search).fit(X, y).cv_results_

    assert list(on_dask["params"]) == list(local["params"])
    np.testing.assert_allclose(on_dask["mean_test_score"], local["mean_test_score"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(on_dask["rank_test_score"], local["rank_test_score"])
    for key in ("split0_test_score", "split1_test_score"):
        np.testing.assert_allclose(on_dask[key], local[key], rtol=0, atol=1e-12)
    # the scores differ between candidates: the comparison is not between constants
    assert np.ptp(local["mean_test_score"]) > 0
