"""The public estimators: a thin classifier and a thin regressor over BaseNoisyRNN.

Pure scikit-learn: the targets (classes and class weights, or the target
scaling), predictions and scores, and the documentation of the parameters.
"""

import inspect

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d
from ._base import BaseNoisyRNN
from ._params import parameter_constraints, parameter_docs
from ._validation import mean_and_scale, unstandardize

# The parameters' docs come from the table of _params.py, as their constraints do.
_PARAMS_DOC = parameter_docs()

_ATTRS_DOC = """
    n_features_in_ : int
        Number of time steps seen in fit (the padded length). At prediction a
        2D table needs this many columns (they are its features); 3D sequences
        may have any number of steps.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names, when X was a DataFrame with string column names.

    n_channels_in_ : int
        Number of channels of the sequences seen in fit.

    window_ : int
        Observations read per step of the recurrence (``window``, or the
        ``"auto"`` rule on the median length of the sequences seen in fit).

    standardize_ : {"channel", "step"}
        How X is standardized (``standardize``, or the ``"auto"`` rule on the
        data seen in fit).

    time_step_ : float or None
        Median spacing of the observation times given to fit (the unit of the
        integration step); None when fit had no times.

    n_iter_ : int
        Number of epochs run to their end (an epoch cut short by a diverging
        loss or a KeyboardInterrupt does not count).

    loss_curve_ : list of float
        Training loss of each epoch.

    best_loss_ : float or None
        The lowest training loss of ``loss_curve_``, as in scikit-learn's
        ``MLPClassifier``; None after a fit that held out a validation set
        (``early_stopping=True``), which keeps the weights of the epoch of
        the lowest validation loss instead (``partial_fit`` holds none out).

    net_ : skorch.NeuralNetClassifier or skorch.NeuralNetRegressor
        The fitted skorch net (its ``history`` holds the training log).
"""


_FRAGMENTS = {
    "params": _PARAMS_DOC,
    "classifier_params": parameter_docs("classifier"),
    "attrs": _ATTRS_DOC,
    "X_predict": """        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
            Sequences. 3D sequences may have any number of steps (NaN end
            padding allowed); a 2D table needs the ``n_features_in_`` columns
            seen in fit (pass ``X[:, :, np.newaxis]`` for another length).
""",
    "X_score": """        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
            Sequences, of any number of steps when 3D (as in ``predict``).
""",
    "times_predict": """        times : array-like of shape (n_samples, n_timesteps), default=None
            Observation times, required when the model was fitted with times
            (see ``fit``).
""",
    "weights_times_partial_fit": """        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sequence in the loss (see ``fit``).
        times : array-like of shape (n_samples, n_timesteps), default=None
            Observation times (see ``fit``): on every call or on none.
""",
}


def _doc(text):
    """``text`` with each ``%(name)s`` replaced by the fragment of that name."""
    for name, fragment in _FRAGMENTS.items():
        text = text.replace(f"%({name})s", fragment)
    return text


def _documented(method):
    """A method whose docstring has its fragments filled in (see ``_doc``)."""
    method.__doc__ = _doc(method.__doc__)
    return method


