"""``sklhep demo``: weak supervision for the strong force, end to end, written up as a report.

The demo is a sequence of steps. Each step is a function ``step(ctx, cfg) -> StepResult`` that
reads what earlier steps left in the shared context ``ctx`` (a dict of arrays), adds its own, and
returns the numbers it measured next to their truth, a few paragraphs and its figures;
:func:`sklhep._report.write_report` turns the results into ``report.html``, ``report.md`` and
``summary.json``. A step whose estimator is not part of this installation reports itself as not
available; a step that fails stops the run with :class:`DemoError` and no report is written.

The steps:

1. ``samples``: two samples with different, hidden quark fractions, at particle level and through
   :class:`~sklhep.datasets.DetectorSmearing` (built-in shower mixtures, or Pythia dijets split
   into central and forward jets);
2. ``unfolding``: OmniFold (and IBU) from detector to particle level;
3. ``cwola``: a CWoLa classifier on the mixtures (a BDT on jet observables; an EFN on particles
   unless quick), against a supervised classifier;
4. ``topics``: jet topics, quark fractions and reducibility factors against the hidden truth;
5. ``emd``: correlation dimensions of quark and gluon jets versus Q, against C_A/C_F = 9/4.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass

import numpy as np

from ._report import Quantity, StepResult, format_number, write_report
from .metrics import triangular_discriminator

__all__ = ["DemoConfig", "DemoError", "STEPS", "run_demo"]

OBSERVABLES = ("multiplicity", "mass", "width", "ptd")
CASIMIR_RATIO = 9 / 4
CENTRAL_ETA = 0.65


class DemoError(RuntimeError):
    """A step of the demo failed; ``step`` names it and ``__cause__`` holds the original error."""

    def __init__(self, step, message):
        super().__init__(message)
        self.step = step


@dataclass
class DemoConfig:
    """Settings of one demo run (see ``sklhep demo --help``)."""

    quick: bool = False
    n_jets: int | None = None
    generator: str = "shower"
    backend: str = "bdt"
    output: str = "sklhep-demo"
    seed: int = 0
    fractions: tuple | None = None
    n_emd: int | None = None
    n_jobs: int = 2
    verbose: bool = True

    def resolved(self):
        """A copy with defaults filled in and every setting checked."""
        from ._validation import check_int

        generators = ("shower", "pythia")
        if self.generator not in generators:
            raise ValueError(f"generator must be one of {list(generators)}; got "
                             f"{self.generator!r}.")
        n_jets = self.n_jets
        if n_jets is None:
            n_jets = {("shower", True): 4000, ("shower", False): 20000,
                      ("pythia", True): 1000, ("pythia", False): 6000}[self.generator, self.quick]
        check_int(n_jets, "n_jets", 500)
        n_emd = (150 if self.quick else 400) if self.n_emd is None else self.n_emd
        check_int(n_emd, "n_emd", 20)
        check_int(self.seed, "seed", 0)
        check_int(self.n_jobs, "n_jobs", 1)
        fractions = self.fractions
        if self.generator == "pythia":
            if fractions is not None:
                raise ValueError("--fractions applies to the built-in shower; Pythia's central "
                                 "and forward jets have the quark fractions physics gives them.")
        else:
            from ._validation import check_fractions

            fractions = check_fractions((0.8, 0.3) if fractions is None else fractions)
            if fractions[0] <= fractions[1]:
                raise ValueError(f"the first mixture must be the quark-enriched one (f1 > f2); "
                                 f"got fractions {fractions}.")
        return DemoConfig(quick=self.quick, n_jets=int(n_jets), generator=self.generator,
                          backend=self.backend, output=self.output, seed=int(self.seed),
                          fractions=fractions, n_emd=int(n_emd), n_jobs=int(self.n_jobs),
                          verbose=self.verbose)


def _say(cfg, text):
    """Print a line of results (above the progress bar when there is one)."""
    from tqdm.auto import tqdm

    tqdm.write(text)


def _optional(module, name):
    """``module.name`` if this installation has it, else None."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


# --------------------------------------------------------------------------- step 1: samples
def _jet_rapidity(X):
    pt = X[..., 0]
    return (pt * X[..., 1]).sum(1) / np.where(pt.sum(1) > 0, pt.sum(1), 1.0)


