"""sknrnn: noisy recurrent neural networks (Lim et al., NeurIPS 2021) for scikit-learn."""

from ._classes import NoisyRNNClassifier, NoisyRNNRegressor
from ._validation import pad_sequences

__version__ = "0.1.0"

__all__ = ["NoisyRNNClassifier", "NoisyRNNRegressor", "pad_sequences", "__version__"]