class NoisyRNNClassifier(ClassifierMixin, BaseNoisyRNN):
    __doc__ = _doc(
        """Noisy recurrent neural network classifier of sequences.

    An NRNN (Lim et al., NeurIPS 2021): a Lipschitz RNN whose hidden state is an
    Ito SDE, trained with injected noise and predicting deterministically. A
    linear decoder turns what ``readout`` reads of the hidden states (by
    default the last state and the mean of the states, of both readers) into
    class logits.

    Parameters
    ----------
%(params)s
%(classifier_params)s
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
%(attrs)s
    See Also
    --------
    NoisyRNNRegressor : The same model for regression.

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import NoisyRNNClassifier
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(2, size=60)
    >>> X = rng.normal(size=(60, 12)) + 2 * y[:, None]  # 60 sequences of 12 steps
    >>> clf = NoisyRNNClassifier(hidden_size=16, max_iter=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """
    )

    _TARGET_NAME = "the class label"
    _parameter_constraints: dict = parameter_constraints("classifier")

    # The parameters of BaseNoisyRNN.__init__ and class_weight. The signature below is
    # what scikit-learn (get_params, clone) and help() read: the keywords are spelled
    # out once, in BaseNoisyRNN.
    def __init__(self, hidden_size=64, *, class_weight=None, **params):
        super().__init__(hidden_size, **params)
        self.class_weight = class_weight

    __init__.__signature__ = inspect.signature(BaseNoisyRNN.__init__).replace(
        parameters=[
            *inspect.signature(BaseNoisyRNN.__init__).parameters.values(),
            inspect.Parameter("class_weight", inspect.Parameter.KEYWORD_ONLY, default=None),
        ]
    )

    @_documented
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None, times=None):
        """Train for one epoch on (X, y), from the current weights.

        The first call initializes the model (like ``fit``, without early
        stopping) and needs every class, in ``y`` or in ``classes``. Every
        call trains at the constant rate ``learning_rate_init``, whatever
        ``lr_schedule``, on all of X (no early stopping), as scikit-learn's MLP
        does, with the parameters as they are now (see ``fit``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All the classes, required on the first call when y lacks some.
%(weights_times_partial_fit)s
        Returns
        -------
        self : object
        """
        return self._partial_fit(
            X, y, classes=classes, sample_weight=sample_weight, times=times
        )

    def _check_class_weight(self):
        """Refuse class weights that are not finite and non-negative, all zero, or of no class."""
        if not isinstance(self.class_weight, dict):
            return
        known = set(self.classes_.tolist())
        unknown = [label for label in self.class_weight if label not in known]
        if unknown:
            raise ValueError(
                f"class_weight has keys {unknown[:5]!r} that are not classes of this "
                f"{type(self).__name__} (classes_ = {self.classes_[:10].tolist()}): give "
                "weights to classes only (a class left out weighs 1), with labels of the "
                "same type as y."
            )
        bad = {}
        for label, weight in self.class_weight.items():
            try:
                value = float(weight)
            except (TypeError, ValueError):
                value = np.nan
            if not (np.isfinite(value) and value >= 0):
                bad[label] = weight
        if bad:
            raise ValueError(
                "class_weight must map each class to a finite, non-negative weight (as "
                f"sample_weight must be); got {bad!r}. A weight of 0 leaves a class out of "
                "the loss."
            )
        if self.class_weight and not any(float(w) > 0 for w in self.class_weight.values()):
            raise ValueError(
                f"class_weight gives every class weight 0 ({self.class_weight!r}): give at "
                "least two classes a positive weight."
            )

    def _loss_weights(self, sample_weight, targets, *, reset, partial):
        weights = sample_weight
        self._check_class_weight()
        if isinstance(self.class_weight, str) and not reset and not partial:
            # A warm-start fit may lack some fitted classes: "balanced" over the classes
            # present (n_samples / (n_present * count)); an absent class has no sequence
            # to weigh.
            present = np.unique(targets)
            per_class = np.zeros(len(self.classes_))
            per_class[present] = compute_class_weight(
                "balanced", classes=present, y=targets
            )
            return weights * per_class[targets]
        if self.class_weight is not None:
            if partial and isinstance(self.class_weight, str):
                raise ValueError(
                    f"class_weight={self.class_weight!r} is not supported by partial_fit: "
                    "each call sees only part of the data. Compute the weights once, e.g. "
                    "compute_class_weight('balanced', classes=classes, y=y) from "
                    "sklearn.utils.class_weight on a large enough sample of y, and pass them "
                    "as class_weight={label: weight}."
                )
            per_class = compute_class_weight(
                self.class_weight, classes=self.classes_, y=self.classes_[targets]
            )
            weights = weights * per_class[targets]
        if reset and not partial:  # a first partial_fit may see one class (classes=)
            weighted = np.unique(targets[weights > 0])
            if len(weighted) < 2:
                raise ValueError(
                    "Only one class has a positive weight "
                    f"({self.classes_[weighted].tolist()}): sample_weight and class_weight "
                    "must leave at least two classes to learn from."
                )
        return weights

    def _prepare_targets(self, y, *, reset, classes=None, sample_weight=None):
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"), warn=True)
        check_classification_targets(y)
        if reset:
            vars(self).pop("classes_", None)  # a first partial_fit: classes= decides
        if classes is not None:  # partial_fit: set on the first call, the same later
            _check_partial_fit_first_call(self, classes)
        elif reset:
            self.classes_ = np.unique(y)
        if reset and len(self.classes_) < 2:
            raise ValueError(
                f"y contains only one class ({self.classes_[0]!r}); a classifier needs at "
                "least two classes in the training data (or pass classes= to partial_fit)."
            )
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(
                f"y has labels {unseen[:5].tolist()} not seen in fit (classes_ = "
                f"{self.classes_[:10].tolist()}). To train on new classes, pass every class to "
                "the first partial_fit call (classes=...) or fit anew."
            )
        return np.searchsorted(self.classes_, y).astype(np.int64), len(self.classes_)

    @_documented
    def predict_proba(self, X, times=None):
        """Class probabilities of the sequences in X.

        Parameters
        ----------
%(X_predict)s%(times_predict)s
        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; each row sums to one.
        """
        # In float64 from the logits (the net's own softmax, float32, serves skorch's
        # scoring callbacks during training).
        logits = self._deterministic_outputs(X, times)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    @_documented
    def predict(self, X, times=None):
        """Predicted class of each sequence in X.

        Parameters
        ----------
%(X_predict)s%(times_predict)s
        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        indices = np.argmax(self._deterministic_outputs(X, times), axis=1)
        return self.classes_[indices]

    @_documented
    def score(self, X, y, sample_weight=None, times=None):
        """Accuracy on (X, y), as ``ClassifierMixin.score``, with optional times.

        Parameters
        ----------
