"""Every random stream of a fit comes from the estimator's own generators.

Nothing is drawn from, or written to, torch's global generators (CPU or CUDA), so
that other code drawing from them (in this thread or another) cannot change a fit,
and predicting cannot change other code's random numbers.
"""

import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sknrnn import NoisyRNNClassifier, fgsm

from conftest import TINY


class _DrawFromGlobal(Callback):
    """Draws from torch's global generator at every batch, as other code may."""

    def on_batch_begin(self, net, **kwargs):
        torch.rand(3)


@pytest.fixture(scope="module")
def data(toy):
    return toy


def _global_draws_after(action):
    torch.manual_seed(0)
    action()
    return torch.rand(5)


def test_predict_does_not_draw_from_the_global_generator(data):
    X, y = data
    clf = NoisyRNNClassifier(**TINY).fit(X, y)
    expected = _global_draws_after(lambda: None)
    for method in (clf.predict, clf.predict_proba):
        assert torch.equal(_global_draws_after(lambda: method(X)), expected)
    assert torch.equal(_global_draws_after(lambda: clf.score(X, y)), expected)
    assert torch.equal(_global_draws_after(lambda: fgsm(clf, X, y, 0.1)), expected)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_draws_from_the_global_generator_do_not_change_a_fit(data, early_stopping):
    X, y = data
    params = dict(TINY, early_stopping=early_stopping, validation_fraction=0.25, max_iter=3)
    clean = NoisyRNNClassifier(**params).fit(X, y)
    disturbed = NoisyRNNClassifier(**params, callbacks=[_DrawFromGlobal()]).fit(X, y)
    np.testing.assert_array_equal(disturbed.predict_proba(X), clean.predict_proba(X))
    # continued training too (warm start and partial_fit)
    clean.set_params(warm_start=True).fit(X, y).partial_fit(X, y)
    disturbed.set_params(warm_start=True).fit(X, y).partial_fit(X, y)
    np.testing.assert_array_equal(disturbed.predict_proba(X), clean.predict_proba(X))


def test_fit_neither_reads_nor_moves_the_global_generator(data):
    X, y = data
    expected = _global_draws_after(lambda: None)
    assert torch.equal(_global_draws_after(lambda: NoisyRNNClassifier(**TINY).fit(X, y)), expected)
    # and its result does not depend on the global seed
    torch.manual_seed(1)
    a = NoisyRNNClassifier(**TINY).fit(X, y).predict_proba(X)
    torch.manual_seed(2)
    b = NoisyRNNClassifier(**TINY).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_each_continued_call_draws_new_noise_and_a_reload_the_same(data):
    X, y = data
    clf = NoisyRNNClassifier(**TINY, warm_start=True).fit(X, y)
    saved = pickle.loads(pickle.dumps(clf))
    clf.fit(X, y)
    saved.fit(X, y)
    np.testing.assert_array_equal(saved.predict_proba(X), clf.predict_proba(X))


def test_predict_leaves_the_module_as_it_was(data):
    X, y = data
    clf = NoisyRNNClassifier(**TINY).fit(X, y)
    clf.module_.eval()
    expected, attacked = clf.predict_proba(X), fgsm(clf, X, y, 0.1)
    clf.module_.train()  # a mode set by someone else: left alone, and no noise in predict
    before = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    np.testing.assert_array_equal(clf.predict_proba(X), expected)
    np.testing.assert_array_equal(fgsm(clf, X, y, 0.1), attacked)
    assert clf.module_.training
    for key, value in clf.module_.state_dict().items():
        assert torch.equal(value, before[key])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_leaves_the_global_cuda_generator_alone(data):
    X, y = data
    torch.cuda.manual_seed_all(0)
    state = torch.cuda.get_rng_state()
    clf = NoisyRNNClassifier(**TINY, device="cuda").fit(X, y)
    clf.set_params(warm_start=True).fit(X, y)
    clf.predict(X)
    assert torch.equal(torch.cuda.get_rng_state(), state)
    # the same seed gives the same model twice on CUDA, whatever the global CUDA seed
    torch.cuda.manual_seed_all(5)
    again = NoisyRNNClassifier(**TINY, device="cuda").fit(X, y)
    again.set_params(warm_start=True).fit(X, y)
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    assert next(clf.module_.parameters()).device.type == "cuda"


def test_fits_and_predictions_in_threads_do_not_disturb_each_other(data):
    import threading

    X, y = data
    params = dict(TINY, max_iter=4)
    alone = NoisyRNNClassifier(**params).fit(X, y).predict_proba(X)
    other = NoisyRNNClassifier(**{**params, "random_state": 1}).fit(X, y)
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            other.predict_proba(X)
            torch.rand(10)

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        results = [None, None]

        def fit(i):
            results[i] = NoisyRNNClassifier(**params).fit(X, y).predict_proba(X)

        fits = [threading.Thread(target=fit, args=(i,)) for i in range(2)]
        for t in fits:
            t.start()
        for t in fits:
            t.join()
    finally:
        stop.set()
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, alone)


def test_concurrent_predictions_of_one_model_agree(data):
    import threading

    X, y = data
    clf = NoisyRNNClassifier(**TINY, noise_level=1.0).fit(X, y)
    clf.module_.train()  # as skorch may leave it: predict must not depend on the mode
    expected = clf.predict_proba(X)
    results = []

    def predict():
        for _ in range(30):
            results.append(clf.predict_proba(X))

    threads = [threading.Thread(target=predict) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 90
    for result in results:
        np.testing.assert_array_equal(result, expected)
