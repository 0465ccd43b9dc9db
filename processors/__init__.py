"""coffea processors for hepbump: thin ``ProcessorABC`` glue over the hepbump library."""
