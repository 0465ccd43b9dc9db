"""Event generators of hepbump.

* :mod:`hepbump.generate.darkmachines`: a fast parametric generator of Dark Machines-format events (SM mixture,
  BSM benchmarks of the BumpNet paper, DM thresholds and channels). Not Delphes.
"""

from hepbump.generate.darkmachines import DMGenerator, DMGeneratorConfig, SignalInjection, generate, write_sample

__all__ = ["DMGenerator", "DMGeneratorConfig", "SignalInjection", "generate", "write_sample"]
