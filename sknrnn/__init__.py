"""sknrnn: noisy recurrent neural networks (Lim et al., NeurIPS 2021) for scikit-learn."""

from ._classes import NoisyRNNClassifier, NoisyRNNRegressor
from ._sde import NoisyRNN
from ._validation import pad_sequences
from ._formats import from_channels_first, from_wide
from ._onnx import register_onnx_converter, to_onnx
from . import diagnostics
from .diagnostics import lyapunov_exponent, stability_margin, stability_report
from . import perturbations
from .perturbations import fgsm, multiplicative_noise, pgd, salt_and_pepper, white_noise
from .robustness import (
    RobustnessCurveDisplay,
    make_robustness_scorer,
    robustness_curve,
    robustness_score,
)

__version__ = "0.4.0"

__all__ = [
    "NoisyRNNClassifier",
    "NoisyRNNRegressor",
    "NoisyRNN",
    "pad_sequences",
    "from_channels_first",
    "from_wide",
    "to_onnx",
    "register_onnx_converter",
    "diagnostics",
    "stability_margin",
    "stability_report",
    "lyapunov_exponent",
    "perturbations",
    "white_noise",
    "multiplicative_noise",
    "salt_and_pepper",
    "fgsm",
    "pgd",
    "robustness_score",
    "robustness_curve",
    "make_robustness_scorer",
    "RobustnessCurveDisplay",
    "__version__",
]
