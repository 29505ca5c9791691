import numpy as np
import pytest

from sklhep._validation import (
    check_binary_labels,
    check_int,
    check_jets,
    check_n_particle_features,
    check_sample_weight,
    import_optional,
    jets_to_list,
)


def test_check_jets_pads_lists_and_keeps_arrays():
    jets = [np.array([[10.0, 0.1, 0.2], [5.0, -0.1, 0.0]]), np.array([[7.0, 0.0, 0.3]])]
    arr = check_jets(jets)
    assert arr.shape == (2, 2, 3)
    assert np.all(arr[1, 1] == 0)
    assert check_jets(arr).shape == (2, 2, 3)
    back = jets_to_list(arr)
    assert [len(j) for j in back] == [2, 1]
    np.testing.assert_array_equal(back[0], jets[0])


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.ones((3, 4)), "3-D array"),
        (np.ones((2, 3, 2)), "at least 3 features"),
        (np.full((1, 2, 3), np.nan), "NaN or inf"),
        (np.array([[[-1.0, 0, 0]]]), "negative pt"),
        (np.zeros((0, 3, 3)), "empty"),
        ([np.ones((2, 3)), np.ones((2, 4))], "same number of features"),
        ([np.ones(3)], "2-D"),
    ],
)
def test_check_jets_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        check_jets(bad)


def test_check_jets_empty_jet_policy():
    jets = np.zeros((2, 2, 3))
    jets[0, 0] = [1.0, 0.0, 0.0]
    assert check_jets(jets).shape == (2, 2, 3)
    with pytest.raises(ValueError, match="1 empty jet"):
        check_jets(jets, allow_empty_jets=False)


@pytest.mark.parametrize(
    "y, match",
    [([0, 0, 0], "only"), ([0, 1, 2], r"values \[0, 1, 2\]"), ([], "empty"), ([[0, 1]], "one-dim")],
)
def test_check_binary_labels_errors(y, match):
    with pytest.raises(ValueError, match=match):
        check_binary_labels(y)


def test_check_sample_weight():
    np.testing.assert_array_equal(check_sample_weight(None, 3), np.ones(3))
    with pytest.raises(ValueError, match="negative"):
        check_sample_weight([1.0, -1.0], 2)
    assert check_sample_weight([1.0, -1.0], 2, allow_negative=True)[1] == -1.0
    with pytest.raises(ValueError, match="one entry per sample"):
        check_sample_weight([1.0], 2)
    with pytest.raises(ValueError, match="NaN"):
        check_sample_weight([np.nan, 1.0], 2)
    with pytest.raises(ValueError, match="all zero"):
        check_sample_weight([0.0, 0.0], 2)


def test_check_int():
    assert check_int(np.int64(3), "k", 2) == 3 and type(check_int(np.int64(3), "k", 2)) is int
    assert check_int(None, "k", 2, allow_none=True) is None
    for bad in (1, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=f"k must be an integer >= 2; got {bad!r}"):
            check_int(bad, "k", 2)
    with pytest.raises(ValueError, match="k must be None or an integer >= 2; got 1"):
        check_int(1, "k", 2, allow_none=True)


def test_check_n_particle_features():
    class Fitted:
        n_particle_features_ = 4

    jets = np.ones((2, 3, 4))
    assert check_n_particle_features(jets, Fitted()) is jets
    with pytest.raises(ValueError, match="X has 3 features per particle, but Fitted was fitted "
                       "with 4"):
        check_n_particle_features(jets[..., :3], Fitted())


def test_import_optional_names_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "fastjet", None)  # makes `import fastjet` fail
    with pytest.raises(ImportError, match=r"the test needs fastjet.*sklhep\[gen\]"):
        import_optional("fastjet", purpose="the test")
