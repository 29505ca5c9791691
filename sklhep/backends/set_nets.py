"""The set-network backends ``efn`` and ``pfn``: Energy and Particle Flow Networks in PyTorch.

Both are Deep Sets classifiers on jets given as zero-padded particle arrays
``(n_jets, n_particles, n_features)`` whose particle rows are ``(pt, y, phi[, pid, ...])``
(rows with ``pt == 0`` are padding):

- EFN: ``g = F(sum_i z_i Phi(y_i, phi_i))`` with ``z_i = pt_i / sum_j pt_j``. Phi sees only
  angles and enters linearly in the energy fraction, so the output is infrared and collinear safe
  by construction and padding (``z = 0``) contributes exactly nothing.
- PFN: ``g = F(sum_i m_i Phi(p_i))`` on all particle features with the padding mask ``m_i``; the
  particle id (feature ``pid_column``) goes through a learned embedding.

Importing this module imports torch and skorch (the registry imports it only when ``"efn"`` or
``"pfn"`` is asked for); without them it raises an ImportError naming the ``torch`` extra.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.sparse import issparse

from .._validation import Interval, check_jets
from ._base import LOSSES, BackendCapabilities, labels_from_log_ratio, proba_from_log_ratio
from ._torch import TorchClassifierBase, check_sizes, make_mlp, nn, torch

__all__ = ["EFNClassifier", "PFNClassifier"]

#: Largest number of distinct values accepted in the particle-id column.
MAX_PID_CLASSES = 64


def _check_sets(X, n_features_in=None, name="X"):
    """Validate padded jets, with a hint when flat features were passed."""
    if issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix; sparse input is not supported: the set networks take "
            "dense particle arrays (n_jets, n_particles, n_features)."
        )
    if hasattr(X, "shape") and getattr(X, "dtype", None) != np.dtype(object) and len(X.shape) == 2:
        raise ValueError(
            f"{name} must hold particle sets: a 3-D array (n_jets, n_particles, n_features) with "
            f"particle rows (pt, y, phi, ...), or a list of 2-D per-jet arrays; got a 2-D array of "
            f"shape {tuple(X.shape)}. For flat per-jet features use the 'mlp' or 'bdt' backend."
        )
    arr = _real_first(check_jets(X, min_features=3, what=name))
    if n_features_in is not None and arr.shape[2] != n_features_in:
        raise ValueError(
            f"{name} has {arr.shape[2]} features per particle, but the network was fitted with "
            f"{n_features_in}."
        )
    return arr


def _real_first(arr):
    """Reorder each jet's particles so the real ones (pt > 0) come first, in their original order,
    and drop the columns that are padding in every jet. The networks are permutation invariant, so
    this changes nothing but lets each batch be trimmed to its largest multiplicity."""
    real = arr[..., 0] > 0
    order = np.argsort(~real, axis=1, kind="stable")
    arr = np.take_along_axis(arr, order[..., None], axis=1)
    n_max = max(int(real.sum(axis=1).max()), 1) if arr.shape[0] else 1
    return arr[:, :n_max]


def _energy_fractions(pt):
    total = pt.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(total > 0, pt / np.where(total > 0, total, 1.0), 0.0)
    return z


def _amp_dtype(mixed_precision, device):
    """The autocast dtype for ``mixed_precision`` on ``device`` (None for full precision)."""
    if not mixed_precision:
        return None
    if device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        warnings.warn(
            "mixed_precision=True needs bfloat16 support, which this GPU lacks; training in "
            "float32.",
            UserWarning,
            stacklevel=3,
        )
        return None
    return torch.bfloat16


class _SetModule(nn.Module):
    """Shared tail: optional global features concatenated to the latent sum, then F."""

    def __init__(self, latent_dim, n_globals, f_sizes, dropout, amp_dtype):
        super().__init__()
        self.F = make_mlp(latent_dim + n_globals, f_sizes, n_out=1, dropout=dropout)
        self.amp_dtype = amp_dtype

    def _autocast(self, device):
        return torch.autocast(
            device_type=device.type,
            dtype=self.amp_dtype or torch.bfloat16,
            enabled=self.amp_dtype is not None,
        )

    def _head(self, latent, globals):
        if globals is not None:
            latent = torch.cat([latent, globals], dim=-1)
        with self._autocast(latent.device):
            return self.F(latent).float().squeeze(-1)


class _EFNModule(_SetModule):
    def __init__(self, phi_sizes, f_sizes, n_globals, dropout, amp_dtype):
        super().__init__(phi_sizes[-1], n_globals, f_sizes, dropout, amp_dtype)
        self.Phi = make_mlp(2, phi_sizes)

    def filters(self, angles):
        """Phi evaluated on standardised angles of shape (..., 2)."""
        return self.Phi(angles)

    def forward(self, z, angles, globals=None, sample_weight=None):
        with self._autocast(z.device):
            phi = self.Phi(angles)
        # The energy-weighted sum in float32: padding has z == 0 and adds exactly zero.
        latent = torch.einsum("bp,bpl->bl", z, phi.float())
        return self._head(latent, globals)


class _PFNModule(_SetModule):
    def __init__(self, n_cont, n_pid, pid_dim, phi_sizes, f_sizes, n_globals, dropout, amp_dtype):
        super().__init__(phi_sizes[-1], n_globals, f_sizes, dropout, amp_dtype)
        self.embedding = nn.Embedding(n_pid + 1, pid_dim) if n_pid else None
        self.Phi = make_mlp(n_cont + (pid_dim if n_pid else 0), phi_sizes)

    def forward(self, features, mask, pid=None, globals=None, sample_weight=None):
        x = features
        if self.embedding is not None:
            x = torch.cat([x, self.embedding(pid)], dim=-1)
        with self._autocast(x.device):
            phi = self.Phi(x)
        latent = (phi.float() * mask.unsqueeze(-1)).sum(dim=1)
        return self._head(latent, globals)


class _SetNetBase(TorchClassifierBase):
    """Input handling shared by EFN and PFN: sets, global features, method signatures."""

    _parameter_constraints = {
        **TorchClassifierBase._parameter_constraints,
        "phi_sizes": ["array-like"],  # positive ints, checked by check_sizes
        "f_sizes": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "mixed_precision": ["boolean"],
    }

    def _prepare_globals(self, global_features, n_jets, fitting):
        if global_features is None:
            if not fitting and self.n_global_features_in_:
                raise ValueError(
                    f"This network was fitted with {self.n_global_features_in_} global features "
                    "per jet; pass them again as global_features=."
                )
            if fitting:
                self.n_global_features_in_ = 0
            return {}
        G = np.asarray(global_features, dtype=float)
        if G.ndim == 1:
            G = G[:, None]
        if G.ndim != 2 or G.shape[0] != n_jets:
            raise ValueError(
                f"global_features must have shape (n_jets, n_global_features) = ({n_jets}, ...); "
                f"got shape {G.shape}."
            )
        if not np.all(np.isfinite(G)):
            raise ValueError("global_features contains NaN or inf.")
        if fitting:
            self.n_global_features_in_ = G.shape[1]
            self.global_mean_ = G.mean(axis=0)
            std = G.std(axis=0)
            self.global_std_ = np.where(std > 0, std, 1.0)
        elif G.shape[1] != self.n_global_features_in_:
            raise ValueError(
                f"global_features has {G.shape[1]} columns, but the network was fitted with "
                f"{self.n_global_features_in_}."
            )
        return {"globals": ((G - self.global_mean_) / self.global_std_).astype(np.float32)}

    def _check_set_params(self):
        check_sizes(self.phi_sizes, "phi_sizes", allow_empty=False)
        check_sizes(self.f_sizes, "f_sizes")

    def _check_input_sets(self, X, fitting):
        """Validated sets (real particles first) and their energy fractions ``z``; in ``fit`` also
        ``n_features_in_``, refusing input without any particle."""
        arr = _check_sets(X, None if fitting else self.n_features_in_)
        z = _energy_fractions(arr[..., 0])
        if fitting:
            self.n_features_in_ = arr.shape[2]
            if not np.any(z > 0):
                raise ValueError("X has no particles with pt > 0; every jet is empty.")
        return arr, z

    def fit(self, X, y, sample_weight=None, global_features=None):
        """Train the network on jets.

        Parameters
        ----------
        X : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays
            Zero-padded particles ``(pt, y, phi, ...)``; rows with ``pt == 0`` are padding.
        y : array-like of shape (n_jets,)
            Two classes; ``classes_[1]`` is class 1.
        sample_weight : array-like of shape (n_jets,), default=None
            Per-jet weights multiplying each jet's loss term, of either sign; each class needs a
            positive total.
        global_features : array-like of shape (n_jets, n_global), default=None
            Per-jet features concatenated to the latent sum before F (standardised internally).

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, global_features=global_features)

    def decision_function(self, X, global_features=None):
        """The raw output ``g``: the estimated log ratio of class 1 over class 0 per jet.

        Parameters
        ----------
        X : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays
        global_features : array-like of shape (n_jets, n_global), default=None
            Required if the network was fitted with global features.

        Returns
        -------
        g : ndarray of shape (n_jets,)
        """
        return self._decision(X, global_features=global_features)

    def predict_proba(self, X, global_features=None):
        """Class probabilities; column 1 is ``sigmoid(decision_function(X))``.

        Returns
        -------
        proba : ndarray of shape (n_jets, 2)
        """
        return proba_from_log_ratio(self.decision_function(X, global_features=global_features))

    def predict(self, X, global_features=None):
        """The more probable class label per jet.

        Returns
        -------
        labels : ndarray of shape (n_jets,)
        """
        g = self.decision_function(X, global_features=global_features)
        return labels_from_log_ratio(self.classes_, g)

    def _device_amp(self):
        from ._torch import resolve_device

        return _amp_dtype(self.mixed_precision, resolve_device(self.device))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # two_d_array stays True although 2-D input is refused: with it False scikit-learn's
        # estimator checks skip the estimator entirely; this way the checks that do not depend on
        # the input shape run, and the others are listed as expected failures in the tests.
        return tags