def _shower_samples(cfg):
    from .datasets import make_mixtures

    f1, f2 = cfg.fractions
    jets, y_mix, y_true = make_mixtures(cfg.n_jets, fractions=(f1, f2), random_state=cfg.seed)
    n_test = max(cfg.n_jets // 2, 500)
    test, _, y_test = make_mixtures(n_test, fractions=(1.0, 0.0), random_state=cfg.seed + 1)
    what = (f"{cfg.n_jets} + {cfg.n_jets} jets (pt = 500 GeV, R = 0.4) from sklhep's built-in "
            f"parton shower, in two mixtures with hidden quark fractions")
    return jets, y_mix, y_true, test, y_test, what


def _pythia_samples(cfg):
    from ._validation import import_optional
    from .datasets import generate_pythia_jets
    from .preprocessing import JetPreprocessor

    import_optional("pythia8mc", purpose="sklhep demo --generator pythia")
    import_optional("fastjet", purpose="sklhep demo --generator pythia")
    n_events = (cfg.n_jets * 4) // 3  # three quarters for the mixtures, one quarter for testing
    n_events += n_events % 2
    X, flavour, _ = generate_pythia_jets(n_events, "dijets", random_state=cfg.seed,
                                         n_jobs=cfg.n_jobs, verbose=cfg.verbose)
    forward = (np.abs(_jet_rapidity(X)) > CENTRAL_ETA).astype(int)
    # centre each jet at (y, phi) = (0, 0) so that EMDs compare shapes, not positions
    X = JetPreprocessor(center=True, rotate=False, reflect=False, normalize=False).fit_transform(X)
    rng = np.random.default_rng(cfg.seed)
    test = rng.random(len(X)) < 0.25
    jets, y_mix, y_true = X[~test], forward[~test], flavour[~test]
    what = (f"{len(jets)} Pythia 8 dijet jets (pt 500-550 GeV, anti-kT R = 0.4), split like the "
            f"CMS open-data analysis into forward (|y| > {CENTRAL_ETA}, mixture 1) and central "
            f"jets (mixture 2); Pythia's parton flavour is the hidden truth, with quark fractions")
    return jets, y_mix, y_true, X[test], flavour[test], what


def step_samples(ctx, cfg):
    """Generate the two mixtures, a pure test sample, detector-level jets and observables."""
    from .datasets import DetectorSmearing
    from .preprocessing import JetObservables

    make = _pythia_samples if cfg.generator == "pythia" else _shower_samples
    jets, y_mix, y_true, test, y_test, what = make(cfg)
    f_true = (float(y_true[y_mix == 1].mean()), float(y_true[y_mix == 0].mean()))
    if f_true[0] <= f_true[1]:
        raise ValueError(f"mixture 1 must be quark-enriched; the generated samples have quark "
                         f"fractions {f_true}. Increase --n-jets.")
    detector = DetectorSmearing(random_state=cfg.seed + 2).fit(jets)
    jets_det, passed = detector.smear(jets)
    obs = JetObservables(observables=list(OBSERVABLES)).fit(jets)
    O, O_det, O_test = obs.transform(jets), obs.transform(jets_det), obs.transform(test)
    ctx.update(jets=jets, jets_det=jets_det, passed=passed, y_mix=y_mix, y_true=y_true,
               test=test, y_test=y_test, obs=O, obs_det=O_det, obs_test=O_test,
               fractions=f_true, detector=detector, observables=obs)
    n1, n2 = int(y_mix.sum()), int((1 - y_mix).sum())
    text = [
        f"{what} f1 = {f_true[0]:.3f} and f2 = {f_true[1]:.3f} (mixture 1 has {n1} jets, "
        f"mixture 2 {n2}). Every method below sees only which mixture a jet came from; the "
        f"fractions and the flavour of each jet are used only to check the results.",
        f"`DetectorSmearing` turns every jet into a detector-level jet (tracks, calorimeter "
        f"resolution, efficiencies, a 0.5 GeV threshold); {passed.mean():.1%} pass the "
        f"selection. Observables: {', '.join(OBSERVABLES)}.",
    ]
    quantities = [
        Quantity("samples.mean_multiplicity_detector", "mean multiplicity, detector level",
                 float(O_det[:, 0].mean()), None, float(O[:, 0].mean()), "particle level"),
    ]
    return StepResult("samples", "1. Two mixtures with hidden quark fractions", text, quantities,
                      {"samples": _figure_samples(O, O_det, y_mix)})


def _figure_samples(O, O_det, y_mix):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, j, name in ((axes[0], 0, "constituent multiplicity"), (axes[1], 1, "jet mass [GeV]")):
        hi = np.quantile(np.r_[O[:, j], O_det[:, j]], 0.995)
        bins = np.arange(0, hi + 2) - 0.5 if j == 0 else np.linspace(0, hi, 40)
        for m, color in ((1, "C0"), (0, "C3")):
            kw = dict(bins=bins, density=True, histtype="step", color=color)
            ax.hist(O[y_mix == m, j], label=f"mixture {2 - m}, particle level", **kw)
            ax.hist(O_det[y_mix == m, j], ls="--", label=f"mixture {2 - m}, detector level", **kw)
        ax.set_xlabel(name)
    axes[0].set_ylabel("density")
    axes[0].legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- step 2: unfolding
def _obs_bins(values, name):
    lo, hi = np.quantile(values, [0.002, 0.998])
    if name == "multiplicity":
        step = max(int(np.ceil((hi - lo) / 25)), 1)
        return np.arange(np.floor(lo), np.ceil(hi) + step + 1, step) - 0.5
    return np.linspace(lo, hi, 21)


def _weighted_mean_and_error(x, w, n_data):
    """Weighted mean; error from the data count and the simulation's effective count."""
    mean = float(np.average(x, weights=w))
    std = float(np.sqrt(np.average((x - mean) ** 2, weights=w)))
    n_eff = w.sum() ** 2 / np.sum(w**2)
    return mean, std * float(np.sqrt(1.0 / n_data + 1.0 / n_eff))


def step_unfolding(ctx, cfg):
    """OmniFold (all observables at once) and IBU (one at a time), detector to particle level."""
    omnifold = _optional("sklhep.unfolding", "OmniFoldUnfolder")
    ibu = _optional("sklhep.unfolding", "IterativeBayesUnfolder")
    if omnifold is None or ibu is None:
        return StepResult("unfolding", "2. Unfolding: detector to particle level", [
            "Not available: `OmniFoldUnfolder` and `IterativeBayesUnfolder` are not part of this "
            "version of sklhep, so this step did not run. The steps below use the particle-level "
            "jets directly."], available=False)
    from . import get_backend
    from .datasets import make_jets

    # the simulation: an independent 50/50 sample through the same detector
    n_sim = cfg.n_jets
    sim, _ = make_jets(n_sim, flavor="both", random_state=cfg.seed + 4)
    if ctx["jets"].shape[1] > sim.shape[1]:
        sim = np.pad(sim, ((0, 0), (0, ctx["jets"].shape[1] - sim.shape[1]), (0, 0)))
    sim_det, sim_pass = ctx["detector"].smear(sim)
    obs = ctx["observables"]
    gen, reco = obs.transform(sim), obs.transform(sim_det)
    n_iter = 3 if cfg.quick else 4
    results, distances = {}, {}
    q = []
    for m, name in ((1, "mixture 1"), (0, "mixture 2")):
        sel = (ctx["y_mix"] == m) & ctx["passed"]
        data, truth = ctx["obs_det"][sel], ctx["obs"][ctx["y_mix"] == m]
        of = omnifold(backend=get_backend(cfg.backend), n_iterations=n_iter,
                      random_state=cfg.seed, verbose=int(cfg.verbose))
        of.fit(reco, gen, data, pass_reco=sim_pass)
        results[m] = of
        w = of.weights_
        for j, obs_name in enumerate(OBSERVABLES):
            edges = _obs_bins(truth[:, j], obs_name)
            t = np.histogram(truth[:, j], edges)[0]
            unf = of.histogram(gen[:, j], edges)[0]
            edges_reco = _obs_bins(data[:, j], obs_name)
            ib = ibu(edges_reco, edges, n_iterations=n_iter)
            ib.fit(reco[:, [j]], gen[:, [j]], data[:, [j]], pass_reco=sim_pass)
            det = np.histogram(data[:, j], edges)[0]
            distances[m, obs_name] = {
                "detector level": triangular_discriminator(det, t),
                "simulation (prior)": triangular_discriminator(np.histogram(gen[:, j], edges)[0],
                                                               t),
                "IBU": triangular_discriminator(ib.unfolded_, t),
                "OmniFold": triangular_discriminator(unf, t),
                "_edges": edges, "_hists": (t, det, ib.unfolded_, unf), "_reco": edges_reco,
            }
        for j in (0, 1):
            mean, err = _weighted_mean_and_error(gen[:, j], w, len(data))
            q.append(Quantity(f"unfolding.{'m1' if m else 'm2'}_{OBSERVABLES[j]}_mean",
                              f"mean {OBSERVABLES[j]} of {name}, unfolded (OmniFold)", mean, err,
                              float(truth[:, j].mean()), "particle-level truth"))
    total = {k: 1e3 * sum(d[k] for d in distances.values())
             for k in ("detector level", "IBU", "OmniFold")}
    q.append(Quantity("unfolding.distance_omnifold", "distance to the truth x 1e3, OmniFold "
                      "(sum over observables and mixtures)", total["OmniFold"], None, total["IBU"],
                      "IBU"))
    q.append(Quantity("unfolding.distance_detector", "distance to the truth x 1e3, detector "
                      "level (sum over observables and mixtures)", total["detector level"]))
    closer = sum(d["OmniFold"] < d["detector level"] for d in distances.values())
    ctx.update(unfolded=results, sim_gen=gen)
    text = [
        f"The detector changes every observable (the multiplicity most: tracks and photons are "
        f"lost below threshold). `OmniFoldUnfolder(backend='{cfg.backend}', n_iterations="
        f"{n_iter})` (Andreassen et al. 2020) unfolds the four observables *together*, without "
        f"bins, from detector to particle level, using an independent simulation ({n_sim} jets, "
        f"50% quarks) through the same detector; `IterativeBayesUnfolder` (D'Agostini) unfolds "
        f"each observable's histogram separately with the same simulation and iterations.",
        f"Triangular discriminator to the particle-level truth (x 1e3, summed over "
        f"{len(OBSERVABLES)} observables and both mixtures): detector level "
        f"{total['detector level']:.1f}, IBU {total['IBU']:.1f}, OmniFold "
        f"{total['OmniFold']:.1f}; OmniFold is closer to the truth than the detector level in "
        f"{closer} of {len(distances)} spectra. The means quoted carry the data's and the "
        f"simulation's statistical errors (no bootstrap).",
    ]
    return StepResult("unfolding", "2. Unfolding: detector to particle level", text, q,
                      {"unfolding": _figure_unfolding(distances)})


def _figure_unfolding(distances):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(OBSERVABLES), figsize=(3.2 * len(OBSERVABLES), 5.6))
    for row, m in enumerate((1, 0)):
        for ax, name in zip(axes[row], OBSERVABLES):
            d = distances[m, name]
            edges = d["_edges"]
            centres = 0.5 * (edges[1:] + edges[:-1])
            truth, det, ib, unf = (h / max(np.sum(h), 1e-300) for h in d["_hists"])
            ax.stairs(truth, edges, color="k", lw=2, label="particle-level truth")
            ax.stairs(det, edges, color="0.6", ls="--", label="detector level")
            ax.plot(centres, ib, "s", ms=3, color="C2", label="IBU")
            ax.plot(centres, unf, "o", ms=3, color="C0", label="OmniFold")
            ax.set_xlabel(name)
            ax.set_yticks([])
        axes[row][0].set_ylabel(f"mixture {2 - m}")
    axes[0][0].legend(frameon=False, fontsize="x-small")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- step 3: CWoLa
