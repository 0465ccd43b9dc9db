"""The ECO/EPO hunt (Chathirathas, Ferber, Kahlhoefer, Morandini): excesses in model parameter space.

* :mod:`hepbump.hunt.data`: measured samples (simulate -> smear -> features, m_gg);
* :mod:`hepbump.hunt.posterior`: per-event ALP mass posteriors by marginal neural ratio estimation, their
  combination (eq. 9) and coverage (appendix A);
* :mod:`hepbump.hunt.train`: training of the networks and of the shipped weights;
* :mod:`hepbump.hunt.clean`: cleaning by pairwise compatibility and the ECO/EPO test statistic (section 4.1);
* :mod:`hepbump.hunt.bumphunt`: the conventional bump hunt in m_gg (section 3.2);
* :mod:`hepbump.hunt.eco`: the ECO pair classifier (Table 4) and its compatibility matrix;
* :mod:`hepbump.hunt.plots`: coverage (Fig. 10) and cleaning (Fig. 2) figures.

Not yet here: the EPO classifier on pairs of posteriors (Table 5), the performance measures of section 4.2
(p-values, <Z>_s, <L_p>_s) and ROC figures of section 5, and the reproduction of the paper's tables.

Submodules are imported on demand (``from hepbump.hunt.posterior import MassPosterior``).
"""
