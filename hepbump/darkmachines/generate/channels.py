"""The Dark Machines channel selections (arXiv:2105.14027) and the object thresholds they act on.

============ =========================================================================================
channel      selection (HT: scalar pT sum of all jets, b-tagged or not; leptons: electrons and muons)
============ =========================================================================================
``1``        HT >= 600 GeV, MET >= 200 GeV, MET/HT >= 0.2, >= 4 jets with pT > 50 GeV, >= 1 jet pT > 200 GeV
``2a``       MET >= 50 GeV, >= 3 leptons with pT > 15 GeV
``2b``       MET >= 50 GeV, HT >= 50 GeV, >= 2 leptons with pT > 15 GeV
``3``        HT >= 600 GeV, MET >= 100 GeV
``none``     no selection beyond the object thresholds
============ =========================================================================================

Objects are counted only if they pass the DM thresholds (jets pT > 20 GeV, |eta| < 2.8; e/mu pT > 15 GeV,
|eta| < 2.7; photons pT > 20 GeV, |eta| < 2.37), which every object in a DM file does.

>>> s = EventSummary(ht=np.array([700.0, 700.0]), met=np.array([150.0, 90.0]), n_leptons=np.array([0, 0]),
...                  n_jets_ch1=np.array([2, 2]), leading_jet_pt=np.array([400.0, 400.0]))
>>> CHANNELS["3"].passes(s).tolist()
[True, False]
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from hepbump import constants as C
from hepbump.errors import InputError

__all__ = ["Channel", "EventSummary", "CHANNELS", "channel", "summarize"]


@dataclass(frozen=True)
class EventSummary:
    """Per-event quantities the channel selections use (GeV): HT, MET, number of leptons, number of jets with
    pT > 50 GeV (channel 1) and the leading jet pT (0 without jets)."""

    ht: np.ndarray
    met: np.ndarray
    n_leptons: np.ndarray
    n_jets_ch1: np.ndarray
    leading_jet_pt: np.ndarray


@dataclass(frozen=True)
class Channel:
    """Lower thresholds of one DM channel (GeV; 0 = no requirement)."""

    name: str
    ht_min: float = 0.0
    met_min: float = 0.0
    met_over_ht_min: float = 0.0
    n_leptons_min: int = 0
    n_jets_min: int = 0
    leading_jet_pt_min: float = 0.0
    description: str = ""

    @property
    def high_ht(self) -> bool:
        """True for the multijet channels (1 and 3) with HT >= 600 GeV."""
        return self.ht_min >= C.DM_CH3_HT_MIN_GEV

    def passes(self, s: EventSummary) -> np.ndarray:
        """Boolean mask of the events of summary ``s`` that pass this channel."""
        ok = (s.ht >= self.ht_min) & (s.met >= self.met_min) & (s.n_leptons >= self.n_leptons_min)
        if self.met_over_ht_min > 0:
            ok &= s.met >= self.met_over_ht_min * s.ht
        if self.n_jets_min > 0:
            ok &= s.n_jets_ch1 >= self.n_jets_min
        if self.leading_jet_pt_min > 0:
            ok &= s.leading_jet_pt >= self.leading_jet_pt_min
        return ok


#: The DM channels by name.
CHANNELS: dict[str, Channel] = {
    "1": Channel(
        "1",
        ht_min=C.DM_CH1_HT_MIN_GEV,
        met_min=C.DM_CH1_MET_MIN_GEV,
        met_over_ht_min=C.DM_CH1_MET_OVER_HT_MIN,
        n_jets_min=C.DM_CH1_N_JETS_MIN,
        leading_jet_pt_min=C.DM_CH1_LEADING_JET_PT_MIN_GEV,
        description="multijet + large MET",
    ),
    "2a": Channel(
        "2a", met_min=C.DM_CH2A_MET_MIN_GEV, n_leptons_min=C.DM_CH2A_N_LEPTONS_MIN, description=">= 3 leptons + MET"
    ),
    "2b": Channel(
        "2b",
        ht_min=C.DM_CH2B_HT_MIN_GEV,
        met_min=C.DM_CH2B_MET_MIN_GEV,
        n_leptons_min=C.DM_CH2B_N_LEPTONS_MIN,
        description=">= 2 leptons + MET + HT",
    ),
    "3": Channel("3", ht_min=C.DM_CH3_HT_MIN_GEV, met_min=C.DM_CH3_MET_MIN_GEV, description="HT + MET"),
    "none": Channel("none", description="object thresholds only"),
}


def channel(name: str) -> Channel:
    """The channel called ``name`` (``1``, ``2a``, ``2b``, ``3`` or ``none``)."""
    try:
        return CHANNELS[str(name)]
    except KeyError:
        raise InputError(f"unknown Dark Machines channel {name!r}; known: {', '.join(CHANNELS)}") from None


def summarize(events: ak.Array) -> EventSummary:
    """:class:`EventSummary` of in-memory DM events (:func:`hepbump.darkmachines.format.read_csv` layout)."""
    obj = events.objects
    kind = obj["type"]
    jet = (kind == "j") | (kind == "b")
    lep = (kind == "e-") | (kind == "e+") | (kind == "m-") | (kind == "m+")
    jet_pt = obj.pt[jet]
    return EventSummary(
        ht=ak.to_numpy(ak.sum(jet_pt, axis=1)),
        met=ak.to_numpy(events.MET),
        n_leptons=ak.to_numpy(ak.sum(lep, axis=1)),
        n_jets_ch1=ak.to_numpy(ak.sum(jet_pt > C.DM_CH1_JET_PT_MIN_GEV, axis=1)),
        leading_jet_pt=ak.to_numpy(ak.fill_none(ak.max(jet_pt, axis=1), 0.0)),
    )
