"""Tests of sklhep.io: exact round trips through every format, awkward, HepMC + FastJet, errors."""

import numpy as np
import pytest

ak = pytest.importorskip("awkward")

from sklhep.io import (  # noqa: E402
    cluster_jets,
    from_awkward,
    iter_jets,
    read_hepmc,
    read_jets,
    to_awkward,
    write_jets,
)

FIELDS4 = ("pt", "y", "phi", "pid")
SUFFIXES = [".root", ".h5", ".parquet", ".npz"]
NEEDS = {".root": "uproot", ".h5": "h5py", ".parquet": "pyarrow", ".npz": "numpy"}


def padded_jets(seed, n=40, max_m=12):
    """Random pt-ordered, zero-padded jets (pt, y, phi, pid), one of them empty."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, max_m, 4))
    for i in range(n):
        m = 0 if i == 3 else int(rng.integers(1, max_m + 1))
        pt = np.sort(rng.exponential(20.0, m) + 0.5)[::-1]
        X[i, :m, 0] = pt
        X[i, :m, 1] = rng.normal(0, 1, m)
        X[i, :m, 2] = rng.uniform(0, 2 * np.pi, m)
        X[i, :m, 3] = rng.choice([211.0, -211.0, 22.0, 130.0], m)
    return X


def needs(suffix):
    pytest.importorskip(NEEDS[suffix])


# ---------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_write_read_round_trip_is_exact(tmp_path, suffix):
    needs(suffix)
    X = padded_jets(0)
    path = tmp_path / f"jets{suffix}"
    write_jets(path, X, fields=FIELDS4)
    back = read_jets(path, fields=FIELDS4)
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, X)
    # a subset of fields, in another order
    np.testing.assert_array_equal(read_jets(path, fields=("pt", "phi")), X[:, :, [0, 2]])
    # a slice of entries, with the entries' indices
    part, idx = read_jets(path, fields=FIELDS4, entry_start=5, entry_stop=17,
                          return_event_index=True)
    np.testing.assert_array_equal(part, X[5:17, : part.shape[1]])
    assert part.shape[1] == int((X[5:17, :, 0] > 0).sum(1).max())
    np.testing.assert_array_equal(idx, np.arange(5, 17))
    # a narrower width keeps the highest-pt particles
    np.testing.assert_array_equal(read_jets(path, fields=FIELDS4, max_particles=4), X[:, :4])
    wide = read_jets(path, fields=FIELDS4, max_particles=15)
    np.testing.assert_array_equal(wide[:, :12], X)
    assert not wide[:, 12:].any()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_iter_jets_chunks_add_up_to_the_file(tmp_path, suffix):
    needs(suffix)
    X = padded_jets(1, n=23)
    path = tmp_path / f"jets{suffix}"
    write_jets(path, X, fields=FIELDS4)
    chunks = list(iter_jets(path, step_size=5, fields=FIELDS4, max_particles=12,
                            return_event_index=True))
    assert [len(c[0]) for c in chunks] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate([c[0] for c in chunks]), X)
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), np.arange(23))


def test_awkward_round_trips_are_exact():
    X = padded_jets(2)
    jets = to_awkward(X, fields=FIELDS4)
    assert ak.fields(jets) == list(FIELDS4)
    assert ak.num(jets, axis=1).tolist() == (X[:, :, 0] > 0).sum(1).tolist()
    np.testing.assert_array_equal(from_awkward(jets, fields=FIELDS4, max_particles=12), X)
    # and the other way: jagged -> padded -> jagged
    again = to_awkward(from_awkward(jets, fields=FIELDS4), fields=FIELDS4)
    assert again.tolist() == jets.tolist()
    # a record of jagged fields (uproot's arrays()) and a dict of jagged arrays work alike
    rec = ak.zip({f: jets[f] for f in FIELDS4}, depth_limit=1)
    np.testing.assert_array_equal(from_awkward(rec, fields=FIELDS4, max_particles=12), X)
    as_dict = {f: jets[f] for f in FIELDS4}
    np.testing.assert_array_equal(from_awkward(as_dict, fields=FIELDS4, max_particles=12), X)


def test_particles_are_ordered_by_decreasing_pt_and_padding_dropped():
    jets = ak.Array({"pt": [[1.0, 0.0, 5.0, 3.0], [2.0]], "y": [[0.1, 9.0, 0.5, 0.3], [0.2]],
                     "phi": [[1.1, 9.0, 1.5, 1.3], [1.2]]})
    X = from_awkward(jets)
    np.testing.assert_array_equal(X[0], [[5.0, 0.5, 1.5], [3.0, 0.3, 1.3], [1.0, 0.1, 1.1]])
    np.testing.assert_array_equal(X[1], [[2.0, 0.2, 1.2], [0, 0, 0], [0, 0, 0]])
    # sort=False keeps the file's order (padding still dropped)
    np.testing.assert_array_equal(from_awkward(jets, sort=False)[0, :, 0], [1.0, 5.0, 3.0])


def nested_events():
    """Three events of 2, 0 and 3 jets (events -> jets -> particles)."""
    X = padded_jets(3, n=5, max_m=6)[:, :, :3]
    n_per_event = [2, 0, 3]
    nested = ak.unflatten(to_awkward(X), n_per_event)
    return X, nested, np.repeat(np.arange(3), n_per_event)


def test_events_jets_particles_layout_is_flattened_with_event_index(tmp_path):
    X, nested, owners = nested_events()
    got, idx = from_awkward(nested, max_particles=6, return_event_index=True)
    np.testing.assert_array_equal(got, X)
    np.testing.assert_array_equal(idx, owners)
    pytest.importorskip("pyarrow")
    path = tmp_path / "events.parquet"
    # one row per event, a doubly nested list column per field
    ak.to_parquet(ak.zip({f: nested[f] for f in ("pt", "y", "phi")}, depth_limit=1), path)
    got, idx = read_jets(path, max_particles=6, return_event_index=True)
    np.testing.assert_array_equal(got, X)
    np.testing.assert_array_equal(idx, owners)
    # entries are events here: events 1 and 2 hold jets 2-4
    got, idx = read_jets(path, max_particles=6, entry_start=1, return_event_index=True)
    np.testing.assert_array_equal(got, X[2:])
    np.testing.assert_array_equal(idx, [2, 2, 2])


def test_events_layout_in_a_root_rntuple(tmp_path):
    uproot = pytest.importorskip("uproot")
    X, nested, owners = nested_events()
    path = tmp_path / "events.root"
    with uproot.recreate(path) as f:
        # uproot writes a dict of nested jagged arrays as an RNTuple
        f["events"] = {"part_pt": nested.pt, "part_y": nested.y, "part_phi": nested.phi}
    got, idx = read_jets(path, fields=("part_pt", "part_y", "part_phi"), max_particles=6,
                         return_event_index=True)
    np.testing.assert_array_equal(got, X)
    np.testing.assert_array_equal(idx, owners)


def test_hdf5_per_field_datasets(tmp_path):
    h5py = pytest.importorskip("h5py")
    X = padded_jets(4)
    path = tmp_path / "fields.hdf5"
    with h5py.File(path, "w") as h:
        for k, f in enumerate(FIELDS4):
            h.create_dataset(f"jets/{f}", data=X[:, :, k])
    np.testing.assert_array_equal(read_jets(path, fields=FIELDS4), X)


def test_energyflow_npz_layout(tmp_path):
    # energyflow's quark/gluon files: X of shape (n, m, 4) = (pt, y, phi, pid) and labels y
    X = padded_jets(5)
    path = tmp_path / "QG_jets.npz"
    np.savez(path, X=X, y=np.arange(len(X)) % 2)
    np.testing.assert_array_equal(read_jets(path), X[:, :, :3])
    np.testing.assert_array_equal(read_jets(path, fields=("pt", "pid")), X[:, :, [0, 3]])


@pytest.mark.parametrize("suffix", [".root", ".h5"])
def test_append_puts_several_samples_in_one_file(tmp_path, suffix):
    needs(suffix)
    A, B = padded_jets(11, n=6), padded_jets(12, n=9)
    path = tmp_path / f"samples{suffix}"
    write_jets(path, A, fields=FIELDS4, tree="sig")
    write_jets(path, B, fields=FIELDS4, tree="bkg", append=True)
    np.testing.assert_array_equal(read_jets(path, tree="sig", fields=FIELDS4, max_particles=12), A)
    np.testing.assert_array_equal(read_jets(path, tree="bkg", fields=FIELDS4, max_particles=12), B)
    with pytest.raises(ValueError, match="already holds 'sig'"):
        write_jets(path, B, fields=FIELDS4, tree="sig", append=True)
    with pytest.raises(ValueError, match="append=True adds a tree to a ROOT or HDF5 file"):
        write_jets(tmp_path / "x.npz", A, fields=FIELDS4)  # creates it
        write_jets(tmp_path / "x.npz", A, fields=FIELDS4, append=True)


def test_root_file_read_by_uproot_has_the_documented_layout(tmp_path):
    uproot = pytest.importorskip("uproot")
    X = padded_jets(6)
    path = tmp_path / "jets.root"
    write_jets(path, X, fields=FIELDS4, tree="Events")
    with uproot.open(path) as f:
        t = f["Events"]
        assert t.classname == "TTree"
        assert set(t.keys()) == {"n", *FIELDS4}
        assert t["n"].array(library="np").tolist() == (X[:, :, 0] > 0).sum(1).tolist()


# ---------------------------------------------------------------------------------------------
# clear errors
# ---------------------------------------------------------------------------------------------
def test_unknown_suffix_and_missing_file(tmp_path):
    X = padded_jets(7, n=3)
    with pytest.raises(ValueError, match=r"Unknown jet file suffix '\.csv'.*'\.root'"):
        write_jets(tmp_path / "jets.csv", X[:, :, :3])
    with pytest.raises(ValueError, match="Unknown jet file suffix"):
        read_jets(tmp_path / "jets")
    with pytest.raises(FileNotFoundError, match="No such file"):
        read_jets(tmp_path / "absent.h5")


def test_root_missing_branch_and_wrong_tree_list_the_available_ones(tmp_path):
    uproot = pytest.importorskip("uproot")
    X = padded_jets(8, n=4)
    path = tmp_path / "two.root"
    with uproot.recreate(path) as f:
        for name in ("signal", "background"):
            t = f.mktree(name, {b: "var * float64" for b in ("pt", "eta", "phi")},
                         counter_name=lambda _: "n")
            jets = to_awkward(X[:, :, :3], fields=("pt", "eta", "phi"))
            t.extend({b: jets[b] for b in ("pt", "eta", "phi")})
    with pytest.raises(ValueError, match=r"No branch 'y'.*available branches are "
                                         r"\['n', 'pt', 'eta', 'phi'\]"):
        read_jets(path, tree="signal")
    with pytest.raises(ValueError, match=r"No tree 'sig'.*\['background', 'signal'\]"):
        read_jets(path, tree="sig", fields=("pt", "eta", "phi"))
    with pytest.raises(ValueError, match=r"holds 2 trees \['background', 'signal'\]; say which"):
        read_jets(path, fields=("pt", "eta", "phi"))
    got = read_jets(path, tree="signal", fields=("pt", "eta", "phi"), max_particles=12)
    np.testing.assert_array_equal(got, X[:, :, :3])


def test_jagged_fields_of_different_lengths():
    bad = {"pt": ak.Array([[3.0, 1.0], [2.0]]), "y": ak.Array([[0.1], [0.2]]),
           "phi": ak.Array([[0.0, 1.0], [1.0]])}
    with pytest.raises(ValueError, match=r"'pt' and 'y' have different lengths \(jet 0 has 2 "
                                         r"and 1"):
        from_awkward(bad)
    nested = {"pt": ak.Array([[[3.0]], [[1.0]]]), "y": ak.Array([[0.1], [0.2]]),
              "phi": ak.Array([[[0.0]], [[1.0]]])}
    with pytest.raises(ValueError, match="different nesting"):
        from_awkward(nested)


def test_nan_negative_pt_and_missing_field_errors(tmp_path):
    jets = ak.Array({"pt": [[3.0, 1.0], [2.0]], "y": [[0.1, np.nan], [0.2]],
                     "phi": [[0.0, 1.0], [1.0]]})
    with pytest.raises(ValueError, match=r"field 'y' is nan for a particle of jet 0"):
        from_awkward(jets)
    neg = ak.Array({"pt": [[3.0], [-2.0]], "y": [[0.1], [0.2]], "phi": [[0.0], [1.0]]})
    with pytest.raises(ValueError, match=r"negative \(-2\) for a particle of jet 1"):
        from_awkward(neg)
    with pytest.raises(ValueError, match=r"no field 'eta'.*\['pt', 'y', 'phi'\]"):
        from_awkward(neg, fields=("pt", "eta", "phi"))
    X = padded_jets(9, n=3)
    X[1, 0, 2] = np.inf
    with pytest.raises(ValueError, match="NaN and inf are not accepted"):
        write_jets(tmp_path / "x.npz", X, fields=FIELDS4)
    np.savez(tmp_path / "x.npz", X=X)
    with pytest.raises(ValueError, match=r"inf for particle 0 of jet 1"):
        read_jets(tmp_path / "x.npz")


def test_bad_parameters(tmp_path):
    X = padded_jets(10, n=3)
    with pytest.raises(ValueError, match=r"fields must name each of the 4 columns"):
        write_jets(tmp_path / "x.h5", X)
    with pytest.raises(ValueError, match="must be padded jets of shape"):
        write_jets(tmp_path / "x.h5", X[0], fields=FIELDS4)
    write_jets(tmp_path / "x.h5", X, fields=FIELDS4)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_jets(tmp_path / "x.h5", X, fields=FIELDS4, overwrite=False)
    with pytest.raises(ValueError, match="entry_stop .* must not be below entry_start"):
        read_jets(tmp_path / "x.h5", entry_start=3, entry_stop=1)
    with pytest.raises(ValueError, match="max_particles must be None or an integer"):
        read_jets(tmp_path / "x.h5", max_particles=2.5)
    with pytest.raises(ValueError, match="fields must not repeat"):
        read_jets(tmp_path / "x.h5", fields=("pt", "pt"))
    with pytest.raises(ValueError, match=r"No field 'eta'.*\['pt', 'y', 'phi', 'pid'\]"):
        read_jets(tmp_path / "x.h5", fields=("pt", "eta"))


# ---------------------------------------------------------------------------------------------
# HepMC and jet clustering
# ---------------------------------------------------------------------------------------------
def write_hepmc(path, events):
    """Write events (lists of (px, py, pz, E, pid, status)) as HepMC3 ASCII with pyhepmc."""
    pyhepmc = pytest.importorskip("pyhepmc")
    with pyhepmc.open(path, "w") as f:
        for n, rows in enumerate(events):
            evt = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
            evt.event_number = n
            v = pyhepmc.GenVertex()
            for beam_pz in (7000.0, -7000.0):
                v.add_particle_in(pyhepmc.GenParticle((0.0, 0.0, beam_pz, 7000.0), 2212, 4))
            for px, py, pz, e, pid, status in rows:
                v.add_particle_out(pyhepmc.GenParticle((px, py, pz, e), int(pid), int(status)))
            evt.add_vertex(v)
            f.write(evt)


def fastjet_direct(events, R, pt_min):
    """Reference: FastJet on the visible final-state particles, as generate_pythia_jets does."""
    fastjet = pytest.importorskip("fastjet")
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, R)
    out = []
    for rows in events:
        parts = []
        for k, (px, py, pz, e, pid, status) in enumerate(rows):
            if status == 1 and abs(pid) not in (12, 14, 16):
                pj = fastjet.PseudoJet(px, py, pz, e)
                pj.set_user_index(int(pid))
                parts.append(pj)
        cs = fastjet.ClusterSequence(parts, jet_def)
        for j in fastjet.sorted_by_pt(cs.inclusive_jets(pt_min)):
            arr = np.array([[c.pt(), c.rap(), c.phi(), c.user_index()] for c in j.constituents()])
            out.append(arr[np.argsort(-arr[:, 0], kind="stable")])
    return out


def toy_events(seed, n_events=4):
    """Two back-to-back sprays per event, plus a decayed (status 2) particle and a neutrino."""
    rng = np.random.default_rng(seed)
    events = []
    for _ in range(n_events):
        rows = []
        for axis_phi in (0.5, 0.5 + np.pi):
            for _ in range(int(rng.integers(5, 15))):
                pt = rng.exponential(10.0) + 1.0
                y, phi = rng.normal(0, 0.15), axis_phi + rng.normal(0, 0.15)
                m = 0.14
                mt = np.hypot(pt, m)
                rows.append((pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y),
                             mt * np.cosh(y), float(rng.choice([211, -211, 22])), 1))
        rows.append((30.0, 1.0, 2.0, 30.2, 111.0, 2))  # decayed: not final state
        rows.append((25.0, 0.0, 1.0, 25.02, 14.0, 1))  # neutrino: invisible
        events.append(rows)
    return events


def assert_same_jets(X, idx, reference):
    assert len(X) == len(reference) == len(idx)
    for x, ref in zip(X, reference):
        m = len(ref)
        np.testing.assert_allclose(x[:m], ref, rtol=1e-12, atol=1e-12)
        assert not x[m:].any()


def test_read_hepmc_and_cluster_jets_equal_fastjet_on_toy_events(tmp_path):
    pytest.importorskip("fastjet")
    events = toy_events(0)
    path = tmp_path / "toy.hepmc3"
    write_hepmc(path, events)
    particles = read_hepmc(path)
    assert len(particles) == 4
    # only visible final-state particles: the decayed pi0 and the neutrino are left out
    for got, rows in zip(particles, events):
        final = [r for r in rows if r[5] == 1 and abs(r[4]) != 14]
        assert got.shape == (len(final), 5)
        np.testing.assert_allclose(got, np.array(final)[:, :5], rtol=1e-15)
    X, idx = cluster_jets(particles, R=0.4, pt_min=5.0)
    assert_same_jets(X, idx, fastjet_direct(events, 0.4, 5.0))
    assert set(idx.tolist()) <= {0, 1, 2, 3}
    assert np.all(np.diff(idx) >= 0)
    # n_jets keeps the leading ones of each event; max_events reads fewer
    _, idx1 = cluster_jets(particles, R=0.4, pt_min=5.0, n_jets=1)
    assert idx1.tolist() == sorted(set(idx.tolist()))
    assert len(read_hepmc(path, max_events=2)) == 2


@pytest.mark.slow
def test_hepmc_from_pythia_equals_direct_fastjet(tmp_path):
    pythia8 = pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    pythia = pythia8.Pythia("", False)
    for s in ("Beams:eCM = 14000.", "HardQCD:all = on", "PhaseSpace:pTHatMin = 200.",
              "Random:setSeed = on", "Random:seed = 7", "Next:numberCount = 0"):
        pythia.readString(s)
    pythia.init()
    events = []
    while len(events) < 3:
        if not pythia.next():
            continue
        ev = pythia.event
        events.append([(ev[i].px(), ev[i].py(), ev[i].pz(), ev[i].e(), ev[i].id(),
                        1 if ev[i].isFinal() else 2) for i in range(1, ev.size())])
    path = tmp_path / "pythia.hepmc3"
    write_hepmc(path, events)
    X, idx = cluster_jets(read_hepmc(path), R=0.4, pt_min=50.0)
    reference = fastjet_direct(events, 0.4, 50.0)
    assert len(reference) >= 6  # at least the two hard jets of each event
    assert_same_jets(X, idx, reference)


def test_cluster_jets_errors():
    pytest.importorskip("fastjet")
    ev = np.array([[100.0, 0.0, 10.0, 100.6]])
    with pytest.raises(ValueError, match=r"algorithm must be one of \['antikt', 'kt', "):
        cluster_jets([ev], algorithm="siscone")
    with pytest.raises(ValueError, match="R must be a positive number"):
        cluster_jets([ev], R=0)
    with pytest.raises(ValueError, match=r"event 0 must have shape \(n_particles, 4 or 5\)"):
        cluster_jets([ev[:, :3]])
    with pytest.raises(ValueError, match="event 0 contains NaN"):
        cluster_jets([ev * np.nan])
    with pytest.raises(ValueError, match="Wrap a single event in a list"):
        cluster_jets(ev)
    X, idx = cluster_jets([np.zeros((0, 5))], pt_min=1.0)
    assert X.shape[0] == 0 and idx.shape == (0,)


def test_read_hepmc_errors(tmp_path):
    pytest.importorskip("pyhepmc")
    with pytest.raises(FileNotFoundError):
        read_hepmc(tmp_path / "absent.hepmc3")
    empty = tmp_path / "empty.hepmc3"
    empty.write_text("")
    with pytest.raises(ValueError, match="no HepMC event"):
        read_hepmc(empty)


def test_import_is_light():
    import subprocess
    import sys

    # what sklhep.io itself imports: scikit-learn (under sklhep) imports pandas when it is
    # installed, and pandas imports pyarrow, so those do not count against sklhep.io
    code = ("import sys, sklhep; before = set(sys.modules); import sklhep.io; "
            "heavy = {'uproot', 'awkward', 'h5py', 'pyarrow', 'pyhepmc', 'fastjet'} "
            "& (set(sys.modules) - before); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
