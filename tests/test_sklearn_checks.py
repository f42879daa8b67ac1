"""scikit-learn's own estimator checks on both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor

# Small, fast models: the checks fit ~100 estimators on tables of ~200 rows, so
# they train at twice the default rate. The regressor needs 60 epochs of 4 steps to
# reach the training R^2 > 0.5 that check_regressors_train asks (30 gave 0.44 once
# the decoder read the mean state and the first epoch warmed up; the defaults run
# ~2000 steps).
ESTIMATORS = [
    NoisyRNNClassifier(hidden_size=32, max_iter=30, batch_size=64, learning_rate_init=0.01,
                       random_state=0),
    NoisyRNNRegressor(hidden_size=32, max_iter=60, batch_size=64, learning_rate_init=0.01,
                      random_state=0),
]

SUBSET = (
    "float32 arithmetic: BLAS blocks a matrix product by its number of rows, so a "
    "sequence's outputs (the regressor's predictions, the classifier's probabilities) "
    "computed in a batch of 20 and in a batch of 1 differ by ~1e-7, around the check's "
    "rtol=atol=1e-7; which entries cross it depends on the fitted weights. Predictions "
    "in batches and chunks agree with those of the whole set to that round-off "
    "(tests/test_validation.py::test_predict_streams_in_batches_and_chunks_agree)."
)

WEIGHTS = (
    "training injects noise drawn per sequence, so a sequence repeated k times draws k "
    "noise paths where one of weight k draws one (and, over several minibatches, repeated "
    "data shuffle differently): the two fits agree in expectation, not to rtol=1e-7. "
    "Without noise and in one minibatch they agree to float32 round-off "
    "(tests/test_weights.py::test_integer_weights_equal_removed_and_repeated_sequences)."
)


def _expected_failed_checks(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": WEIGHTS,
        "check_methods_subset_invariance": SUBSET,
    }


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_the_readme_names_the_expected_failures():
    """The README said both estimators pass the checks, with no exception (the text is
    now the documentation's page of the estimators)."""
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "estimators.md"
    text = page.read_text()
    section = text[text.index("# The estimators"):text.index("| parameter |")]
    named = set(re.findall(r"`(check_\w+)`", section)) - {"check_estimator"}
    assert named == set(_expected_failed_checks(ESTIMATORS[0]))
    assert "expected failures" in section
