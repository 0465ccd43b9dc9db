"""Axion-like particles (ALPs) at the SHiP beam dump (ECO/EPO paper, section 2).

Simulation (GeV, metres, c tau / m in m/GeV):

* :mod:`hepbump.alp.bmesons`: the shipped Pythia 8 B-meson table and the meson masses;
* :mod:`hepbump.alp.kinematics`: two-body decays, boosts, truncated-exponential decay points;
* :mod:`hepbump.alp.geometry`: the :class:`~hepbump.alp.geometry.Geometry` dataclass and its presets;
* :mod:`hepbump.alp.priors`: parameter priors;
* :mod:`hepbump.alp.simulate`: unweighted events in ``signal``, ``background``, ``prior`` and ``pairs`` mode;
* :mod:`hepbump.alp.io`: event files (ROOT or Parquet) with their run record.
"""
