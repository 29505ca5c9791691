"""Jets from Pythia 8 and FastJet, and a loader for energyflow's quark/gluon files.

``generate_pythia_jets`` follows the recipe of the public quark/gluon benchmark (Komiske, Metodiev,
Thaler, "Energy flow networks", 2019): pp collisions at 14 TeV, Z(->nu nu) + quark and
Z(->nu nu) + gluon, anti-kT R = 0.4 jets of all visible final-state particles with pt in
[500, 550] GeV and |y| < 1.7. Its dijet mode keeps the two leading jets, labelled central and
forward, with the flavour of the nearest hard-process parton: the mixtures of real analyses.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import math
import os
import sys
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

from .._validation import Interval, StrOptions, import_optional, validate_params

__all__ = ["generate_pythia_jets", "load_energyflow_qg"]

_PROCESSES = ("zjet-quark", "zjet-gluon", "zjets", "dijets")
_CHUNK = 100  # jets per Pythia run; fixed so results do not depend on n_jobs
_FORMAT = 3  # bump when the output of a generation changes, to invalidate caches
_INVISIBLE = (12, 14, 16)


def _default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sklhep")


def _pythia_settings(process, pt_min, pt_max, ecm, seed):
    settings = [
        f"Beams:eCM = {float(ecm)}",
        f"PhaseSpace:pTHatMin = {max(pt_min - 20.0, 1.0)}",
        f"PhaseSpace:pTHatMax = {pt_max + 50.0}",
        "Random:setSeed = on",
        f"Random:seed = {int(seed)}",
        "Print:quiet = on",
        "Next:numberCount = 0",
        "Next:numberShowEvent = 0",
        "Next:numberShowInfo = 0",
        "Next:numberShowProcess = 0",
    ]
    if process == "dijets":
        settings.append("HardQCD:all = on")
    else:
        z = ["WeakZ0:gmZmode = 2", "23:onMode = off", "23:onIfAny = 12 14 16"]
        switch = {"zjet-quark": "WeakBosonAndParton:qg2gmZq = on",
                  "zjet-gluon": "WeakBosonAndParton:qqbar2gmZg = on"}[process]
        settings += [switch, *z]
    return settings


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C++ output on file descriptor 1 (Pythia's and FastJet's banners)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _run_chunk(*args):
    """Generate one chunk in a fresh Pythia: a list of (particles, label, central) per jet."""
    with _quiet_stdout():
        return _generate_chunk(*args)


def _generate_chunk(process, n_wanted, seed, pt_min, pt_max, y_max, R, ecm, max_tries):
    pythia8 = import_optional("pythia8mc", purpose="generate_pythia_jets")
    fastjet = import_optional("fastjet", purpose="generate_pythia_jets")
    pythia = pythia8.Pythia("", False)
    for s in _pythia_settings(process, pt_min, pt_max, ecm, seed):
        if not pythia.readString(s):
            raise RuntimeError(f"Pythia rejected the setting {s!r}.")
    if not pythia.init():
        raise RuntimeError("Pythia failed to initialise; check the generation settings.")
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, float(R))
    label = {"zjet-quark": 1, "zjet-gluon": 0}.get(process)
    out = []
    tries = 0
    n_events = n_wanted if process != "dijets" else n_wanted // 2
    accepted = 0
    while accepted < n_events:
        tries += 1
        if tries > max_tries:
            raise RuntimeError(
                f"Only {accepted} of {n_events} events passed the selection in {max_tries} "
                f"Pythia events; loosen pt_min/pt_max/y_max."
            )
        if not pythia.next():
            continue
        event = pythia.event
        parts, info = [], []
        for i in range(event.size()):
            p = event[i]
            if p.isFinal() and p.idAbs() not in _INVISIBLE:
                pj = fastjet.PseudoJet(p.px(), p.py(), p.pz(), p.e())
                pj.set_user_index(len(info))
                parts.append(pj)
                info.append(p.id())
        cs = fastjet.ClusterSequence(parts, jet_def)
        jets = fastjet.sorted_by_pt(cs.inclusive_jets(0.5 * pt_min))
        n_lead = 1 if process != "dijets" else 2
        if len(jets) < n_lead:
            continue
        lead = jets[:n_lead]
        if not all(pt_min <= j.pt() <= pt_max and abs(j.rap()) < y_max for j in lead):
            continue
        arrays = []
        for j in lead:
            cons = j.constituents()
            arr = np.array([[c.pt(), c.rap(), c.phi(), info[c.user_index()]] for c in cons])
            arrays.append(arr[np.argsort(-arr[:, 0], kind="stable")])
        if process == "dijets":
            hard = [pythia.process[i] for i in range(pythia.process.size())
                    if abs(pythia.process[i].status()) == 23]
            flavours = []
            for j in lead:
                d = [math.hypot(j.rap() - h.y(), (j.phi_std() - h.phi() + math.pi)
                                % (2 * math.pi) - math.pi) for h in hard]
                flavours.append(0 if hard[int(np.argmin(d))].idAbs() == 21 else 1)
            central = int(abs(lead[0].rap()) > abs(lead[1].rap()))
            for k, arr in enumerate(arrays):
                out.append((arr, flavours[k], int(k == central)))
        else:
            out.append((arrays[0], label, 1))
        accepted += 1
    return out


def _cache_key(settings):
    pythia8 = import_optional("pythia8mc", purpose="generate_pythia_jets")
    version = getattr(pythia8, "__version__", "unknown")
    blob = json.dumps({**settings, "pythia8mc": version, "format": _FORMAT}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


_POSITIVE = Interval(Real, 0, None, closed="neither")


@validate_params(
    {
        "n_jets": [Interval(Integral, 1, None, closed="left")],
        "process": [StrOptions(set(_PROCESSES))],
        "pt_min": [_POSITIVE],
        "pt_max": [_POSITIVE],
        "y_max": [_POSITIVE, None],
        "R": [_POSITIVE],
        "ecm": [_POSITIVE],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "cache": ["boolean"],
        "cache_dir": [str, os.PathLike, None],
        "max_particles": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def generate_pythia_jets(n_jets, process="zjets", *, pt_min=500.0, pt_max=550.0, y_max=None,
                         R=0.4, ecm=14000.0, random_state=None, n_jobs=None, verbose=0,
                         cache=True, cache_dir=None, max_particles=None):
    """Generate jets with Pythia 8 and cluster them with FastJet (anti-kT).

    Parameters
    ----------
    n_jets : int
        Number of jets (for ``"dijets"``, an even number: two jets per event).
    process : {"zjets", "zjet-quark", "zjet-gluon", "dijets"}, default="zjets"
        ``"zjet-quark"``: Z(->nu nu) + quark via q g -> Z q; ``"zjet-gluon"``: Z(->nu nu) + gluon
        via q qbar -> Z g; ``"zjets"``: half of each, quark jets first then shuffled;
        ``"dijets"``: QCD 2 -> 2, the two leading jets of each event.
    pt_min, pt_max : float, default=500.0, 550.0
        Jet pt window in GeV (both leading jets for dijets).
    y_max : float or None, default=None
        Largest absolute rapidity of the jet(s); None means 1.7 for Z+jet and 2.5 for dijets.
    R : float, default=0.4
        Anti-kT radius.
    ecm : float, default=14000.0
        Collision energy in GeV.
    random_state : int, RandomState or None, default=None
        Seeds the Pythia runs. The jets are generated in chunks of 100 with one seed each, so the
        result does not depend on ``n_jobs``. Only an int seed makes the result cacheable.
    n_jobs : int or None, default=None
        joblib workers: chunks run in parallel with :class:`sklearn.utils.parallel.Parallel`.
    verbose : int, default=0
        Show a progress bar over completed chunks when > 0.
    cache : bool, default=True
        With an int ``random_state``, store the result on disk, keyed by all generation settings
        (and the Pythia version), and reuse it when asked again.
    cache_dir : str, path or None, default=None
        Cache directory; None means ``$XDG_CACHE_HOME/sklhep`` or ``~/.cache/sklhep``.
    max_particles : int or None, default=None
        Width of the padded array; None fits the largest jet.

    Returns
    -------
    X : ndarray of shape (n_jets, max_particles, 4)
        Particles ``(pt, y, phi, pid)``, pt-ordered and zero-padded, in the lab frame (phi in
        [0, 2 pi)); massive hadrons keep their true rapidity.
    y : ndarray of shape (n_jets,)
        1 for quark jets, 0 for gluon jets (for dijets, the flavour of the nearest
        hard-process outgoing parton).
    central : ndarray of shape (n_jets,)
        Only for ``"dijets"``: 1 for the more central of the two jets, 0 for the more forward one;
        rows ``2 i`` and ``2 i + 1`` are the two jets of event ``i``.

    References
    ----------
    .. [1] P. T. Komiske, E. M. Metodiev, J. Thaler, "Energy flow networks: deep sets for particle
       jets", JHEP 01 (2019) 121.
    .. [2] C. Bierlich et al., "A comprehensive guide to the physics and usage of PYTHIA 8.3",
       SciPost Phys. Codebases 8 (2022).
    .. [3] M. Cacciari, G. P. Salam, G. Soyez, "FastJet user manual", Eur. Phys. J. C 72 (2012)
       1896.

    Examples
    --------
    >>> from sklhep.datasets import generate_pythia_jets
    >>> X, y = generate_pythia_jets(4, "zjet-gluon", random_state=1, cache=False)  # doctest: +SKIP
    """
    if process == "dijets" and n_jets % 2:
        raise ValueError(f"dijets gives two jets per event: n_jets must be even; got {n_jets}.")
    if y_max is None:
        y_max = 2.5 if process == "dijets" else 1.7
    if pt_min >= pt_max:
        raise ValueError(f"pt_min must be below pt_max; got {pt_min!r} and {pt_max!r}.")
    import_optional("pythia8mc", purpose="generate_pythia_jets")
    import_optional("fastjet", purpose="generate_pythia_jets")

    settings = dict(n_jets=int(n_jets), process=process, pt_min=float(pt_min),
                    pt_max=float(pt_max), y_max=float(y_max), R=float(R), ecm=float(ecm))
    cacheable = cache and isinstance(random_state, (int, np.integer)) and not isinstance(
        random_state, bool)
    path = None
    if cacheable:
        settings["seed"] = int(random_state)
        root = Path(cache_dir) if cache_dir is not None else Path(_default_cache_dir())
        path = root / "pythia" / f"{process}-{n_jets}-{_cache_key(settings)}.npz"
        if path.exists():
            with np.load(path) as data:
                result = [data["X"], data["y"]] + ([data["central"]] if process == "dijets"
                                                   else [])
            return _trim(result, max_particles)

    rs = check_random_state(random_state)
    if process == "zjets":
        n_q = n_jets // 2
        plan = [("zjet-quark", n_q), ("zjet-gluon", n_jets - n_q)]
    else:
        plan = [(process, n_jets)]
    tasks = []
    for proc, n in plan:
        per = _CHUNK if proc != "dijets" else 2 * (_CHUNK // 2)
        for start in range(0, n, per):
            tasks.append((proc, min(per, n - start)))
    seeds = rs.randint(1, 900_000_000, size=len(tasks))
    max_tries = 10_000 + 1_000 * _CHUNK
    jobs = (delayed(_run_chunk)(proc, n, int(seed), pt_min, pt_max, y_max, R, ecm, max_tries)
            for (proc, n), seed in zip(tasks, seeds))
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    if verbose:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(tasks), desc=f"Pythia {process}", unit="chunk")
    jets = [item for chunk in results for item in chunk]
    width = max(len(j[0]) for j in jets)
    X = np.zeros((len(jets), width, 4))
    for i, (arr, _, _) in enumerate(jets):
        X[i, : len(arr)] = arr
    y = np.array([j[1] for j in jets], dtype=int)
    result = [X, y]
    if process == "dijets":
        result.append(np.array([j[2] for j in jets], dtype=int))
    elif process == "zjets":
        perm = rs.permutation(len(jets))
        result = [X[perm], y[perm]]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        names = ["X", "y", "central"]
        np.savez_compressed(tmp, **dict(zip(names, result)))
        os.replace(tmp, path)
    return _trim(result, max_particles)


def _trim(result, max_particles):
    if max_particles is None:  # else a positive int, by generate_pythia_jets' constraints
        return tuple(result)
    X = result[0]
    if X.shape[1] >= max_particles:
        X = X[:, :max_particles]
    else:
        X = np.pad(X, ((0, 0), (0, max_particles - X.shape[1]), (0, 0)))
    return (X, *result[1:])


def load_energyflow_qg(path=None, *, max_files=None):
    """Load energyflow's quark/gluon jet files (``QG_jets*.npz``) that are already on disk.

    No download is attempted. The files hold ``X`` of shape (n_jets, max_particles, 4) with
    ``(pt, y, phi, pid)`` rows and ``y`` with 1 for quark and 0 for gluon jets: the same
    convention as :func:`make_jets` and :func:`generate_pythia_jets`.

    Parameters
    ----------
    path : str, path or None, default=None
        A ``.npz`` file, or a directory holding ``QG_jets*.npz`` files; None looks in
        energyflow's default directory ``~/.energyflow/datasets``.
    max_files : int or None, default=None
        Read at most this many files of a directory (sorted by name).

    Returns
    -------
    X : ndarray of shape (n_jets, max_particles, 4)
    y : ndarray of shape (n_jets,)

    Raises
    ------
    FileNotFoundError
        When the file or directory does not exist or holds no ``QG_jets*.npz`` file.
    ValueError
        When a file lacks the arrays ``X`` and ``y`` or they do not match.
    """
    if path is None:
        path = os.path.join(os.path.expanduser("~"), ".energyflow", "datasets")
    path = Path(path)
    if path.is_dir():
        files = sorted(glob.glob(str(path / "QG_jets*.npz")))
        if not files:
            raise FileNotFoundError(
                f"No QG_jets*.npz file in {str(path)!r}. Place energyflow's quark/gluon files "
                f"(e.g. QG_jets.npz, QG_jets_1.npz, downloaded once with "
                f"energyflow.qg_jets.load on a machine with internet) there, or pass the path "
                f"of a file. sklhep does not download data."
            )
        if max_files is not None:
            files = files[: int(max_files)]
    elif path.is_file():
        files = [str(path)]
    else:
        raise FileNotFoundError(
            f"{str(path)!r} does not exist. Pass the path of an energyflow QG_jets*.npz file or "
            f"of the directory holding them; sklhep does not download data."
        )
    Xs, ys = [], []
    for f in files:
        with np.load(f) as data:
            if "X" not in data or "y" not in data:
                raise ValueError(
                    f"{f!r} is not an energyflow quark/gluon file: it needs arrays 'X' and 'y'; "
                    f"found {sorted(data.files)}."
                )
            X, y = data["X"], data["y"]
        if X.ndim != 3 or X.shape[2] < 3 or y.shape != (X.shape[0],):
            raise ValueError(
                f"{f!r}: expected X of shape (n_jets, n_particles, 4) and y of shape (n_jets,); "
                f"got {X.shape} and {y.shape}."
            )
        Xs.append(X)
        ys.append(y)
    width = max(X.shape[1] for X in Xs)
    X = np.concatenate([np.pad(X, ((0, 0), (0, width - X.shape[1]), (0, 0))) for X in Xs])
    return X, np.concatenate(ys).astype(int)
