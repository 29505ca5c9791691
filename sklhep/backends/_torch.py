"""Shared PyTorch/skorch machinery for the network backends (``mlp``, ``efn``, ``pfn``).

One place for what every sklhep network does the same way:

- :func:`resolve_device`: ``device="auto"`` means CUDA when present, else CPU.
- :func:`loss_per_event_torch`: the four losses of the backend contract as torch functions (the
  numpy reference is :func:`sklhep.backends.loss_per_event`).
- :class:`WeightedLoss` and :class:`SklhepNet`: a skorch ``NeuralNet`` whose loss is the
  per-sample-weighted sum of the per-event terms, with a fast batch iterator over dicts of tensors
  and a fixed validation split.
- :class:`TorchClassifierBase`: the scikit-learn estimator around a skorch net: label handling,
  weights, seeding (``random_state`` makes CPU runs repeatable without touching the caller's global
  torch RNG), early stopping, the learning-rate schedule (:func:`_lr_schedule`), the per-epoch
  progress bar, and the output convention
  ``predict_proba[:, 1] == sigmoid(decision_function)``.

Importing this module imports torch and skorch; a missing one raises an ImportError naming the
``torch`` extra.
"""

from __future__ import annotations

import numbers
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._validation import Interval, StrOptions, check_sample_weight, import_optional
from ._base import LOSSES, LogRatioClassifierMixin, check_loss
from ._common import check_class_totals

torch = import_optional("torch", purpose="sklhep's network backends (mlp, efn, pfn)")
skorch = import_optional("skorch", purpose="sklhep's network backends (mlp, efn, pfn)")
nn = torch.nn

__all__ = [
    "SklhepNet",
    "TorchClassifierBase",
    "WeightedLoss",
    "loss_per_event_torch",
    "make_mlp",
    "resolve_device",
]