_COMMON_PARAMS_DOC = """
    phi_sizes : tuple of int, default=(100, 100, 128)
        Widths of the per-particle network Phi; the last one is the latent dimension.
    f_sizes : tuple of int, default=(100, 100, 100)
        Widths of the hidden layers of the jet-level network F (a linear output layer follows).
    dropout : float, default=0.0
        Dropout rate in F.
    loss : {"bce", "mlc", "mse", "sqrt"}, default="bce"
        The per-event loss (see :mod:`sklhep.backends._base`).
    lr : float, default=1e-3
        AdamW learning rate.
    batch_size : int, default=500
    max_epochs : int, default=50
    patience : int or None, default=5
        Epochs without improvement of the validation loss before stopping (the best weights are
        kept); None trains all ``max_epochs``.
    validation_fraction : float, default=0.1
        Fraction of the jets held out (stratified) for early stopping; 0 disables it.
    weight_decay : float, default=0.0
        AdamW weight decay.
    mixed_precision : bool, default=False
        Run Phi and F under bfloat16 autocast (meant for GPUs; the energy-weighted sum and the loss
        stay in float32). Falls back to float32 with a warning on GPUs without bfloat16.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU; or ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, the validation split, dropout and the batch order; an int makes CPU
        runs repeatable (the caller's global torch RNG is left untouched).
    verbose : int, default=0
        If truthy, a progress bar over epochs shows the training and validation loss."""

