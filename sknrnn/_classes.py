"""The public estimators: a thin classifier and a thin regressor over BaseNoisyRNN.

Pure scikit-learn: the targets (classes and class weights, or the target
scaling), predictions and scores, and the documentation of the parameters.
"""

import inspect

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d
from ._base import BaseNoisyRNN
from ._validation import mean_and_scale, unstandardize

_PARAMS_DOC = """
    hidden_size : int, default=64
        Dimension of the hidden state.

    noise_type : {"none", "additive", "multiplicative", "mixed"}, default="mixed"
        Diffusion of the SDE: ``sigma(h) = s1`` (additive), ``s2 * h``
        (multiplicative) or ``s1 + s2 * h`` (mixed), elementwise per hidden unit.
        ``"none"`` is the deterministic Lipschitz RNN. Noise is injected in
        training only; prediction is deterministic. The default, mixed noise of
        level 0.2, was chosen on the six sets of 0.4's development suite
        (``benchmarks/accuracy.py``) by accuracy under perturbed inputs at
        matched clean accuracy; on the 27 sets of today's suite it keeps its
        lead under perturbed inputs but costs clean accuracy on a few small
        sets (``benchmarks/README.md``).

    noise_level : float or (float, float), default=0.2
        The level ``s1`` and/or ``s2``; for ``"mixed"`` a single float sets both
        or a pair gives ``(s1, s2)``. Levels are those of the continuous-time SDE:
        each step adds ``sqrt(dt) * sigma(h) * xi`` with ``xi`` of mean 0 and
        variance 1 per unit (see ``noise_increment``), so the noise does not change
        meaning when ``dt`` changes. Ignored when ``noise_type="none"``.

    noise_increment : {"rademacher", "gaussian"}, default="rademacher"
        Distribution of the draws ``xi`` of the noise increment:
        ``"gaussian"``, ``xi ~ N(0, I)``, is Euler-Maruyama; ``"rademacher"``
        draws -1 or +1 with equal probability, the same mean and covariance per
        step: a weak order-1 scheme of the same SDE, which the training noise
        (a regularizer whose effect goes through its covariance) cannot tell
        apart, and several times cheaper to draw. Chosen as the default on the
        development suite of ``benchmarks/accuracy.py``, where both give the
        same accuracy, clean and perturbed (``benchmarks/README.md``).

    solver : {"euler", "midpoint"}, default="euler"
        Integrator: Euler-Maruyama, or the explicit midpoint rule for the drift
        (two drift evaluations a step, the noise term unchanged).

    dt : float, (float, float) or "auto", default="auto"
        Initial integration step per hidden unit: a float gives every unit that
        step; a ``(dt_min, dt_max)`` range spreads the units' steps geometrically
        over it, so that some units integrate over the whole sequence and others
        over a few steps (every step at least ``1.2e-38``, float32's smallest
        normal number). ``"auto"``, for a recurrence of ``S`` steps
        (``S = ceil(L / window_)``, ``L`` the median length of the sequences
        given to fit, see ``window``): every unit at 1 up to 64 steps (the
        recurrence spans the sequence at full resolution), the range
        ``(1 / S, 1)`` beyond.

    learn_dt : bool, default=True
        Train the per-unit step (kept strictly positive by a softplus).

    window : int or "auto", default="auto"
        Observations read per step of the recurrence: each step reads a window
        of ``window`` consecutive observations through a learned projection,
        so a series of ``T`` steps is integrated in ``ceil(T / window)`` steps
        (faster, and easier to train over long series). ``"auto"`` takes
        ``ceil(L / 128)``, where ``L`` is the median length of the sequences
        given to fit (their NaN end padding not counted, so one long sequence
        among short ones leaves them at full resolution): one observation per
        step up to 128 steps, windows beyond. The value used is ``window_``:
        continued training takes ``"auto"`` and the number ``window_`` alike
        (a fitted model keeps its window).

    bidirectional : bool, default=True
        Read each sequence both ways: a second SDE, with weights of its own,
        reads the windows from the last to the first, and the decoder reads
        both readers (twice the cost of one way; see ``readout``).

    augment : float in [0, 0.5), default=0.0
        Training-time augmentation of the input: each training sequence is
        cropped by up to this fraction of its length at each end, scaled by
        ``1 + augment * e`` and jittered by ``augment * z`` (``e``, ``z``
        standard normal, in the units of the standardized input), freshly at
        every epoch and never at prediction. 0 disables it.

    input_clip : float >= 1.2e-38 or None, default=3.0
        The model reads ``input_clip * tanh(x / input_clip)`` of the
        standardized input ``x``, in training and at prediction: values within
        one or two standard deviations pass almost unchanged (1 reads as 0.96),
        an outlier (a sensor's spike, a reading stuck at its rail) reaches at
        most ``input_clip``. Smooth, so gradient attacks still see the input.
        None reads the input as it is.

    readout : {"mean", "last", "max", "positions"}, default="mean"
        What the decoder reads of each reader's states: ``"mean"`` the last
        state and the mean of the states over the sequence's steps; ``"last"``
        the last state alone; ``"max"`` the last state and the elementwise
        maximum of the states; ``"positions"`` the last state and the states
        at a quarter, half and three quarters of the sequence.

    beta : float, default=0.75
        Lipschitz parametrization of the hidden matrices, from symmetric (0) to
        skew-symmetric (1).

    gamma : float, default=0.001
        Damping: shifts the spectrum of both hidden matrices left by ``gamma``.

    linear_weight : float, default=1.0
        Weight of the linear term ``A h`` in the drift (the paper's alpha).

    max_iter : int or "auto", default="auto"
        Number of epochs (an upper bound with ``early_stopping``). ``"auto"``
        runs as many epochs as give about 2000 optimizer steps, between 10 and
        1000 epochs: a small set trains to convergence (50 sequences in
        batches of 8: 286 epochs) and a large one stops sooner (10,000
        sequences in batches of 64: 13 epochs). Each call computes it from
        its own data (a warm-start ``fit`` runs that many more epochs).

    batch_size : int or "auto", default="auto"
        Minibatch size, capped at the number of samples. ``"auto"`` takes
        ``n_samples // 16`` sequences, between 8 and 64, from the data of
        each training call (after the validation set is held out).

    learning_rate_init : float, default=0.005
        Learning rate of the Adam optimizer.

    lr_schedule : {"cosine", "constant"}, default="cosine"
        Learning-rate schedule of each ``fit``: ``"cosine"`` starts at
        ``learning_rate_init`` and anneals to 0 over the epochs that the call
        plans (``max_iter``, or the "auto" budget), its first epoch warming up
        (batch ``k`` of ``b`` at ``k / b`` of the rate); ``"constant"`` trains at
        ``learning_rate_init``. A warm-start ``fit`` runs a schedule of its own
        in the same way, from the rate set now (Adam's moments are kept).
        ``partial_fit`` trains at the constant ``learning_rate_init``.

    clip_grad_norm : float or None, default=1.0
        Clip the gradient norm to this value at every step; None disables.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        classification), stop when the validation loss has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, and keep the best epoch.
        Applies to every ``fit``, a warm-start one included (also when
        ``partial_fit`` trained the model first); ``partial_fit`` never holds
        out a validation set.

    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping=True``.

    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.

    tol : float, default=1e-4
        Smallest decrease of the validation loss that counts as an improvement.

    random_state : int, RandomState instance or None, default=None
        Seeds initialization, shuffling, the validation split and the noise,
        each drawn from a generator of the estimator's own: torch's global
        generators (CPU and CUDA) are neither used nor moved. The same value
        gives the same model on the CPU.

    verbose : int, default=0
        0 is silent; 1 draws a progress bar over the epochs that each training
        call plans, with the last training (and validation) loss (tqdm: a
        widget in a notebook, on stderr in a terminal); 2 or more prints one
        line per epoch (skorch's log table, on stdout), and the epoch at which
        early stopping stops.

    device : str, default="auto"
        Torch device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``,
        ``"xpu"``, ... ``"auto"`` uses CUDA when available. A CUDA, MPS or XPU
        device on a machine without one trains on the CPU with a UserWarning
        (pass ``"cpu"`` or ``"auto"`` to go without it), and a model trained on
        a GPU loads and predicts on a CPU-only machine. The recurrence runs
        step by step, so a fit is not faster on a GPU yet (1.2-1.8x slower
        than the same machine's CPU where measured): ``"cpu"`` is the faster
        choice for now.

    warm_start : bool, default=False
        When True, ``fit`` on a fitted model goes on from its weights instead
        of starting anew: a new fit from the fitted weights, for ``max_iter``
        more epochs, with its own learning-rate schedule (see
        ``lr_schedule``) and, with ``early_stopping``, its own validation set.

    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (e.g. ``skorch.callbacks.Checkpoint``), or
        ``(name, callback)`` pairs, added to the training loop. skorch's
        scoring callbacks (``EpochScoring``) score class probabilities against
        y as indices into ``classes_`` (classifier), or predictions against y
        in its own units (regressor).

    module : subclass of :class:`sknrnn.NoisyRNN` or None, default=None
        The torch module of the recursion, as skorch's ``module=``: a class
        built with the keyword arguments that ``NoisyRNN`` takes. None is
        ``NoisyRNN`` itself. A subclass may override ``NoisyRNN``'s documented
        hooks to try a variant of the model (see its docstring) while the
        estimator keeps the data handling, the training loop and the
        persistence; a saved model refers to the class by its import path, so
        define it in an importable module. It shapes the weights: it cannot
        change on a fitted model.
"""

_ATTRS_DOC = """
    n_features_in_ : int
        Number of time steps seen in fit (the padded length). At prediction a
        2D table needs this many columns (they are its features); 3D sequences
        may have any number of steps.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame with string column names.

    n_channels_in_ : int
        Number of channels of the sequences seen in fit.

    window_ : int
        Observations read per step of the recurrence (``window``, or the
        ``"auto"`` rule on the median length of the sequences seen in fit).

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
    class_weight : dict, "balanced" or None, default=None
        Weight of each class in the loss, multiplying ``sample_weight`` there
        (the standardization of X stays weighted by ``sample_weight`` alone):
        ``{label: weight}`` (finite and non-negative, not all 0; classes left
        out weigh 1; a label that is not a class raises a ValueError),
        ``"balanced"`` for ``n_samples / (n_classes * np.bincount(y))`` from
        the y given to ``fit`` (a warm-start ``fit``
        balances the classes present in its y; an absent class has no sequence
        to weigh), or None for equal weights. ``partial_fit`` takes a dict or
        None (compute balanced weights once with
        ``sklearn.utils.class_weight.compute_class_weight`` and pass them).

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
    _parameter_constraints: dict = {
        **BaseNoisyRNN._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

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
