"""The Dark Machines analysis of the BumpNet paper: events -> objects and categories -> mass histograms.

The package reads top to bottom as the pipeline runs:

* :mod:`~hepbump.darkmachines.format`, :mod:`~hepbump.darkmachines.parse`: the Dark Machines CSV format (MeV on
  disk, GeV in memory), its tokenizer (pyarrow.compute), and the NanoAOD-style flat layout that coffea reads;
* :mod:`~hepbump.darkmachines.write`, :mod:`~hepbump.darkmachines.read`: CSV -> ROOT/Parquet conversion and
  reading event files back (process tables, generator provenance);
* :mod:`~hepbump.darkmachines.generate`: a fast parametric generator of Dark-Machines-format events;
* :mod:`~hepbump.darkmachines.objects`, :mod:`~hepbump.darkmachines.categories`: physics objects (Z, V_h, top,
  HM) and exclusive categories with nested kinematic thresholds;
* :mod:`~hepbump.darkmachines.resolution`, :mod:`~hepbump.darkmachines.massbins`,
  :mod:`~hepbump.darkmachines.fill`, :mod:`~hepbump.darkmachines.histograms`: the resolution model, resolution
  binning, filling per chunk and the final selection of histograms (run by the coffea processor
  :mod:`processors.darkmachines`).
"""