def step_cwola(ctx, cfg):
    """CWoLa on the mixtures (BDT on observables; EFN on particles unless quick)."""
    from sklearn.metrics import roc_auc_score

    from . import get_backend
    from .cwola import CWoLaClassifier
    from .metrics import auc_standard_error, mixed_auc
    from .ratio import LikelihoodRatioEstimator

    O, y_mix, y_true = ctx["obs"], ctx["y_mix"], ctx["y_true"]
    O_test, y_test = ctx["obs_test"], ctx["y_test"]
    f1, f2 = ctx["fractions"]
    backend = get_backend(cfg.backend)
    cwola = CWoLaClassifier(backend=backend, cv=3, random_state=cfg.seed,
                            verbose=int(cfg.verbose)).fit(O, y_mix)
    supervised = LikelihoodRatioEstimator(backend=backend, random_state=cfg.seed).fit(O, y_true)
    scores = {
        f"CWoLa, {cfg.backend} on observables": cwola.decision_function(O_test),
        f"supervised, {cfg.backend} on observables": supervised.decision_function(O_test),
        "multiplicity alone": -O_test[:, 0],
    }
    auc = {k: roc_auc_score(y_test, s) for k, s in scores.items()}
    auc_cwola, auc_sup = list(auc.values())[:2]
    n_q, n_g = int(y_test.sum()), int(len(y_test) - y_test.sum())
    mixed = roc_auc_score(y_mix, cwola.oof_decision_function_)
    ctx.update(cwola=cwola, cwola_oof=cwola.oof_decision_function_)
    q = [
        Quantity("cwola.auc", f"CWoLa AUC ({cfg.backend}, mixture labels only)", auc_cwola,
                 auc_standard_error(auc_cwola, n_q, n_g), auc_sup, "supervised"),
        Quantity("cwola.mixed_auc", "mixture 1 vs 2 AUC (out of fold)", mixed, None,
                 mixed_auc(auc_sup, (f1, f2)), "(f1 - f2)(AUC - 1/2) + 1/2"),
    ]
    text = [
        f"Classification without labels (Metodiev, Nachman & Thaler 2017): a classifier trained "
        f"to tell mixture 1 from mixture 2 is the optimal quark/gluon classifier. "
        f"`CWoLaClassifier(backend='{cfg.backend}', cv=3)` on the observables, with "
        f"3-fold cross-fitting, reaches AUC {auc_cwola:.3f} on {n_q} pure quark and {n_g} pure "
        f"gluon test jets, against {auc_sup:.3f} for the same backend trained on the hidden "
        f"truth (multiplicity alone: {auc['multiplicity alone']:.3f}).",
    ]
    if not cfg.quick:
        auc_efn = _cwola_efn(ctx, cfg, scores, y_test)
        q.append(Quantity("cwola.auc_efn", "CWoLa AUC (EFN on particles)", auc_efn,
                          auc_standard_error(auc_efn, n_q, n_g), auc_sup,
                          f"supervised {cfg.backend}"))
        text.append(f"An Energy Flow Network on the particles, trained as a CWoLa classifier "
                    f"on the same mixtures, reaches AUC {auc_efn:.3f}.")
    else:
        text.append("The EFN on particles runs without `--quick`.")
    return StepResult("cwola", "3. Classification without labels", text, q,
                      {"cwola_roc": _figure_roc(y_test, scores)})


