"""The ``mlp`` backend: a fully connected PyTorch network trained through skorch.

Importing this module imports torch and skorch (the registry imports it only when ``"mlp"`` is
asked for); without them it raises an ImportError naming the ``torch`` extra.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import validate_data

from ._base import LOSSES, BackendCapabilities
from ._torch import TorchClassifierBase, check_sizes, make_mlp, nn

__all__ = ["MLPClassifier"]


class _MLPModule(nn.Module):
    def __init__(self, n_in, hidden_sizes):
        super().__init__()
        self.body = make_mlp(n_in, hidden_sizes, n_out=1)

    def forward(self, X, sample_weight=None):
        return self.body(X).squeeze(-1)


class MLPClassifier(TorchClassifierBase):
    """A fully connected network whose output estimates the log likelihood ratio (``mlp``).

    Inputs are standardised (mean 0, variance 1 per feature, fitted on the training data), passed
    through ReLU layers of ``hidden_sizes`` and a linear output ``g(x)``. Training minimises the
    per-sample-weighted sum of the chosen loss (see :mod:`sklhep.backends._base`) with AdamW,
    stopping early when the loss on a held-out validation split has not improved for ``patience``
    epochs and restoring the best weights.

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(64, 64)
        Widths of the hidden layers.
    loss : {"bce", "mlc", "mse", "sqrt"}, default="bce"
        The per-event loss. Whatever the loss, ``decision_function`` estimates ``log p/q`` when the
        classes carry equal total weight.
    lr : float, default=1e-3
        AdamW learning rate.
    batch_size : int, default=256
    max_epochs : int, default=100
    patience : int or None, default=10
        Epochs without improvement of the validation loss before stopping (the step is cut by 0.3
        after ``max(1, patience // 4)`` such epochs); None trains all ``max_epochs`` with the step
        decaying as a cosine from ``lr`` to 0, the reliable choice for the noisy ``mlc`` loss.
    validation_fraction : float, default=0.2
        Fraction of the training data held out (stratified) for early stopping; 0 disables it.
    weight_decay : float, default=0.0
        AdamW weight decay.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU; or ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, the validation split and the batch order; an int makes CPU
        runs repeatable (the caller's global torch RNG is left untouched).
    verbose : int, default=0
        If truthy, a progress bar over epochs shows the training and validation loss.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The class labels; ``classes_[1]`` is class 1 (the numerator of the ratio).
    n_features_in_ : int
    scale_mean_, scale_std_ : ndarray of shape (n_features,)
        The input standardisation.
    net_ : skorch.NeuralNet
        The trained skorch net (its ``module_`` is the torch module).
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        The epoch whose weights were kept.
    train_loss_curve_, validation_loss_curve_ : ndarray
        Loss per epoch (validation is None without a validation split).

    See Also
    --------
    sklhep.backends.set_nets.EFNClassifier, sklhep.backends.set_nets.PFNClassifier

    References
    ----------
    .. [1] K. Cranmer, J. Pavez, G. Louppe, "Approximating likelihood ratios with calibrated
       discriminative classifiers", arXiv:1506.02169.
    .. [2] A. Andreassen, B. Nachman, "Neural networks for full phase-space reweighting and
       parameter tuning", Phys. Rev. D 101, 091901 (2020), arXiv:1907.08209.

    Examples
    --------
    >>> import numpy as np
    >>> from sklhep.backends.torch_nets import MLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(1, 1, (500, 1)), rng.normal(-1, 1, (500, 1))]
    >>> y = np.r_[np.ones(500), np.zeros(500)]
    >>> clf = MLPClassifier(hidden_sizes=(16,), max_epochs=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X).shape
    (1000, 2)
    """

    sklhep_capabilities = BackendCapabilities(
        sample_weight=True, losses=LOSSES, particle_sets=False, max_features=None,
        signed_weights=True,
    )

    _parameter_constraints = {
        **TorchClassifierBase._parameter_constraints,
        "hidden_sizes": ["array-like"],  # positive ints, checked by check_sizes
    }

    def __init__(
        self,
        hidden_sizes=(64, 64),
        loss="bce",
        lr=1e-3,
        batch_size=256,
        max_epochs=100,
        patience=10,
        validation_fraction=0.2,
        weight_decay=0.0,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.hidden_sizes = hidden_sizes
        self.loss = loss
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _prepare(self, X, fitting):
        if hasattr(X, "shape") and len(X.shape) == 3:
            raise ValueError(
                f"MLPClassifier takes a 2-D array (n_samples, n_features); got shape "
                f"{np.shape(X)}. For padded particle sets use the 'efn' or 'pfn' backend."
            )
        X = validate_data(self, X, reset=fitting, dtype=np.float64)
        if fitting:
            check_sizes(self.hidden_sizes, "hidden_sizes")
            self.scale_mean_ = X.mean(axis=0)
            std = X.std(axis=0)
            self.scale_std_ = np.where(std > 0, std, 1.0)
        Xs = (X - self.scale_mean_) / self.scale_std_
        return {"X": Xs.astype(np.float32)}

    def _build_module(self):
        return _MLPModule(self.n_features_in_, check_sizes(self.hidden_sizes, "hidden_sizes"))
