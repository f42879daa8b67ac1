"""scikit-learn's own estimator checks on both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknrnn import NoisyRNNClassifier, NoisyRNNRegressor

# Small models so that the ~90 checks run in well under a minute each.
ESTIMATORS = [
    NoisyRNNClassifier(hidden_size=16, max_iter=30, random_state=0),
    NoisyRNNRegressor(hidden_size=16, max_iter=30, random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