_COMMON_ATTRS_DOC = """
    classes_ : ndarray of shape (2,)
    n_features_in_ : int
        Features per particle seen in ``fit``.
    n_global_features_in_ : int
        Global per-jet features seen in ``fit`` (0 if none).
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch module.
    n_epochs_, best_epoch_ : int
        Epochs trained and the epoch whose weights were kept.
    train_loss_curve_, validation_loss_curve_ : ndarray
        Loss per epoch (validation is None without a validation split)."""


class EFNClassifier(_SetNetBase):
    __doc__ = (
        """Energy Flow Network: an IRC-safe Deep Sets classifier on jets (``efn``).

    The raw output is ``g = F(sum_i z_i Phi(y_i, phi_i))`` with ``z_i = pt_i / sum_j pt_j``: Phi
    (ReLU layers ``phi_sizes``) maps a particle's angles to a latent vector, the energy-weighted sum
    over particles is the jet's latent representation, and F (``f_sizes``, then linear) maps it to
    the log-likelihood-ratio estimate. Splitting a particle into collinear fragments or adding a
    soft one leaves ``g`` unchanged, and zero-padded rows contribute exactly nothing. Angles are
    standardised by one fixed affine map fitted on the training particles, which keeps these
    properties; jets are best centred and rotated first (e.g. ``sklhep.JetPreprocessor``).
    Features after ``phi`` (pid, ...) are ignored.

    Parameters
    ----------"""
        + _COMMON_PARAMS_DOC
        + """

    Attributes
    ----------"""
        + _COMMON_ATTRS_DOC
        + """
    angle_center_, angle_scale_ : ndarray of shape (2,)
        The standardisation of (y, phi): energy-weighted mean and standard deviation.
    angle_range_ : ndarray of shape (2, 2)
        0.5% and 99.5% quantiles of the particles' (y, phi), the default grid of
        :meth:`latent_filters`.

    See Also
    --------
    PFNClassifier : the same architecture on all particle features, not IRC safe.
    sklhep.plotting.plot_efn_filters : draw the learned filters.

    References
    ----------
    .. [1] P. T. Komiske, E. M. Metodiev, J. Thaler, "Energy Flow Networks: Deep Sets for Particle
       Jets", JHEP 01 (2019) 121, arXiv:1810.05165.
    .. [2] M. Zaheer et al., "Deep Sets", NeurIPS 2017, arXiv:1703.06114.

    Examples
    --------
    >>> import numpy as np
    >>> from sklhep.backends.set_nets import EFNClassifier
    >>> rng = np.random.default_rng(0)
    >>> def jets(width, n=200):
    ...     pt = rng.exponential(1.0, (n, 10))
    ...     return np.stack([pt, *rng.normal(0, width, (2, n, 10))], axis=-1)
    >>> X = np.concatenate([jets(0.1), jets(0.2)])
    >>> y = np.r_[np.zeros(200), np.ones(200)]
    >>> efn = EFNClassifier(phi_sizes=(16, 8), f_sizes=(16,), max_epochs=5, random_state=0)
    >>> efn.fit(X, y).predict_proba(X).shape
    (400, 2)
    """
    )

    sklhep_capabilities = BackendCapabilities(
        sample_weight=True, losses=LOSSES, particle_sets=True, max_features=None,
        signed_weights=True,
    )
    _particle_keys = (("z", "angles"), "z")

    def __init__(
        self,
        phi_sizes=(100, 100, 128),
        f_sizes=(100, 100, 100),
        dropout=0.0,
        loss="bce",
        lr=1e-3,
        batch_size=500,
        max_epochs=50,
        patience=5,
        validation_fraction=0.1,
        weight_decay=0.0,
        mixed_precision=False,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.phi_sizes = phi_sizes
        self.f_sizes = f_sizes
        self.dropout = dropout
        self.loss = loss
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.mixed_precision = mixed_precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _prepare(self, X, fitting, global_features=None):
        if fitting:
            self._check_set_params()
        arr, z = self._check_input_sets(X, fitting)
        angles = arr[..., 1:3]
        if fitting:
            real = z > 0
            w = z[real]
            pts = angles[real]
            center = np.average(pts, axis=0, weights=w)
            std = np.sqrt(np.average((pts - center) ** 2, axis=0, weights=w))
            self.angle_center_ = center
            self.angle_scale_ = np.where(std > 0, std, 1.0)
            self.angle_range_ = np.quantile(pts, [0.005, 0.995], axis=0).T
        out = {
            "z": z.astype(np.float32),
            "angles": ((angles - self.angle_center_) / self.angle_scale_).astype(np.float32),
        }
        out.update(self._prepare_globals(global_features, arr.shape[0], fitting))
        return out

    def _build_module(self):
        return _EFNModule(
            check_sizes(self.phi_sizes, "phi_sizes", allow_empty=False),
            check_sizes(self.f_sizes, "f_sizes"),
            self.n_global_features_in_,
            float(self.dropout),
            self._device_amp(),
        )

    def latent_filters(self, y_range=None, phi_range=None, n_grid=101):
        """The learned filters ``Phi_a(y, phi)`` evaluated on a grid of angles.

        Parameters
        ----------
        y_range, phi_range : (float, float), default=None
            Grid limits in the units of the training angles; default ``angle_range_``.
        n_grid : int, default=101
            Grid points per axis.

        Returns
        -------
        ys : ndarray of shape (n_grid,)
        phis : ndarray of shape (n_grid,)
        filters : ndarray of shape (latent_dim, n_grid, n_grid)
            ``filters[a, i, j] = Phi_a(ys[i], phis[j])``.

        Examples
        --------
        >>> ys, phis, filt = efn.latent_filters(n_grid=11)  # doctest: +SKIP
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "net_")
        y_range = self.angle_range_[0] if y_range is None else y_range
        phi_range = self.angle_range_[1] if phi_range is None else phi_range
        ys = np.linspace(*y_range, int(n_grid))
        phis = np.linspace(*phi_range, int(n_grid))
        grid = np.stack(np.meshgrid(ys, phis, indexing="ij"), axis=-1)
        std = (grid - self.angle_center_) / self.angle_scale_
        module = self.net_.module_
        param = next(module.parameters())
        with torch.no_grad():
            out = module.filters(torch.as_tensor(std, dtype=torch.float32, device=param.device))
        return ys, phis, np.moveaxis(out.float().cpu().numpy(), -1, 0).astype(float)


class PFNClassifier(_SetNetBase):
    __doc__ = (
        """Particle Flow Network: a Deep Sets classifier on all particle features (``pfn``).

    The raw output is ``g = F(sum_i m_i Phi(p_i))`` with ``m_i`` the padding mask (``pt_i > 0``), so
    zero-padded rows contribute exactly nothing. Each particle's input ``p_i`` is its energy
    fraction ``z_i = pt_i / sum_j pt_j``, its angles ``(y_i, phi_i)`` and any further continuous
    features, standardised over the training particles, followed by a learned embedding of the
    particle id when the data have the column ``pid_column``. The particle id encoding: each
    distinct value seen in ``fit`` (e.g. PDG codes 22, 211, -211, 130, 2112, 11, -11, ...) gets its
    own learned vector of length ``pid_embedding_dim``; values not seen in ``fit`` share one
    "other" vector. Unlike the EFN the output is not IRC safe.

    Parameters
    ----------"""
        + _COMMON_PARAMS_DOC
        + """
    pid_column : int or None, default=3
        The feature holding the particle id (used only when the data have it); None treats every
        feature as continuous. At most 64 distinct ids are accepted.
    pid_embedding_dim : int, default=8
        Length of the learned particle-id vectors.

    Attributes
    ----------"""
        + _COMMON_ATTRS_DOC
        + """
    pid_classes_ : ndarray or None
        The particle ids seen in ``fit`` (None without a pid column).
    feature_mean_, feature_std_ : ndarray
        The standardisation of the continuous particle features (z, y, phi, ...).

    See Also
    --------
    EFNClassifier : the IRC-safe variant.

    References
    ----------
    .. [1] P. T. Komiske, E. M. Metodiev, J. Thaler, "Energy Flow Networks: Deep Sets for Particle
       Jets", JHEP 01 (2019) 121, arXiv:1810.05165.

    Examples
    --------
    >>> import numpy as np
    >>> from sklhep.backends.set_nets import PFNClassifier
    >>> rng = np.random.default_rng(0)
    >>> def jets(width, n=200):
    ...     pt = rng.exponential(1.0, (n, 10))
    ...     pid = rng.choice([22.0, 211.0, -211.0], (n, 10))
    ...     return np.stack([pt, *rng.normal(0, width, (2, n, 10)), pid], axis=-1)
    >>> X = np.concatenate([jets(0.1), jets(0.2)])
    >>> y = np.r_[np.zeros(200), np.ones(200)]
    >>> pfn = PFNClassifier(phi_sizes=(16, 8), f_sizes=(16,), max_epochs=5, random_state=0)
    >>> pfn.fit(X, y).pid_classes_
    array([-211.,   22.,  211.])
    """
    )

    sklhep_capabilities = BackendCapabilities(
        sample_weight=True, losses=LOSSES, particle_sets=True, max_features=None,
        signed_weights=True,
    )
    _particle_keys = (("features", "mask", "pid"), "mask")
    _parameter_constraints = {
        **_SetNetBase._parameter_constraints,
        # features 0-2 are pt, y, phi
        "pid_column": [Interval(Integral, 3, None, closed="left"), None],
        "pid_embedding_dim": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        phi_sizes=(100, 100, 128),
        f_sizes=(100, 100, 100),
        dropout=0.0,
        loss="bce",
        lr=1e-3,
        batch_size=500,
        max_epochs=50,
        patience=5,
        validation_fraction=0.1,
        weight_decay=0.0,
        mixed_precision=False,
        device="auto",
        random_state=None,
        verbose=0,
        pid_column=3,
        pid_embedding_dim=8,
    ):
        self.phi_sizes = phi_sizes
        self.f_sizes = f_sizes
        self.dropout = dropout
        self.loss = loss
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.mixed_precision = mixed_precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.pid_column = pid_column
        self.pid_embedding_dim = pid_embedding_dim

    def _pid_index(self, n_features):
        col = self.pid_column  # None or an int >= 3, by _parameter_constraints
        if col is None:
            return None
        return int(col) if col < n_features else None

    def _prepare(self, X, fitting, global_features=None):
        if fitting:
            self._check_set_params()
        arr, z = self._check_input_sets(X, fitting)
        mask = arr[..., 0] > 0
        if fitting:
            self.pid_index_ = self._pid_index(arr.shape[2])
        cont_cols = [c for c in range(1, arr.shape[2]) if c != self.pid_index_]
        feats = np.concatenate([z[..., None], arr[..., cont_cols]], axis=-1)
        out = {}
        if fitting:
            real = feats[mask]
            self.feature_mean_ = real.mean(axis=0)
            std = real.std(axis=0)
            self.feature_std_ = np.where(std > 0, std, 1.0)
            if self.pid_index_ is not None:
                classes = np.unique(arr[..., self.pid_index_][mask])
                if classes.size > MAX_PID_CLASSES:
                    raise ValueError(
                        f"Feature {self.pid_index_} of X has {classes.size} distinct values, too "
                        f"many for particle ids (at most {MAX_PID_CLASSES}). If it is a continuous "
                        "feature, pass pid_column=None."
                    )
                self.pid_classes_ = classes
            else:
                self.pid_classes_ = None
        feats = np.where(mask[..., None], (feats - self.feature_mean_) / self.feature_std_, 0.0)
        out["features"] = feats.astype(np.float32)
        out["mask"] = mask.astype(np.float32)
        if self.pid_index_ is not None:
            pid = arr[..., self.pid_index_]
            pos = np.searchsorted(self.pid_classes_, pid).clip(0, self.pid_classes_.size - 1)
            known = self.pid_classes_[pos] == pid
            out["pid"] = np.where(known & mask, pos + 1, 0).astype(np.int64)
        out.update(self._prepare_globals(global_features, arr.shape[0], fitting))
        return out

    def _build_module(self):
        n_cont = self.n_features_in_ - (1 if self.pid_index_ is not None else 0)
        n_pid = 0 if self.pid_classes_ is None else self.pid_classes_.size
        return _PFNModule(
            n_cont,
            n_pid,
            int(self.pid_embedding_dim),
            check_sizes(self.phi_sizes, "phi_sizes", allow_empty=False),
            check_sizes(self.f_sizes, "f_sizes"),
            self.n_global_features_in_,
            float(self.dropout),
            self._device_amp(),
        )
