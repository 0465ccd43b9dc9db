"""Event generators of hepbump.

* :mod:`~hepbump.darkmachines.generate.generator`: a fast parametric generator of Dark Machines-format events (SM
  mixture, BSM benchmarks of the BumpNet paper, DM thresholds and channels). Not Delphes.
"""

from hepbump.darkmachines.generate.generator import (
    DMGenerator,
    DMGeneratorConfig,
    SignalInjection,
    generate,
    write_sample,
)

__all__ = ["DMGenerator", "DMGeneratorConfig", "SignalInjection", "generate", "write_sample"]
