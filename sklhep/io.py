"""Jets in and out: ROOT, HDF5, Parquet, energyflow's ``.npz``, awkward arrays and HepMC events.

sklhep's jets are one zero-padded float array of shape ``(n_jets, n_particles, n_fields)``: rows
are particles ordered by decreasing ``pt`` (the first field), and rows with ``pt == 0`` are
padding. This module converts between that array and the layouts physicists' files use:

* **jagged particles, one jet per entry** (a ROOT TTree or RNTuple with ``var * float`` branches,
  a Parquet table of list columns, an awkward array ``n_jets * var * {pt, y, phi}``);
* **events -> jets -> particles** (``var * var * float``): the jets are flattened and the event
  each came from is returned with ``return_event_index=True``;
* **padded arrays** (HDF5 datasets, ``.npz`` files such as energyflow's quark/gluon samples);
* **HepMC events** from any generator, clustered into jets with FastJet by :func:`cluster_jets`
  with the conventions of :func:`sklhep.datasets.generate_pythia_jets`.

The format follows the file suffix (``.root``, ``.h5``/``.hdf5``, ``.parquet``/``.pq``,
``.npz``). The packages (uproot, awkward, h5py, pyarrow, pyhepmc, fastjet) are imported only when
a function needs them: ``pip install "sklhep[io]"``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ._validation import check_int, import_optional

__all__ = [
    "cluster_jets",
    "from_awkward",
    "iter_jets",
    "read_hepmc",
    "read_jets",
    "to_awkward",
    "write_jets",
]

_FORMATS = {
    ".root": "root",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npz": "npz",
}
_DEFAULT_FIELDS = ("pt", "y", "phi")
# the column order of energyflow's quark/gluon .npz files (and generate_pythia_jets)
_ENERGYFLOW_FIELDS = ("pt", "y", "phi", "pid")
_ALGORITHMS = ("antikt", "kt", "cambridge")
_INVISIBLE = (12, 14, 16)


def _awkward(purpose):
    return import_optional("awkward", purpose=purpose)


def _format_of(path):
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(
            f"Unknown jet file suffix {suffix or '(none)'!r} in {str(path)!r}; sklhep reads and "
            f"writes {sorted(_FORMATS)} (the format follows the suffix)."
        )
    return _FORMATS[suffix]


def _check_fields(fields):
    if isinstance(fields, str):
        fields = (fields,)
    fields = tuple(fields)
    if not fields or not all(isinstance(f, str) and f for f in fields):
        raise ValueError(
            f"fields must be a non-empty sequence of field (branch, column) names, the first "
            f"being the transverse momentum; got {fields!r}."
        )
    if len(set(fields)) != len(fields):
        raise ValueError(f"fields must not repeat a name; got {fields!r}.")
    return fields


def _check_column_names(fields, X):
    fields = _check_fields(fields)
    if len(fields) != X.shape[2]:
        raise ValueError(
            f"fields must name each of the {X.shape[2]} columns of X; got {len(fields)} names "
            f"{list(fields)}."
        )
    return fields


def _check_range(entry_start, entry_stop):
    start = check_int(entry_start, "entry_start", 0, allow_none=True)
    stop = check_int(entry_stop, "entry_stop", 0, allow_none=True)
    if start is not None and stop is not None and stop < start:
        raise ValueError(f"entry_stop ({stop}) must not be below entry_start ({start}).")
    return start, stop


# ----------------------------------------------------------------------------------------------
# jagged -> padded
# ----------------------------------------------------------------------------------------------
def _pad_flat(flat, counts, max_particles, sort):
    """Padded (n_jets, width, n_fields) array from concatenated particles and jet sizes."""
    n_jets = len(counts)
    n_fields = flat.shape[1]
    jet = np.repeat(np.arange(n_jets), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n_jets else np.zeros(0, int)
    if sort and len(flat):
        # decreasing pt within each jet; stable, so equal pts keep the file's order
        order = np.lexsort((-flat[:, 0], jet))
        flat = flat[order]
    # padding in the file (pt == 0) is dropped, as it is in sklhep's arrays
    keep = flat[:, 0] != 0 if len(flat) else np.zeros(0, bool)
    if not np.all(keep):
        flat, jet = flat[keep], jet[keep]
        counts = np.bincount(jet, minlength=n_jets)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n_jets else starts
    pos = np.arange(len(flat)) - starts[jet]
    width = int(counts.max()) if n_jets and len(flat) else 0
    if max_particles is not None:
        width = max_particles
    inside = pos < width
    X = np.zeros((n_jets, width, n_fields))
    X[jet[inside], pos[inside]] = flat[inside]
    return X


def _jagged_to_padded(columns, fields, max_particles, sort, where):
    """``columns``: dict field -> awkward array, ``n * var * number`` or ``n * var * var``."""
    ak = _awkward("reading jagged particle arrays")
    first = columns[fields[0]]
    depth = first.ndim
    if depth not in (2, 3):
        raise ValueError(
            f"{where}: field {fields[0]!r} has type {first.type}; expected jagged particles per "
            "jet (n_jets * var * number) or per event and jet (n_events * var * var * number)."
        )
    for f in fields:
        col = columns[f]
        if col.ndim != depth:
            raise ValueError(
                f"{where}: fields {fields[0]!r} and {f!r} have different nesting "
                f"({first.type} and {col.type}); all fields must be jagged alike."
            )
    if depth == 3:
        n_jets_per_event = ak.to_numpy(ak.num(first, axis=1))
        for f in fields[1:]:
            if not np.array_equal(ak.to_numpy(ak.num(columns[f], axis=1)), n_jets_per_event):
                raise ValueError(
                    f"{where}: fields {fields[0]!r} and {f!r} have different numbers of jets "
                    "in some events; jagged fields must have the same lengths."
                )
        event_index = np.repeat(np.arange(len(first)), n_jets_per_event)
        columns = {f: ak.flatten(columns[f], axis=1) for f in fields}
        first = columns[fields[0]]
    else:
        event_index = np.arange(len(first))
    counts = ak.to_numpy(ak.num(first, axis=1)).astype(np.int64)
    for f in fields[1:]:
        other = ak.to_numpy(ak.num(columns[f], axis=1))
        if not np.array_equal(other, counts):
            bad = int(np.flatnonzero(other != counts)[0])
            raise ValueError(
                f"{where}: fields {fields[0]!r} and {f!r} have different lengths (jet {bad} has "
                f"{counts[bad]} and {other[bad]} particles); jagged fields must match per jet."
            )
    flat = np.empty((int(counts.sum()), len(fields)))
    for k, f in enumerate(fields):
        values = ak.to_numpy(ak.flatten(columns[f], axis=None))
        if values.dtype.kind not in "biuf":
            raise ValueError(f"{where}: field {f!r} is not numeric (dtype {values.dtype}).")
        flat[:, k] = values
    _check_finite(flat, counts, fields, where)
    return _pad_flat(flat, counts, max_particles, sort), event_index


def _check_finite(flat, counts, fields, where):
    bad = ~np.isfinite(flat)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        jet = int(np.searchsorted(np.cumsum(counts), row, side="right"))
        raise ValueError(
            f"{where}: field {fields[col]!r} is {flat[row, col]} for a particle of jet {jet}; "
            "NaN and inf are not accepted. Remove or fix those particles first."
        )
    if np.any(flat[:, 0] < 0):
        row = int(np.flatnonzero(flat[:, 0] < 0)[0])
        jet = int(np.searchsorted(np.cumsum(counts), row, side="right"))
        raise ValueError(
            f"{where}: field {fields[0]!r} (the transverse momentum) is negative "
            f"({flat[row, 0]:g}) for a particle of jet {jet}; the first field must be pt >= 0."
        )


def _padded_to_padded(arr, columns, max_particles, sort, where):
    """Select columns of a padded (n, m, k) array, check, re-sort and re-pad it."""
    arr = np.asarray(arr)
    if arr.ndim != 3:
        raise ValueError(
            f"{where}: expected a padded array of shape (n_jets, n_particles, n_fields); got "
            f"shape {arr.shape}."
        )
    arr = np.asarray(arr[:, :, list(columns)], dtype=float)
    if not np.all(np.isfinite(arr)):
        jet, part, col = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{where}: column {columns[col]} is {arr[jet, part, col]} for particle {part} of jet "
            f"{jet}; NaN and inf are not accepted."
        )
    mask = arr[:, :, 0] != 0
    counts = mask.sum(1)
    flat = arr[mask]
    _check_finite(flat, counts, [str(c) for c in columns], where)
    return _pad_flat(flat, counts, max_particles, sort)


def from_awkward(array, fields=_DEFAULT_FIELDS, max_particles=None, *, sort=True,
                 return_event_index=False):
    """Padded jets from an awkward array of jagged particles (what uproot and coffea hand out).

    Parameters
    ----------
    array : awkward.Array or dict of str to awkward.Array
        Records with one jagged field per particle feature: ``n_jets * var * {pt, y, phi, ...}``
        (or ``n_jets * {pt: var * float, ...}``), or events of jets,
        ``n_events * var * var * {...}``, whose jets are flattened in order.
    fields : sequence of str, default=("pt", "y", "phi")
        The fields to take, in the order of the output columns. The first is the transverse
        momentum: particles are ordered by it, decreasing, and ``pt == 0`` marks padding.
    max_particles : int or None, default=None
        The width of the output; None fits the largest jet. Larger jets keep their
        ``max_particles`` highest-pt particles.
    sort : bool, default=True
        Order the particles of each jet by decreasing ``pt`` (sklhep's convention).
    return_event_index : bool, default=False
        Also return, for each jet, the index of the event (entry) it came from.

    Returns
    -------
    X : ndarray of shape (n_jets, max_particles, len(fields))
    event_index : ndarray of shape (n_jets,)
        Only with ``return_event_index=True``.

    Raises
    ------
    ValueError
        For a missing field (the available ones are listed), fields of different lengths, NaN
        or inf in a particle, a negative ``pt``.

    See Also
    --------
    to_awkward : the inverse.

    Examples
    --------
    >>> import awkward as ak
    >>> from sklhep.io import from_awkward
    >>> jets = ak.Array([[{"pt": 1.0, "y": 0.1, "phi": 0.2}, {"pt": 3.0, "y": 0.0, "phi": 0.1}],
    ...                  [{"pt": 2.0, "y": -0.1, "phi": 1.0}]])
    >>> from_awkward(jets)
    array([[[ 3. ,  0. ,  0.1],
            [ 1. ,  0.1,  0.2]],
    <BLANKLINE>
           [[ 2. , -0.1,  1. ],
            [ 0. ,  0. ,  0. ]]])
    """
    ak = _awkward("from_awkward")
    fields = _check_fields(fields)
    max_particles = check_int(max_particles, "max_particles", 0, allow_none=True)
    if isinstance(array, dict):
        available = list(array)
        columns = {f: ak.Array(array[f]) for f in fields if f in array}
    else:
        array = ak.Array(array)
        available = list(ak.fields(array))
        columns = {f: array[f] for f in fields if f in available}
    missing = [f for f in fields if f not in columns]
    if missing:
        raise ValueError(
            f"from_awkward: no field {missing[0]!r} in the array; the available fields are "
            f"{available}. Pass fields=... with the names of pt, y, phi (in that order)."
        )
    X, event_index = _jagged_to_padded(columns, fields, max_particles, sort, "from_awkward")
    return (X, event_index) if return_event_index else X


def to_awkward(X, fields=_DEFAULT_FIELDS):
    """An awkward array of jagged particles, ``n_jets * var * {field: float64}``, from padded jets.

    Padding rows (``X[..., 0] == 0``) are dropped; the particle order is kept, so
    ``from_awkward(to_awkward(X), max_particles=X.shape[1])`` returns ``X`` exactly for sklhep's
    pt-ordered arrays.

    Parameters
    ----------
    X : array-like of shape (n_jets, n_particles, n_fields)
    fields : sequence of str, default=("pt", "y", "phi")
        A name for each of the ``n_fields`` columns.

    Returns
    -------
    jets : awkward.Array

    Examples
    --------
    >>> import numpy as np
    >>> from sklhep.io import to_awkward
    >>> X = np.array([[[3.0, 0.0, 0.1], [1.0, 0.1, 0.2]], [[2.0, -0.1, 1.0], [0, 0, 0]]])
    >>> to_awkward(X).pt.tolist()
    [[3.0, 1.0], [2.0]]
    """
    ak = _awkward("to_awkward")
    X = _check_padded(X, "X")
    fields = _check_column_names(fields, X)
    mask = X[:, :, 0] != 0
    counts = mask.sum(1)
    flat = X[mask]
    content = ak.zip({f: np.ascontiguousarray(flat[:, k]) for k, f in enumerate(fields)})
    return ak.unflatten(content, counts)


def _check_padded(X, what):
    X = np.asarray(X, dtype=float)
    if X.ndim != 3:
        raise ValueError(
            f"{what} must be padded jets of shape (n_jets, n_particles, n_fields); got shape "
            f"{X.shape}."
        )
    if not np.all(np.isfinite(X)):
        jet, part, col = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(
            f"{what} contains {X[jet, part, col]} (jet {jet}, particle {part}, column {col}); "
            "NaN and inf are not accepted."
        )
    if np.any(X[:, :, 0] < 0):
        raise ValueError(f"{what}[..., 0] is the transverse momentum and must be >= 0.")
    return X


# ----------------------------------------------------------------------------------------------
# reading files
# ----------------------------------------------------------------------------------------------
def _open_root_tree(path, tree):
    uproot = import_optional("uproot", purpose="reading ROOT files")
    f = uproot.open(path)
    trees = sorted({k.split(";")[0] for k, c in f.classnames().items()
                    if c in ("TTree", "ROOT::RNTuple") or c.startswith("ROOT::Experimental::")})
    if tree is None:
        if len(trees) != 1:
            f.close()
            raise ValueError(
                f"{str(path)!r} holds {len(trees)} trees {trees}; say which with tree=..."
                if trees else f"{str(path)!r} holds no TTree or RNTuple."
            )
        tree = trees[0]
    if tree not in trees:
        f.close()
        raise ValueError(
            f"No tree {tree!r} in {str(path)!r}; the trees there are {trees}."
        )
    return f, f[tree]


def _check_branches(obj, fields, path):
    available = list(obj.keys())
    missing = [b for b in fields if b not in available]
    if missing:
        raise ValueError(
            f"No branch {missing[0]!r} in {str(path)!r}; the available branches are {available}. "
            "Pass fields=... with the branch names of pt, y, phi (in that order)."
        )


def _read_root(path, tree, fields, entry_start, entry_stop):
    f, t = _open_root_tree(path, tree)
    with f:
        _check_branches(t, fields, path)
        arrays = t.arrays(list(fields), entry_start=entry_start, entry_stop=entry_stop,
                          library="ak")
        return {b: arrays[b] for b in fields}, (entry_start or 0)


def _hdf5_fields(dset, n_fields):
    names = dset.attrs.get("fields")
    if names is None:
        return _ENERGYFLOW_FIELDS[:n_fields] if n_fields <= 4 else None
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _columns_by_name(names, fields, path, what):
    if names is None:
        raise ValueError(
            f"{str(path)!r}: {what} has no 'fields' attribute naming its columns; write it with "
            "sklhep.io.write_jets or read the array directly."
        )
    missing = [f for f in fields if f not in names]
    if missing:
        raise ValueError(
            f"No field {missing[0]!r} in {str(path)!r} ({what}); the available fields are "
            f"{list(names)}."
        )
    return [list(names).index(f) for f in fields]


def _read_hdf5(path, key, fields, entry_start, entry_stop):
    h5py = import_optional("h5py", purpose="reading HDF5 files")
    key = key or "jets"
    with h5py.File(path, "r") as h:
        sl = slice(entry_start, entry_stop)
        if key in h and isinstance(h[key], h5py.Dataset):
            dset = h[key]
            names = _hdf5_fields(dset, dset.shape[-1])
            cols = _columns_by_name(names, fields, path, f"dataset {key!r}")
            return dset[sl], cols, (entry_start or 0)
        group = h[key] if key in h else h
        datasets = [k for k in group if isinstance(group[k], h5py.Dataset)]
        if all(f in datasets for f in fields):
            # one padded (n_jets, n_particles) dataset per field
            arr = np.stack([group[f][sl] for f in fields], axis=-1)
            return arr, list(range(len(fields))), (entry_start or 0)
        missing = [f for f in fields if f not in datasets]
        raise ValueError(
            f"No dataset {key!r} and no field {missing[0]!r} in {str(path)!r}; the datasets "
            f"there are {sorted(datasets)}."
        )


def _read_parquet(path, fields, entry_start, entry_stop):
    ak = _awkward("reading Parquet files")
    pq = import_optional("pyarrow.parquet", purpose="reading Parquet files")
    meta = pq.ParquetFile(path)
    available = meta.schema_arrow.names
    missing = [f for f in fields if f not in available]
    if missing:
        raise ValueError(
            f"No column {missing[0]!r} in {str(path)!r}; the available columns are {available}."
        )
    start = entry_start or 0
    stop = meta.metadata.num_rows if entry_stop is None else min(entry_stop,
                                                                  meta.metadata.num_rows)
    # read only the row groups that overlap [start, stop)
    bounds = np.cumsum([0] + [meta.metadata.row_group(i).num_rows
                              for i in range(meta.num_row_groups)])
    groups = [i for i in range(meta.num_row_groups) if bounds[i] < stop and bounds[i + 1] > start]
    if not groups or stop <= start:
        table = ak.from_parquet(path, columns=list(fields), row_groups=[0]) if \
            meta.num_row_groups else None
        arrays = table[:0] if table is not None else ak.Array({f: [[]] for f in fields})[:0]
    else:
        arrays = ak.from_parquet(path, columns=list(fields), row_groups=groups)
        lo = start - bounds[groups[0]]
        arrays = arrays[lo : lo + (stop - start)]
    return {f: arrays[f] for f in fields}, start


def _read_npz(path, key, fields, entry_start, entry_stop):
    with np.load(path, allow_pickle=False) as data:
        key = key or ("X" if "X" in data.files else "jets")
        if key not in data.files:
            raise ValueError(
                f"No array {key!r} in {str(path)!r}; the arrays there are {data.files}."
            )
        arr = data[key][slice(entry_start, entry_stop)]
        names = [str(n) for n in data["fields"]] if "fields" in data.files else (
            _ENERGYFLOW_FIELDS[: arr.shape[-1]] if arr.ndim == 3 and arr.shape[-1] <= 4 else None
        )
    cols = _columns_by_name(names, fields, path, f"array {key!r}")
    return arr, cols, (entry_start or 0)


def read_jets(path, *, tree=None, fields=_DEFAULT_FIELDS, max_particles=None, entry_start=None,
              entry_stop=None, sort=True, return_event_index=False):
    """Read jets from a ROOT, HDF5, Parquet or ``.npz`` file into sklhep's padded array.

    Parameters
    ----------
    path : str or path-like
        The file; its suffix gives the format: ``.root`` (uproot: TTree or RNTuple),
        ``.h5``/``.hdf5`` (h5py), ``.parquet``/``.pq`` (pyarrow via awkward) or ``.npz``.
    tree : str or None, default=None
        ROOT: the TTree/RNTuple (None takes the only one). HDF5: the dataset, or the group of
        per-field datasets (None: ``"jets"``). ``.npz``: the array (None: ``"X"``, as in
        energyflow's files, else ``"jets"``). Ignored for Parquet.
    fields : sequence of str, default=("pt", "y", "phi")
        The branches, columns or fields to read, in output order; the first is the transverse
        momentum (particles are ordered by it, decreasing; ``pt == 0`` marks padding). Padded
        files without field names (energyflow's ``.npz``) have the columns
        ``("pt", "y", "phi", "pid")``.
    max_particles : int or None, default=None
        The width of the output (None fits the largest jet read); larger jets keep their
        highest-pt particles.
    entry_start, entry_stop : int or None, default=None
        Read only entries (jets, or events for an events -> jets layout) in
        ``[entry_start, entry_stop)``; the rest of the file is not loaded (ROOT, HDF5 and
        Parquet read lazily). :func:`iter_jets` walks a large file in chunks.
    sort : bool, default=True
        Order the particles of each jet by decreasing ``pt``.
    return_event_index : bool, default=False
        Also return, for each jet, the file entry (event) it came from; for an
        events -> jets -> particles layout this groups the jets of one event.

    Returns
    -------
    X : ndarray of shape (n_jets, max_particles, len(fields))
    event_index : ndarray of shape (n_jets,)
        Only with ``return_event_index=True``.

    Raises
    ------
    ValueError
        For an unknown suffix (the known ones are listed), a wrong tree name (the trees are
        listed), a missing branch (the available ones are listed), jagged fields of different
        lengths, NaN or inf in a particle.

    See Also
    --------
    write_jets : the inverse.
    iter_jets : the same in chunks, for files larger than memory.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklhep.io import read_jets, write_jets
    >>> X = np.array([[[3.0, 0.0, 0.1], [1.0, 0.1, 0.2]], [[2.0, -0.1, 1.0], [0, 0, 0]]])
    >>> path = os.path.join(tempfile.mkdtemp(), "jets.root")
    >>> write_jets(path, X)
    >>> np.array_equal(read_jets(path), X)
    True
    """
    fmt = _format_of(path)
    fields = _check_fields(fields)
    max_particles = check_int(max_particles, "max_particles", 0, allow_none=True)
    entry_start, entry_stop = _check_range(entry_start, entry_stop)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {str(path)!r}.")
    where = f"read_jets({str(path)!r})"
    if fmt in ("root", "parquet"):
        if fmt == "root":
            columns, offset = _read_root(path, tree, fields, entry_start, entry_stop)
        else:
            columns, offset = _read_parquet(path, fields, entry_start, entry_stop)
        X, event_index = _jagged_to_padded(columns, fields, max_particles, sort, where)
    else:
        if fmt == "hdf5":
            arr, cols, offset = _read_hdf5(path, tree, fields, entry_start, entry_stop)
        else:
            arr, cols, offset = _read_npz(path, tree, fields, entry_start, entry_stop)
        X = _padded_to_padded(arr, cols, max_particles, sort, where)
        event_index = np.arange(len(X))
    return (X, event_index + offset) if return_event_index else X


def _n_entries(path, fmt, tree):
    if fmt == "root":
        f, t = _open_root_tree(path, tree)
        with f:
            return int(t.num_entries)
    if fmt == "parquet":
        pq = import_optional("pyarrow.parquet", purpose="reading Parquet files")
        return int(pq.ParquetFile(path).metadata.num_rows)
    if fmt == "hdf5":
        h5py = import_optional("h5py", purpose="reading HDF5 files")
        with h5py.File(path, "r") as h:
            key = tree or "jets"
            node = h[key] if key in h else h
            if isinstance(node, h5py.Dataset):
                return int(node.shape[0])
            return int(next(node[k].shape[0] for k in node if isinstance(node[k], h5py.Dataset)))
    with np.load(path, allow_pickle=False) as data:
        key = tree or ("X" if "X" in data.files else "jets")
        return int(data[key].shape[0]) if key in data.files else 0


def iter_jets(path, *, step_size=100_000, tree=None, fields=_DEFAULT_FIELDS, max_particles=None,
              sort=True, return_event_index=False, verbose=0):
    """Read a jet file in chunks of ``step_size`` entries, for files larger than memory.

    Each chunk is :func:`read_jets` on ``[start, start + step_size)``; only that chunk is in
    memory at a time (ROOT, HDF5 and Parquet are read lazily). Give ``max_particles`` for chunks
    of one width.

    Parameters
    ----------
    path, tree, fields, max_particles, sort, return_event_index
        As in :func:`read_jets`.
    step_size : int, default=100000
        Entries per chunk.
    verbose : int, default=0
        Show a tqdm progress bar over chunks when truthy.

    Yields
    ------
    X : ndarray of shape (n_jets_in_chunk, max_particles, len(fields))
        (``(X, event_index)`` with ``return_event_index=True``; the index counts from the file's
        first entry.)

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklhep.io import iter_jets, write_jets
    >>> X = np.tile([[[3.0, 0.0, 0.1], [1.0, 0.1, 0.2]]], (5, 1, 1))
    >>> path = os.path.join(tempfile.mkdtemp(), "jets.h5")
    >>> write_jets(path, X)
    >>> [len(chunk) for chunk in iter_jets(path, step_size=2)]
    [2, 2, 1]
    """
    fmt = _format_of(path)
    step_size = check_int(step_size, "step_size", 1)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {str(path)!r}.")
    n = _n_entries(path, fmt, tree)
    starts = range(0, n, step_size)
    if verbose:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="reading jets", unit="chunk")
    for start in starts:
        yield read_jets(path, tree=tree, fields=fields, max_particles=max_particles,
                        entry_start=start, entry_stop=min(start + step_size, n), sort=sort,
                        return_event_index=return_event_index)


# ----------------------------------------------------------------------------------------------
# writing files
# ----------------------------------------------------------------------------------------------
def write_jets(path, X, *, fields=_DEFAULT_FIELDS, tree="jets", overwrite=True, append=False):
    """Write padded jets to a ROOT, HDF5, Parquet or ``.npz`` file (format from the suffix).

    ROOT gets a TTree with one entry per jet, a counter branch ``n`` and one ``var * float64``
    branch per field; Parquet one row per jet with a list column per field; HDF5 and ``.npz``
    the padded array itself (dataset/array ``tree``) with the field names stored beside it. Padding
    rows (``pt == 0``) are not written to ROOT and Parquet. :func:`read_jets` reads every one of
    them back exactly.

    Parameters
    ----------
    path : str or path-like
        ``.root``, ``.h5``/``.hdf5``, ``.parquet``/``.pq`` or ``.npz``.
    X : array-like of shape (n_jets, n_particles, n_fields)
        Padded jets, column 0 the transverse momentum.
    fields : sequence of str, default=("pt", "y", "phi")
        A name for each column.
    tree : str, default="jets"
        The TTree (ROOT), dataset (HDF5) or array (``.npz``) name.
    overwrite : bool, default=True
        Replace an existing file; with False an existing file raises FileExistsError.
    append : bool, default=False
        ROOT and HDF5 only: add the tree (dataset) ``tree`` to an existing file, e.g. several
        samples in one file; a tree of that name already there raises ValueError.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklhep.io import read_jets, write_jets
    >>> X = np.array([[[3.0, 0.0, 0.1], [1.0, 0.1, 0.2]], [[2.0, -0.1, 1.0], [0, 0, 0]]])
    >>> path = os.path.join(tempfile.mkdtemp(), "jets.parquet")
    >>> write_jets(path, X)
    >>> np.array_equal(read_jets(path), X)
    True
    """
    fmt = _format_of(path)
    X = _check_padded(X, "X")
    fields = _check_column_names(fields, X)
    if not isinstance(tree, str) or not tree:
        raise ValueError(f"tree must be a non-empty string; got {tree!r}.")
    append = bool(append) and os.path.exists(path)
    if append and fmt not in ("root", "hdf5"):
        raise ValueError(
            f"append=True adds a tree to a ROOT or HDF5 file; a {fmt} file holds one table. "
            "Write each sample to its own file."
        )
    if os.path.exists(path) and not overwrite and not append:
        raise FileExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it.")
    if fmt == "root":
        uproot = import_optional("uproot", purpose="writing ROOT files")
        jets = to_awkward(X, fields)
        if append:
            with uproot.open(path) as f:
                present = sorted({k.split(";")[0] for k in f.keys()})
            if tree in present:
                raise ValueError(
                    f"{str(path)!r} already holds {tree!r} (it holds {present}); choose another "
                    "tree name or append=False to replace the file."
                )
        with (uproot.update(path) if append else uproot.recreate(path)) as f:
            t = f.mktree(tree, {name: "var * float64" for name in fields},
                         counter_name=lambda _: "n")
            if len(X):
                t.extend({name: jets[name] for name in fields})
    elif fmt == "parquet":
        ak = _awkward("writing Parquet files")
        import_optional("pyarrow", purpose="writing Parquet files")
        jets = to_awkward(X, fields)
        ak.to_parquet(ak.zip({name: jets[name] for name in fields}, depth_limit=1), path)
    elif fmt == "hdf5":
        h5py = import_optional("h5py", purpose="writing HDF5 files")
        with h5py.File(path, "a" if append else "w") as h:
            if tree in h:
                raise ValueError(
                    f"{str(path)!r} already holds {tree!r} (it holds {sorted(h)}); choose another "
                    "dataset name or append=False to replace the file."
                )
            dset = h.create_dataset(tree, data=X, chunks=(max(1, min(len(X), 10_000)),
                                                          *X.shape[1:]) if len(X) else None)
            dset.attrs["fields"] = list(fields)
    else:
        np.savez(path, **{tree: X, "fields": np.array(fields)})


# ----------------------------------------------------------------------------------------------
# HepMC events and jet clustering
# ----------------------------------------------------------------------------------------------
def read_hepmc(path, *, max_events=None, invisible=_INVISIBLE, verbose=0):
    """Final-state particles of each event of a HepMC file (any generator), via pyhepmc.

    Parameters
    ----------
    path : str or path-like
        A HepMC2, HepMC3 ASCII or compressed file (pyhepmc detects the format).
    max_events : int or None, default=None
        Read at most this many events.
    invisible : sequence of int, default=(12, 14, 16)
        ``|pid|`` values left out (neutrinos), as in :func:`sklhep.datasets.generate_pythia_jets`.
    verbose : int, default=0
        Show a tqdm progress bar over events when truthy.

    Returns
    -------
    events : list of ndarray of shape (n_particles, 5)
        Per event, the final-state (status 1) particles as rows ``(px, py, pz, E, pid)`` in the
        file's momentum unit (converted to GeV when the file says MEV). Feed them to
        :func:`cluster_jets`.

    Examples
    --------
    >>> from sklhep.io import read_hepmc
    >>> events = read_hepmc("events.hepmc3")  # doctest: +SKIP
    """
    pyhepmc = import_optional("pyhepmc", purpose="read_hepmc")
    max_events = check_int(max_events, "max_events", 1, allow_none=True)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {str(path)!r}.")
    invisible = {abs(int(p)) for p in invisible}
    events = []
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(desc="reading HepMC", unit="event", total=max_events)
    with pyhepmc.open(path) as f:
        for event in f:
            if event is None:
                break
            scale = 1e-3 if str(event.momentum_unit).upper().endswith("MEV") else 1.0
            rows = [(p.momentum.px, p.momentum.py, p.momentum.pz, p.momentum.e, p.pid)
                    for p in event.particles if p.status == 1 and abs(p.pid) not in invisible]
            arr = np.array(rows, dtype=float).reshape(-1, 5)
            arr[:, :4] *= scale
            events.append(arr)
            if bar is not None:
                bar.update()
            if max_events is not None and len(events) >= max_events:
                break
    if bar is not None:
        bar.close()
    if not events:
        raise ValueError(f"{str(path)!r} holds no HepMC event pyhepmc could read.")
    return events


def cluster_jets(events, R=0.4, algorithm="antikt", *, pt_min=20.0, n_jets=None, y_max=None,
                 max_particles=None, return_event_index=True):
    """Cluster each event's particles into jets with FastJet, in sklhep's padded layout.

    The conventions are those of :func:`sklhep.datasets.generate_pythia_jets`: inclusive jets
    above ``pt_min`` ordered by decreasing pt, constituents as ``(pt, y, phi, pid)`` with
    ``phi`` in ``[0, 2 pi)``, ordered by decreasing pt, zero-padded.

    Parameters
    ----------
    events : list of array-like of shape (n_particles, 4 or 5)
        Per event, particles as rows ``(px, py, pz, E[, pid])`` (what :func:`read_hepmc` gives).
    R : float, default=0.4
        The jet radius.
    algorithm : {"antikt", "kt", "cambridge"}, default="antikt"
    pt_min : float, default=20.0
        The smallest jet pt kept (in the events' unit, GeV for :func:`read_hepmc`).
    n_jets : int or None, default=None
        Keep at most the ``n_jets`` leading jets of each event (after the ``y_max`` cut).
    y_max : float or None, default=None
        Keep only jets with ``|y| < y_max``.
    max_particles : int or None, default=None
        The width of the output; None fits the largest jet.
    return_event_index : bool, default=True
        Also return the event each jet came from.

    Returns
    -------
    X : ndarray of shape (n_jets_total, max_particles, 4)
        The constituents ``(pt, y, phi, pid)`` (pid 0 when the events have no pid column).
    event_index : ndarray of shape (n_jets_total,)
        Only with ``return_event_index=True``.

    References
    ----------
    .. [1] M. Cacciari, G. P. Salam, G. Soyez, "The anti-k_t jet clustering algorithm",
       JHEP 04 (2008) 063.

    Examples
    --------
    >>> import numpy as np
    >>> from sklhep.io import cluster_jets
    >>> event = np.array([[100.0, 0.0, 10.0, 100.6], [50.0, 1.0, 5.0, 50.3],
    ...                   [-80.0, 0.0, -3.0, 80.1]])
    >>> X, event_index = cluster_jets([event], R=0.4)
    >>> X.shape, event_index.tolist()
    ((2, 2, 4), [0, 0])
    """
    fastjet = import_optional("fastjet", purpose="cluster_jets")
    for name, v in (("R", R), ("pt_min", pt_min)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or \
                v < 0 or (name == "R" and v == 0):
            raise ValueError(f"{name} must be a {'positive' if name == 'R' else 'non-negative'} "
                             f"number; got {v!r}.")
    if y_max is not None and (isinstance(y_max, bool) or not isinstance(y_max, (int, float))
                              or not y_max > 0):
        raise ValueError(f"y_max must be None or a positive number; got {y_max!r}.")
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(_ALGORITHMS)}; got {algorithm!r}.")
    n_jets = check_int(n_jets, "n_jets", 1, allow_none=True)
    max_particles = check_int(max_particles, "max_particles", 0, allow_none=True)
    if isinstance(events, np.ndarray) and events.ndim == 2:
        raise ValueError(
            "events must be a list of per-event particle arrays (n_particles, 4 or 5); got one "
            "2-D array. Wrap a single event in a list."
        )
    algo = {"antikt": fastjet.antikt_algorithm, "kt": fastjet.kt_algorithm,
            "cambridge": fastjet.cambridge_algorithm}[algorithm]
    jet_def = fastjet.JetDefinition(algo, float(R))
    jets, owners = [], []
    for i, ev in enumerate(events):
        ev = np.asarray(ev, dtype=float)
        if ev.size == 0:
            continue
        if ev.ndim != 2 or ev.shape[1] not in (4, 5):
            raise ValueError(
                f"event {i} must have shape (n_particles, 4 or 5) = (px, py, pz, E[, pid]); got "
                f"{ev.shape}."
            )
        if not np.all(np.isfinite(ev)):
            raise ValueError(f"event {i} contains NaN or inf.")
        pid = ev[:, 4] if ev.shape[1] == 5 else np.zeros(len(ev))
        parts = []
        for k, (px, py, pz, e) in enumerate(ev[:, :4]):
            pj = fastjet.PseudoJet(float(px), float(py), float(pz), float(e))
            pj.set_user_index(k)
            parts.append(pj)
        cs = fastjet.ClusterSequence(parts, jet_def)
        found = fastjet.sorted_by_pt(cs.inclusive_jets(float(pt_min)))
        if y_max is not None:
            found = [j for j in found if abs(j.rap()) < y_max]
        if n_jets is not None:
            found = found[:n_jets]
        for j in found:
            cons = j.constituents()
            arr = np.array([[c.pt(), c.rap(), c.phi(), pid[c.user_index()]] for c in cons])
            jets.append(arr[np.argsort(-arr[:, 0], kind="stable")])
            owners.append(i)
    counts = np.array([len(j) for j in jets], dtype=np.int64)
    flat = np.concatenate(jets) if jets else np.zeros((0, 4))
    X = _pad_flat(flat, counts, max_particles, sort=False)
    if X.shape[1] == 0 and not jets:
        X = np.zeros((0, max_particles or 0, 4))
    event_index = np.asarray(owners, dtype=np.int64)
    return (X, event_index) if return_event_index else X