def resolve_device(device):
    """Turn a ``device`` parameter into a torch device string.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...

    Returns
    -------
    device : str
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:<index>'; got {device!r}."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available in this torch build "
            f"({torch.__version__}); use device='auto' or 'cpu', or install a CUDA build of torch."
        )
    return str(dev)


def loss_per_event_torch(loss, y, g):
    """The per-event losses of the backend contract, as differentiable torch functions.

    Parameters
    ----------
    loss : {"bce", "mlc", "mse", "sqrt"}
    y : tensor of shape (n,)
        Labels in {0, 1} (or soft labels in [0, 1]).
    g : tensor of shape (n,)
        Raw outputs on the log-ratio scale.

    Returns
    -------
    loss : tensor of shape (n,)

    See Also
    --------
    sklhep.backends.loss_per_event : the numpy reference these must match.
    """
    if loss == "bce":
        return y * nn.functional.softplus(-g) + (1 - y) * nn.functional.softplus(g)
    if loss == "mlc":
        return y * (-g) + (1 - y) * torch.expm1(g)
    if loss == "mse":
        s = torch.sigmoid(g)
        return y * (1 - s) ** 2 + (1 - y) * s**2
    if loss == "sqrt":
        return y * torch.exp(-g / 2) + (1 - y) * torch.exp(g / 2)
    check_loss(loss)  # raises, listing the valid names
    raise AssertionError("unreachable")  # pragma: no cover


class WeightedLoss(nn.Module):
    """Batch loss: ``sum_i w_i l(y_i, g_i) / n_batch`` (``w_i = 1`` when no weights are given).

    Dividing by the batch size (not by the batch's total weight) keeps the expected batch loss
    proportional to the full weighted sum, so per-sample weights enter exactly as the contract says.
    """

    def __init__(self, loss="bce"):
        super().__init__()
        self.loss = loss

    def forward(self, g, y, sample_weight=None):
        terms = loss_per_event_torch(self.loss, y.to(g.dtype), g.float())
        if sample_weight is not None:
            terms = terms * sample_weight.to(terms.dtype)
        return terms.mean()


class _BatchIterator:
    """Mini-batches of a dict of tensors by slicing: far faster than per-item collation.

    The training order is drawn from torch's global RNG, which the estimator seeds. For particle
    sets, ``particle_keys`` name the tensors whose axis 1 runs over particles and ``mask_key`` the
    one that is non-zero for real particles; the inputs must hold the real particles of each jet
    first, and every batch is trimmed to the largest multiplicity in it (padding costs nothing).
    """

    def __init__(self, X, y, batch_size, shuffle, particle_keys=(), mask_key=None):
        self.X, self.y = X, y
        self.n = len(next(iter(X.values())))
        self.batch_size = self.n if batch_size in (-1, None) else int(batch_size)
        self.shuffle = shuffle
        self.particle_keys = particle_keys
        self.mask_key = mask_key

    def __len__(self):
        return -(-self.n // self.batch_size)

    def __iter__(self):
        order = torch.randperm(self.n) if self.shuffle else None
        for start in range(0, self.n, self.batch_size):
            if order is None:
                idx = slice(start, start + self.batch_size)
            else:
                idx = order[start : start + self.batch_size]
            Xb = {k: v[idx] for k, v in self.X.items()}
            if self.mask_key is not None:
                n_max = max(int((Xb[self.mask_key] != 0).sum(dim=1).max()), 1)
                for k in self.particle_keys:
                    if k in Xb:
                        Xb[k] = Xb[k][:, :n_max]
            yb = None if self.y is None else self.y[idx]
            yield Xb, yb


class SklhepNet(skorch.NeuralNet):
    """A skorch ``NeuralNet`` with sklhep's weighted loss, fast batching and a fixed validation set.

    Inputs are dicts of tensors (keys are the module's ``forward`` arguments); an optional
    ``"sample_weight"`` entry weights the loss and is ignored by the module. The criterion is
    :class:`WeightedLoss`.
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        w = X.get("sample_weight") if isinstance(X, dict) else None
        y_true = skorch.utils.to_tensor(y_true, device=self.device)
        if w is not None:
            w = skorch.utils.to_tensor(w, device=self.device)
        return self.criterion_(y_pred, y_true, w)

    def get_dataset(self, X, y=None):
        if isinstance(X, skorch.dataset.Dataset):
            return X
        return skorch.dataset.Dataset(X, y, length=len(next(iter(X.values()))))

    def get_iterator(self, dataset, training=False):
        return _BatchIterator(
            dataset.X,
            dataset.y,
            self.batch_size,
            shuffle=training,
            particle_keys=getattr(self, "sklhep_particle_keys", ()),
            mask_key=getattr(self, "sklhep_mask_key", None),
        )

    def get_split_datasets(self, X, y=None, **fit_params):
        return self.get_dataset(X, y), getattr(self, "sklhep_valid_", None)


class _EpochProgress(skorch.callbacks.Callback):
    """A tqdm bar over epochs showing the training and validation loss."""

    def __init__(self, desc="training"):
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, desc=self.desc, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        post = {"train_loss": f"{row['train_loss']:.4g}"}
        if "valid_loss" in row:
            post["valid_loss"] = f"{row['valid_loss']:.4g}"
        self.bar_.set_postfix(post)
        self.bar_.update(1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.bar_.close()
        del self.bar_


def make_mlp(n_in, sizes, n_out=None, dropout=0.0, final_activation=True):
    """A stack of ``Linear`` + ``ReLU`` (+ dropout) layers; a last linear layer to ``n_out``."""
    layers = []
    for size in sizes:
        layers += [nn.Linear(n_in, size), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        n_in = size
    if n_out is not None:
        layers.append(nn.Linear(n_in, n_out))
    elif not final_activation and layers:
        layers = layers[:-1]
    return nn.Sequential(*layers)


def check_sizes(sizes, name, *, allow_empty=True):
    """Validate a tuple of layer sizes (positive ints; a float such as 16.5 is refused, not cut)."""
    try:
        items = tuple(sizes)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of positive ints; got {sizes!r}.") from None
    if (not items and not allow_empty) or any(
        isinstance(s, bool) or not isinstance(s, numbers.Integral) or s <= 0 for s in items
    ):
        raise ValueError(f"{name} must be a sequence of positive ints; got {sizes!r}.")
    return tuple(int(s) for s in items)


def _lr_schedule(estimator, early_stopping):
    """The learning-rate schedule: the step size must shrink for the last weights to settle.

    With a constant step the weights keep jumping around the minimum by an amount set by the
    gradient noise of a mini-batch, and for the ``mlc`` loss that noise is large: the ``e^g`` term
    of a few denominator events deep in the tail (where ``e^g`` is in the hundreds) dominates a
    batch. Measured on N(+1,1) vs N(-1,1), 100k events per class, the median ratio error at
    successive epochs of a constant-step run jumps between 1% and 20%, and it is biased low in the
    tail (noise on a loss that is steep above the minimum and flat below it pushes ``g`` down).
    Decaying the step removes both. With early stopping the step is cut by 0.3 after
    ``max(1, patience // 4)`` epochs without improvement of the validation loss (so it is small
    before training stops); without it, it follows a cosine from ``lr`` to 0 over ``max_epochs``.
    """
    if early_stopping:
        return skorch.callbacks.LRScheduler(
            policy="ReduceLROnPlateau",
            monitor="valid_loss",
            factor=0.3,
            patience=max(1, int(estimator.patience) // 4),
        )
    return skorch.callbacks.LRScheduler(
        policy="CosineAnnealingLR", T_max=int(estimator.max_epochs)
    )


class TorchClassifierBase(LogRatioClassifierMixin, ClassifierMixin, BaseEstimator):
    """Base class of sklhep's skorch backends: everything but the inputs and the module.

    Subclasses implement ``_prepare(X, fitting, **extra)`` (validate and turn the input into a dict
    of float32 arrays keyed by the module's ``forward`` arguments, fitting any input scaling when
    ``fitting``) and ``_build_module()``. They declare the constructor parameters used here:
    ``loss, lr, batch_size, max_epochs, patience, validation_fraction, weight_decay, device,
    random_state, verbose``.
    """

    _losses = LOSSES
    #: (keys whose axis 1 runs over particles, the key marking real particles) for set inputs.
    _particle_keys = ((), None)

    #: The parameters every network shares; subclasses add their own (``{**base, ...}``).
    _parameter_constraints = {
        "loss": [StrOptions(set(LOSSES))],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ----------------------------------------------------------------- fitting
    def _check_common_params(self):
        self._validate_params()
        check_loss(self.loss, self._losses)

    def _check_targets(self, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim != 1:
            raise ValueError(
                f"y must be a 1-D array of class labels; got shape {y.shape}. These backends are "
                "binary classifiers."
            )
        if y.shape[0] == 0:
            raise ValueError("y is empty: at least one sample of each class is needed.")
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size != 2:
            raise ValueError(
                f"Only binary classification is supported by {type(self).__name__}: y must "
                f"contain exactly two classes; got {classes.size} class(es): "
                f"{classes.tolist()[:10]}."
            )
        return classes, (y == classes[1]).astype(np.float32)

    def fit(self, X, y, sample_weight=None):
        """Train the network.

        Parameters
        ----------
        X : array-like
            The inputs (see the class docstring for the shape).
        y : array-like of shape (n_samples,)
            Two classes; the larger label (``classes_[1]``) is class 1, whose log-ratio over
            class 0 the raw output estimates.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights multiplying each event's loss term, of either sign (NLO events, a
            background subtracted with negative weights); each class needs a positive total.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight, **extra):
        self._check_common_params()
        classes, t = self._check_targets(y)
        w = check_sample_weight(sample_weight, t.shape[0], allow_negative=True)
        check_class_totals(classes, t.astype(np.intp), w)
        inputs = self._prepare(X, fitting=True, **extra)
        n = len(next(iter(inputs.values())))
        if t.shape[0] != n:
            raise ValueError(
                f"X and y have different numbers of samples: {n} and {t.shape[0]}."
            )
        self.classes_ = classes
        # Scale the weights to mean |w| = 1 so the step size does not depend on their scale.
        w = (w / np.abs(w).mean()).astype(np.float32)
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))

        train_idx, valid_idx = self._split(t, rng)
        devices = [torch.device(device)] if device.startswith("cuda") else []
        early_stopping = valid_idx is not None and self.patience is not None
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            self.net_ = self._make_net(device, early_stopping)
            tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in inputs.items()}
            tensors["sample_weight"] = torch.from_numpy(w)
            tt = torch.from_numpy(t)
            if valid_idx is not None:
                vi = torch.from_numpy(valid_idx)
                valid = {k: v[vi] for k, v in tensors.items()}
                self.net_.sklhep_valid_ = skorch.dataset.Dataset(valid, tt[vi], length=len(vi))
            ti = torch.from_numpy(train_idx)
            train = {k: v[ti] for k, v in tensors.items()}
            try:
                self.net_.partial_fit(train, tt[ti])
            finally:
                self.net_.sklhep_valid_ = None
        hist = self.net_.history
        self.n_epochs_ = len(hist)
        self.train_loss_curve_ = np.array(hist[:, "train_loss"], dtype=float)
        self.validation_loss_curve_ = (
            np.array(hist[:, "valid_loss"], dtype=float) if valid_idx is not None else None
        )
        if early_stopping:  # the best weights were restored
            self.best_epoch_ = int(np.argmin(self.validation_loss_curve_)) + 1
        else:
            self.best_epoch_ = self.n_epochs_
        return self

    def _split(self, t, rng):
        vf = float(self.validation_fraction)
        n = t.size
        n_valid = int(round(vf * n))
        if vf == 0 or n_valid < 2 or n - n_valid < 2:
            return np.arange(n), None
        counts = np.bincount(t.astype(int), minlength=2)
        stratify = t if counts.min() >= 2 and n_valid >= 2 else None
        tr, va = train_test_split(
            np.arange(n), test_size=n_valid, stratify=stratify, random_state=rng
        )
        return np.sort(tr), np.sort(va)

    def _make_net(self, device, early_stopping):
        callbacks = [("lr_schedule", _lr_schedule(self, early_stopping))]
        if early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    skorch.callbacks.EarlyStopping(
                        monitor="valid_loss",
                        patience=int(self.patience),
                        load_best=True,
                        # any strict improvement counts, so the restored epoch is best_epoch_
                        # (a relative threshold also misbehaves for the negative mlc losses)
                        threshold=0.0,
                        threshold_mode="abs",
                    ),
                )
            )
        if self.verbose:
            callbacks.append(("progress", _EpochProgress(desc=type(self).__name__)))
        net = SklhepNet(
            module=self._build_module(),
            criterion=WeightedLoss,
            criterion__loss=self.loss,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=float(self.weight_decay),
            lr=float(self.lr),
            batch_size=int(self.batch_size),
            max_epochs=int(self.max_epochs),
            device=device,
            callbacks=callbacks,
            verbose=0,
        )
        net.sklhep_particle_keys, net.sklhep_mask_key = self._particle_keys
        net.initialize()
        return net

    # ----------------------------------------------------------------- inference
    def decision_function(self, X):
        """The raw output ``g(x)``: the estimated log ratio of class 1 over class 0.

        Parameters
        ----------
        X : array-like
            Inputs shaped as in ``fit``.

        Returns
        -------
        g : ndarray of shape (n_samples,)
        """
        return self._decision(X)

    def _decision(self, X, **extra):
        check_is_fitted(self, "net_")
        inputs = self._prepare(X, fitting=False, **extra)
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in inputs.items()}
        with torch.no_grad():
            g = self.net_.forward(tensors, training=False, device="cpu")
        return g.double().numpy().reshape(-1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably from the raw output.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, 2)
        """
        g = self.decision_function(X)
        return np.column_stack([-np.logaddexp(0.0, g), -np.logaddexp(0.0, -g)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
