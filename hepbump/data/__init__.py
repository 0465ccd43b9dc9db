"""Package data of hepbump: the Pythia 8 B-meson table of the ALP simulation and its card."""