def _cwola_efn(ctx, cfg, scores, y_test):
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline

    from . import get_backend
    from .cwola import CWoLaClassifier
    from .preprocessing import JetPreprocessor

    efn = get_backend("efn", phi_sizes=(64, 64, 32), f_sizes=(64, 64), max_epochs=12,
                      random_state=cfg.seed, verbose=0)
    model = make_pipeline(JetPreprocessor(), CWoLaClassifier(backend=efn, random_state=cfg.seed))
    model.fit(ctx["jets"], ctx["y_mix"])
    s = model.decision_function(ctx["test"])
    scores["CWoLa, EFN on particles"] = s
    return float(roc_auc_score(y_test, s))


def _figure_roc(y_test, scores):
    import matplotlib.pyplot as plt

    from .plotting import plot_roc

    fig, ax = plt.subplots(figsize=(5.2, 4))
    plot_roc(y_test, scores, ax=ax)
    ax.set_title("quark (signal) vs gluon jets")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- step 4: topics
def _true_kappa(f1, f2):
    """kappa12, kappa21 of mixtures with quark fractions f1 > f2 of mutually irreducible topics."""
    return (1 - f1) / (1 - f2), f2 / f1


def step_topics(ctx, cfg):
    """Jet topics: kappa's and quark fractions against the hidden truth, topic distributions."""
    demixer = _optional("sklhep.topics", "TopicDemixer")
    if demixer is None:
        return StepResult("topics", "4. Jet topics: operational quark and gluon jets", [
            "Not available: `TopicDemixer` is not part of this version of sklhep, so the "
            "reducibility factors, the fractions and the topic distributions were not measured."],
            available=False)
    from . import get_backend

    O, y_mix, y_true = ctx["obs"], ctx["y_mix"], ctx["y_true"]
    f1, f2 = ctx["fractions"]
    k12, k21 = _true_kappa(f1, f2)
    n_boot = 20 if cfg.quick else 50
    fits = {
        "multiplicity": demixer(n_bootstrap=n_boot, random_state=cfg.seed).fit(O[:, :1], y_mix),
        "weak supervision": demixer(backend=get_backend(cfg.backend), cv=3 if cfg.quick else 5,
                                    n_bootstrap=n_boot, random_state=cfg.seed,
                                    verbose=int(cfg.verbose)).fit(O, y_mix),
    }
    unfolded = ctx.get("unfolded")
    if unfolded:
        # the traditional topics of the *unfolded* multiplicity spectra: the simulation's
        # particle level, weighted to mixture 1 and to mixture 2 by OmniFold
        mult = ctx["sim_gen"][:, :1]
        w = np.r_[unfolded[1].weights_, unfolded[0].weights_]
        y_unf = np.r_[np.ones(len(mult), int), np.zeros(len(mult), int)]
        fits["unfolded multiplicity"] = demixer(n_bootstrap=n_boot, random_state=cfg.seed).fit(
            np.r_[mult, mult], y_unf, sample_weight=w)
    ws = fits["weak supervision"]
    ctx.update(topics=ws)
    # how reducible the true quark and gluon distributions are in these observables: the topics
    # are the quarks and gluons only if both of these are 0 (mutual irreducibility)
    auto_kappa = _optional("sklhep.topics", "auto_kappa")
    k_qg = auto_kappa(ws.oof_decision_function_, y_true).kappa
    e12 = (f1 * k_qg[0] + 1 - f1) / (f2 * k_qg[0] + 1 - f2)
    e21 = (f2 + (1 - f2) * k_qg[1]) / (f1 + (1 - f1) * k_qg[1])
    fe1 = (1 - e12) / (1 - e12 * e21)
    fe2 = e21 * fe1
    q = []
    for i, (name, expected) in enumerate((("kappa12", e12), ("kappa21", e21))):
        q.append(Quantity(f"topics.{name}", f"{name[:5]} {name[5]}{name[6]}, weak supervision",
                          float(ws.kappa_[i]), float(ws.kappa_std_[i]), float(expected),
                          "expected from the true flavours"))
    q.append(Quantity("topics.kappa_quark_gluon", "kappa(quark|gluon) of the true flavours",
                      float(k_qg[0]), None, 0.0, "mutually irreducible"))
    q.append(Quantity("topics.kappa_gluon_quark", "kappa(gluon|quark) of the true flavours",
                      float(k_qg[1]), None, 0.0, "mutually irreducible"))
    for label, fit in fits.items():
        key = label.replace(" ", "_")
        for i, truth in enumerate((f1, f2)):
            q.append(Quantity(f"topics.{key}.f{i + 1}", f"quark fraction f{i + 1}, {label}",
                              float(fit.fractions_[i]), float(fit.fractions_std_[i]), truth,
                              "hidden truth"))
    hists = {}
    for j, name in ((0, "multiplicity"), (1, "mass")):
        values = O[:, j]
        edges = _obs_bins(values, name)
        topic, _, _ = ws.topic_histogram(values, y_mix, bins=edges)
        quark = np.histogram(values[y_true == 1], edges)[0]
        gluon = np.histogram(values[y_true == 0], edges)[0]
        mix = [np.histogram(values[y_mix == m], edges)[0] for m in (1, 0)]
        hists[name] = (edges, topic, quark, gluon, mix)
        for t, (truth_hist, flav, mix_hist) in enumerate(((quark, "quark", mix[0]),
                                                          (gluon, "gluon", mix[1]))):
            q.append(Quantity(f"topics.distance_{name}_{flav}",
                              f"distance x 1e3 of topic {t + 1} to true {flav} jets, {name}",
                              1e3 * triangular_discriminator(np.clip(topic[t], 0, None),
                                                             truth_hist), None,
                              1e3 * triangular_discriminator(mix_hist, truth_hist),
                              f"mixture {t + 1} itself"))
    auc = ws.diagnostics_.get("auc") if isinstance(ws.diagnostics_, dict) else None
    text = [
        "Two mixtures of the same two kinds of jets define those kinds through their mutual "
        "irreducibility (Metodiev & Thaler 2018; Komiske, Metodiev & Thaler 2018): the "
        "reducibility factors kappa12 = inf p_M1/p_M2 and kappa21 = inf p_M2/p_M1 give the "
        "fractions f1 = (1 - kappa12)/(1 - kappa12 kappa21), f2 = kappa21 f1 and the topic "
        "distributions of any observable. If quark and gluon jets are mutually irreducible the "
        f"topics are the quarks and gluons and kappa12 = (1 - f1)/(1 - f2) = {k12:.3f}, "
        f"kappa21 = f2/f1 = {k21:.3f}.",
        f"`TopicDemixer` finds them from the multiplicity alone (the traditional topics) and from "
        f"the out-of-fold outputs of a CWoLa classifier on all observables (the weak-supervision "
        f"topics, M1 vs M2 AUC {format_number(auc)}); with the unfolding step, also from the "
        f"OmniFold-unfolded multiplicity spectra. The errors combine {n_boot} bootstrap replicas "
        f"with the spread across kappa estimators. Quark fractions (weak supervision): "
        f"f1 = {ws.fractions_[0]:.3f} +- {ws.fractions_std_[0]:.3f} (truth {f1:.3f}), "
        f"f2 = {ws.fractions_[1]:.3f} +- {ws.fractions_std_[1]:.3f} (truth {f2:.3f}).",
        f"The topics equal quark and gluon jets only if the two are mutually irreducible. Measured "
        f"with the hidden flavours on the same out-of-fold scores, the shower's quark and gluon "
        f"distributions overlap: kappa(quark|gluon) = {k_qg[0]:.2f} and kappa(gluon|quark) = "
        f"{k_qg[1]:.2f}, so the operational topics are expected at kappa12 = {e12:.2f} and "
        f"kappa21 = {e21:.2f} rather than at the values of irreducible quarks and gluons, with "
        f"topic fractions {fe1:.2f} and {fe2:.2f} instead of the quark fractions {f1:.2f} and "
        f"{f2:.2f}. This is the physics of the definition, not a failure of the fit.",
        "The topic distributions of multiplicity and mass (from signed per-event weights on the "
        "two mixtures) are compared with the true quark and gluon distributions by the "
        "triangular discriminator; the mixtures themselves are the baseline.",
    ]
    return StepResult("topics", "4. Jet topics: operational quark and gluon jets", text, q,
                      {"topics_fractions": _figure_fractions(fits, (f1, f2), (fe1, fe2)),
                       "topics_distributions": _figure_topics(hists)})