%(X_score)s        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
%(times_predict)s
        Returns
        -------
        score : float
        """
        return accuracy_score(y, self.predict(X, times), sample_weight=sample_weight)


class NoisyRNNRegressor(RegressorMixin, BaseNoisyRNN):
    __doc__ = _doc(
        """Noisy recurrent neural network regressor of sequences.

    An NRNN (Lim et al., NeurIPS 2021): a Lipschitz RNN whose hidden state is an
    Ito SDE, trained with injected noise and predicting deterministically. A
    linear decoder turns what ``readout`` reads of the hidden states (by
    default the last state and the mean of the states, of both readers) into
    the targets, which are standardized inside (each output to zero mean and unit variance) so that
    they need no scaling by the user.

    Parameters
    ----------
%(params)s
    Attributes
    ----------
%(attrs)s
    See Also
    --------
    NoisyRNNClassifier : The same model for classification.

    Examples
    --------
    >>> import numpy as np
    >>> from sknrnn import NoisyRNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(80, 10))
    >>> y = 3.0 * X.mean(axis=1) + 10.0
    >>> reg = NoisyRNNRegressor(hidden_size=16, max_iter=30, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> bool(reg.score(X, y) > 0.8)
    True
    """
    )

    _TARGET_NAME = "the target value(s)"

    @_documented
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, times=None):
        """Train for one epoch on (X, y), from the current weights.

        The first call initializes the model (like ``fit``, without early
        stopping) and sets the target scaling from its y. Every call trains at
        the constant rate ``learning_rate_init``, whatever ``lr_schedule``, on
        all of X (no early stopping), as scikit-learn's MLP does, with the
        parameters as they are now (see ``fit``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_channels)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
%(weights_times_partial_fit)s
        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight=sample_weight, times=times)

    def _prepare_targets(self, y, *, reset, classes=None, sample_weight=None):
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1D or 2D; got an array of shape {y.shape}.")
        y2 = y.reshape(len(y), -1)
        if reset:
            self._y_ndim = y.ndim
            self._y_mean, self._y_scale = mean_and_scale(y2, sample_weight)
        elif y2.shape[1] != len(self._y_mean):
            raise ValueError(
                f"y has {y2.shape[1]} outputs but the model was fitted with {len(self._y_mean)}."
            )
        # In the units of y: the criterion standardizes (in float64), so that the net's
        # predictions and skorch's scoring callbacks see y as the user gave it.
        return y2, y2.shape[1]

    def _target_scaling(self):
        return self._y_mean, self._y_scale

    @_documented
    def predict(self, X, times=None):
        """Predicted targets of the sequences in X.

        Parameters
        ----------
%(X_predict)s%(times_predict)s
        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Same number of dimensions as the y given to fit.
        """
        y = unstandardize(self._deterministic_outputs(X, times), self._y_mean, self._y_scale)
        return y.ravel() if self._y_ndim == 1 else y

    @_documented
    def score(self, X, y, sample_weight=None, times=None):
        """R^2 on (X, y), as ``RegressorMixin.score``, with optional times.

        Parameters
        ----------
%(X_score)s        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
%(times_predict)s
        Returns
        -------
        score : float
        """
        return r2_score(y, self.predict(X, times), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
