"""Energy Flow Network on quark vs gluon jets, and the filters it learns.

Generates quark and gluon jets with sklhep's built-in parton shower, trains an EFN (the ``efn``
backend) after centring and rotating the jets, compares its ROC curve with an xgboost BDT on jet
observables, and draws the EFN's latent filters Phi_a(y, phi) -- the interpretability picture of
Komiske, Metodiev and Thaler (arXiv:1810.05165).

Run from the repository root (about a minute on one CPU core)::

    python examples/efn_quark_gluon.py [output.png]
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

import sklhep  # noqa: E402
from sklhep.datasets import make_jets  # noqa: E402
from sklhep.plotting import plot_efn_filters  # noqa: E402
from sklhep.preprocessing import JetObservables, JetPreprocessor  # noqa: E402

torch.set_num_threads(1)
out = sys.argv[1] if len(sys.argv) > 1 else "efn_quark_gluon.png"

X, y = make_jets(30000, flavor="both", random_state=0)
train, test = slice(0, 24000), slice(24000, None)

efn = make_pipeline(
    JetPreprocessor(),
    sklhep.get_backend(
        "efn", phi_sizes=(64, 64, 32), f_sizes=(64, 64), max_epochs=25, random_state=0, verbose=1
    ),
).fit(X[train], y[train])
p_efn = efn.predict_proba(X[test])[:, 1]

obs = JetObservables(observables=["multiplicity", "mass", "width", "ptd", "e2"])
O = obs.fit_transform(X)
bdt = sklhep.get_backend("bdt").fit(O[train], y[train])
p_bdt = bdt.predict_proba(O[test])[:, 1]

fig = plt.figure(figsize=(12, 4))
ax_roc = fig.add_subplot(1, 3, 1)
for name, p in [("EFN (particles)", p_efn), ("BDT (observables)", p_bdt)]:
    fpr, tpr, _ = roc_curve(y[test], p)
    ax_roc.plot(tpr, 1 - fpr, label=f"{name}: AUC {roc_auc_score(y[test], p):.3f}")
ax_roc.set_xlabel("quark efficiency")
ax_roc.set_ylabel("gluon rejection")
ax_roc.legend(loc="lower left")
ax_roc.set_title("quark vs gluon, built-in shower")

net = efn[-1]
plot_efn_filters(net, kind="overlay", y_range=(-0.4, 0.4), phi_range=(-0.4, 0.4),
                 axes=fig.add_subplot(1, 3, 2))
plot_efn_filters(net, filters=[int(np.argmax(net.latent_filters(n_grid=41)[2].max(axis=(1, 2))))],
                 y_range=(-0.4, 0.4), phi_range=(-0.4, 0.4), axes=fig.add_subplot(1, 3, 3))
fig.tight_layout()
fig.savefig(out, dpi=110)
print(f"EFN AUC {roc_auc_score(y[test], p_efn):.4f}, BDT AUC {roc_auc_score(y[test], p_bdt):.4f}; "
      f"figure written to {out}")