def _figure_fractions(fits, truth, expected):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    for i, (label, fit) in enumerate(fits.items()):
        ax.errorbar(fit.fractions_, [i, i], xerr=fit.fractions_std_, fmt="o", color=f"C{i}",
                    capsize=3, label=label)
    for f, e, name in zip(truth, expected, ("f1", "f2")):
        ax.axvline(f, color="k", ls="--", lw=1)
        ax.axvline(e, color="0.5", ls=":", lw=1.5)
        ax.text(f, len(fits) - 0.4, f"true {name}", ha="center", fontsize="small")
    ax.plot([], [], color="0.5", ls=":", label="expected from the true q/g overlap")
    ax.legend(frameon=False, fontsize="x-small", loc="lower center")
    ax.set_yticks(range(len(fits)), list(fits))
    ax.set_ylim(-0.6, len(fits) - 0.1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("quark fraction of mixture 2 (left) and mixture 1 (right)")
    fig.tight_layout()
    return fig


def _figure_topics(hists):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, (name, (edges, topic, quark, gluon, mix)) in zip(axes, hists.items()):
        norm = lambda h: h / np.sum(h)  # noqa: E731
        ax.stairs(norm(quark), edges, color="C0", lw=2, alpha=0.5, label="true quark jets")
        ax.stairs(norm(gluon), edges, color="C3", lw=2, alpha=0.5, label="true gluon jets")
        ax.stairs(norm(mix[0]), edges, color="C0", ls=":", label="mixture 1")
        ax.stairs(norm(mix[1]), edges, color="C3", ls=":", label="mixture 2")
        centres = 0.5 * (edges[1:] + edges[:-1])
        ax.plot(centres, topic[0], "o", ms=3.5, color="C0", label="topic 1")
        ax.plot(centres, topic[1], "s", ms=3.5, color="C3", label="topic 2")
        ax.set_xlabel("constituent multiplicity" if name == "multiplicity" else "jet mass [GeV]")
    axes[0].set_ylabel("fraction of jets per bin")
    axes[0].legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- step 5: EMD
def _emd_subsets(ctx, cfg):
    """Up to ``cfg.n_emd`` jets of each mixture for the pairwise EMDs."""
    n = cfg.n_emd
    rng = np.random.default_rng(cfg.seed + 3)
    out = {}
    for m in (1, 0):
        idx = np.flatnonzero(ctx["y_mix"] == m)
        out[m] = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False))
    return out


def _condensed(D):
    return D[np.triu_indices(D.shape[0], k=1)]


def _low_q_ratio(Q, dim_q, dim_g):
    """The median gluon/quark ratio over the lower half of the populated Q bins, its spread."""
    ok = np.isfinite(dim_q) & np.isfinite(dim_g) & (dim_q > 0)
    ratio = np.where(ok, dim_g / np.where(ok, dim_q, 1.0), np.nan)
    low = np.flatnonzero(ok)[: max(ok.sum() // 2, 1)]
    value = float(np.median(ratio[low]))
    spread = float(np.std(ratio[low]) / np.sqrt(len(low))) if len(low) > 1 else None
    return ratio, low, value, spread


def step_emd(ctx, cfg):
    """Correlation dimensions of quark and gluon jets (and topics) versus Q, against C_A/C_F."""
    from .emd import EMDTransformer, correlation_dimension

    subsets = _emd_subsets(ctx, cfg)
    topics = ctx.get("topics")
    emd = EMDTransformer(R=0.4, beta=1.0, n_jobs=cfg.n_jobs, verbose=int(cfg.verbose))
    pairs = {1: [], 0: []}  # flavour -> same-flavour pairs within each mixture
    topic_pairs = {}  # topic -> (distances, pair weights) within its enriched mixture
    for m, idx in subsets.items():
        D = emd.fit_transform(ctx["jets"][idx])
        flav = ctx["y_true"][idx]
        for f in (1, 0):
            sel = flav == f
            pairs[f].append(_condensed(D[np.ix_(sel, sel)]))
        if topics is not None:
            # topic 1 lives in mixture 1 with P(T1 | x, M1), topic 2 in mixture 2 with P(T2 | x, M2)
            label = topics.classes_[1] if m == 1 else topics.classes_[0]
            p = topics.predict_topic_proba(ctx["obs"][idx], mixture=label)[:, 0 if m else 1]
            topic_pairs[m] = (_condensed(D), _condensed(np.outer(p, p)))
    d_q, d_g = np.concatenate(pairs[1]), np.concatenate(pairs[0])
    # Q from where gluon pairs (the sparser at small distances) begin to where quark pairs saturate
    lo = np.quantile(d_g[d_g > 0], 0.005)
    hi = np.quantile(d_q, 0.95)
    edges = np.geomspace(lo, hi, 11)
    curves = {"quark jets": correlation_dimension(d_q, bins=edges),
              "gluon jets": correlation_dimension(d_g, bins=edges)}
    Q = curves["quark jets"][0]
    ratio, low, small_q, spread = _low_q_ratio(Q, curves["quark jets"][1],
                                               curves["gluon jets"][1])
    quantities = [Quantity("emd.dimension_ratio", "gluon/quark dimension ratio, low Q (true "
                           "flavours)", small_q, spread, CASIMIR_RATIO, "C_A/C_F")]
    topic_text = ("With `TopicDemixer` (step 4) the same is done for the topics, each jet of "
                  "mixture 1 weighted by its topic-1 probability and each jet of mixture 2 by its "
                  "topic-2 probability, without the hidden flavours.")
    ratio_t = None
    if topic_pairs:
        d1, w1 = topic_pairs[1]
        curves["topic 1"] = correlation_dimension(d1, bins=edges, sample_weight=w1)
        d2, w2 = topic_pairs[0]
        curves["topic 2"] = correlation_dimension(d2, bins=edges, sample_weight=w2)
        ratio_t, low_t, small_t, spread_t = _low_q_ratio(Q, curves["topic 1"][1],
                                                         curves["topic 2"][1])
        quantities.append(Quantity("emd.topic_dimension_ratio", "topic 2/topic 1 dimension "
                                   "ratio, low Q", small_t, spread_t, CASIMIR_RATIO, "C_A/C_F"))
        topic_text += f" The topic 2/topic 1 ratio at low Q is {small_t:.2f}."
    else:
        topic_text = "The topic version needs `TopicDemixer`, which is not available."
    n_jets = sum(len(i) for i in subsets.values())
    text = [
        f"The Energy Mover's Distance (Komiske, Metodiev & Thaler 2019) makes jets points of a "
        f"metric space. The correlation dimension dim(Q) = Q d/dQ ln N(EMD < Q) counts how many "
        f"directions a sample spreads into at the scale Q; at small Q each soft-collinear "
        f"emission adds dimensions at a rate set by the colour charge, so the gluon/quark ratio "
        f"tends to C_A/C_F = 9/4. From the pairwise EMDs of {n_jets} jets ({len(d_q)} "
        f"quark-quark and {len(d_g)} gluon-gluon pairs), the median ratio over the lower half "
        f"of Q ({format_number(Q[low[0]])}-{format_number(Q[low[-1]])} GeV) is "
        f"{small_q:.2f}.",
        topic_text,
    ]
    return StepResult("emd", "5. Correlation dimension of quark and gluon jets", text,
                      quantities, {"emd_dimension": _figure_emd(Q, curves, ratio, ratio_t, low)})


def _figure_emd(Q, curves, ratio, ratio_t, low):
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from .plotting import plot_correlation_dimension

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.5, 5.5), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    styles = {"gluon jets": dict(color="C3"), "quark jets": dict(color="C0"),
              "topic 2": dict(color="C3", ls="--"), "topic 1": dict(color="C0", ls="--")}
    for name in styles:
        if name in curves:
            _, dim, err = curves[name]
            err = None if name.startswith("topic") else err
            plot_correlation_dimension(Q, dim, err, label=name, ax=top, **styles[name])
    top.set_xlabel("")
    bottom.plot(Q, ratio, "ko", ms=3, label="gluon / quark")
    if ratio_t is not None:
        bottom.plot(Q, ratio_t, "^", color="C1", ms=4, label="topic 2 / topic 1")
    bottom.plot(Q[low], ratio[low], "o", mfc="none", mec="0.5", ms=8, label="low-Q bins")
    bottom.axhline(CASIMIR_RATIO, ls="--", color="C2", label="C_A / C_F = 9/4")
    bottom.set_xscale("log")
    bottom.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    bottom.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    bottom.set_ylim(0.5, 4)
    bottom.set_xlabel("Energy Mover's Distance Q [GeV]")
    bottom.set_ylabel("ratio")
    bottom.legend(fontsize="x-small", frameon=False, ncol=2)
    fig.tight_layout()
    return fig


STEPS = (
    ("samples", step_samples),
    ("unfolding", step_unfolding),
    ("cwola", step_cwola),
    ("topics", step_topics),
    ("emd", step_emd),
)


def _preflight(cfg):
    """Fail before any work on what can be checked up front (names, missing packages)."""
    from . import get_backend
    from ._validation import import_optional

    get_backend(cfg.backend)
    import_optional("matplotlib", purpose="sklhep demo (the report's figures)")
    import_optional("energyflow", purpose="sklhep demo (the EMD step)")
    if not cfg.quick:
        get_backend("efn")
    if cfg.generator == "pythia":
        import_optional("pythia8mc", purpose="sklhep demo --generator pythia")
        import_optional("fastjet", purpose="sklhep demo --generator pythia")


def run_demo(config=None, **settings):
    """Run every step and write the report; returns (path of report.html, list of StepResult).

    Parameters
    ----------
    config : DemoConfig or None
    **settings
        Fields of :class:`DemoConfig` (when ``config`` is None).

    Raises
    ------
    DemoError
        When a step fails; nothing is written then.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tqdm.auto import tqdm

    cfg = (config or DemoConfig(**settings)).resolved()
    _preflight(cfg)
    ctx, results = {}, []
    start = time.perf_counter()
    bar = tqdm(STEPS, desc="sklhep demo", unit="step", disable=not cfg.verbose)
    try:
        for key, step in bar:
            bar.set_postfix_str(key)
            t0 = time.perf_counter()
            try:
                result = step(ctx, cfg)
            except Exception as exc:  # noqa: BLE001 -- re-raised with the step's name
                raise DemoError(key, f"step '{key}' failed: {type(exc).__name__}: {exc}") from exc
            result.seconds = time.perf_counter() - t0
            results.append(result)
            _print_step(cfg, result)
        meta = {"generator": cfg.generator, "jets per mixture": cfg.n_jets,
                "backend": cfg.backend, "quick": cfg.quick, "seed": cfg.seed,
                "wall time": f"{time.perf_counter() - start:.1f} s"}
        from . import __version__

        meta["sklhep"] = __version__
        path = write_report(cfg.output, results, title="sklhep demo: weak supervision for the "
                            "strong force", intro=_intro(cfg), meta=meta)
    finally:
        bar.close()
        for r in results:
            for fig in r.figures.values():
                plt.close(fig)
    return path, results


def _intro(cfg):
    return [
        "What do we mean by a quark jet or a gluon jet? This report follows one answer from "
        "generated events to measured numbers: two samples that are different mixtures of the "
        "same two kinds of jets define those kinds operationally. Each section is one sklhep "
        "estimator; the table compares every number it measured with the truth that the "
        "generator knows and the methods never saw.",
        f"Made by `sklhep demo{' --quick' if cfg.quick else ''}` with the "
        f"{'built-in shower' if cfg.generator == 'shower' else 'Pythia 8'} generator and the "
        f"`{cfg.backend}` backend.",
    ]


def _print_step(cfg, result):
    if not result.available:
        _say(cfg, f"[{result.key}] not available: {result.text[0].split(': ', 1)[-1]}")
        return
    _say(cfg, f"[{result.key}] {result.title} ({result.seconds:.1f} s)")
    for q in result.quantities:
        value = format_number(q.value, 4)
        if q.error is not None:
            value += f" +- {format_number(q.error, 2)}"
        truth = "" if q.truth is None else f"   {q.truth_label}: {format_number(q.truth, 4)}"
        _say(cfg, f"    {q.label}: {value}{truth}")
