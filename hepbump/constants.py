"""Physical constants and fixed analysis numbers, in one place.

Units are explicit in every name or comment: energies, momenta and masses in GeV, lengths in metres.
Sub-projects add their own sections here rather than defining constants locally.
"""

from __future__ import annotations

# --- Masses (GeV) -----------------------------------------------------------------------------------------
#: Z boson mass used by the Z-candidate selection of the BumpNet paper (section 2.2.2), GeV.
M_Z_CANDIDATE_GEV = 91.18
#: PDG Z boson mass and width, GeV (used by event generation).
M_Z_GEV = 91.1876
GAMMA_Z_GEV = 2.4952

#: LHC Run-2 proton-proton centre-of-mass energy, GeV.
SQRT_S_13TEV_GEV = 13000.0

# --- Unit conversions -------------------------------------------------------------------------------------
#: Dark Machines files store energies and momenta in MeV.
MEV_TO_GEV = 1.0e-3

# --- Dark Machines objects, categories and resolution binning (hepbump.resolution / objects / categories) ---
# Detector resolution model used for the resolution-based variable binning (BumpNet paper section 2.2.2) and
# by the DM-format event generator for smearing. Relative resolutions sigma/p are dimensionless; stochastic
# terms in sqrt(GeV), noise terms in GeV. Delphes "ATLAS" card (delphes/cards/delphes_card_ATLAS.tcl):
#: ECAL energy resolution sigma_E/E = sqrt(C^2 + S^2/E) for |eta| <= 3.2 (constant C, stochastic S in sqrt(GeV)).
ECAL_CONSTANT_TERM = 0.0017
ECAL_STOCHASTIC_TERM_SQRTGEV = 0.101
#: Electron track momentum resolution sigma_pT/pT = sqrt(a^2 + (b pT)^2), per |eta| region (upper |eta| edge,
#: a, b in 1/GeV). The electron measurement combines track and ECAL by inverse-variance weighting.
ELECTRON_TRACK_RESOLUTION = ((0.5, 0.03, 1.3e-3), (1.5, 0.05, 1.7e-3), (2.5, 0.15, 3.1e-3))
#: Muon momentum resolution sigma_pT/pT = sqrt(a^2 + (b pT)^2), per |eta| region (upper |eta| edge, a, b in 1/GeV);
#: the last region is extended to the DM muon acceptance |eta| < 2.7.
MUON_RESOLUTION = ((0.5, 0.01, 1.0e-4), (1.5, 0.015, 1.5e-4), (2.7, 0.025, 3.5e-4))
#: ATLAS-like jet energy resolution sigma/pT = N/pT (+) S/sqrt(pT) (+) C (noise GeV, stochastic sqrt(GeV),
#: constant), approximating the Run-2 ATLAS JER (BumpNet ref. [31], arXiv:1910.04482), central jets.
JET_NOISE_TERM_GEV = 3.5
JET_STOCHASTIC_TERM_SQRTGEV = 0.75
JET_CONSTANT_TERM = 0.025
#: Mass range of every resolution-binned invariant-mass histogram, GeV (the lower edge must be > 0 because
#: lepton resolutions vanish at zero momentum; the bins before each histogram's maximum are dropped anyway).
MASS_HIST_MIN_GEV = 10.0
MASS_HIST_MAX_GEV = 8000.0

# --- ALP detector model: calorimeter resolutions and m_gg binning (ECO/EPO paper, section 2.2) ------------
#: Relative energy resolution sigma_E/E of the "good" and "poor" presets as stated in the paper's text.
ALP_RES_GOOD_SIGMA_E_REL = 0.05
ALP_RES_POOR_SIGMA_E_REL = 0.10
#: sigma_E/E used by the public code behind the paper's tables ("good-ref", "poor-ref" presets).
ALP_RES_GOOD_REF_SIGMA_E_REL = 0.01
ALP_RES_POOR_REF_SIGMA_E_REL = 0.05
#: Angular resolution sigma_theta = sigma_phi, rad (good / poor; the ref presets use the same values).
ALP_RES_GOOD_SIGMA_ANGLE_RAD = 5.0e-3
ALP_RES_POOR_SIGMA_ANGLE_RAD = 10.0e-3
#: Calorimeter hit resolution of each coordinate, metres (all presets).
ALP_RES_SIGMA_HIT_M = 1.0e-3
#: Smallest polar angle kept after smearing when the angular resolution is zero, rad (keeps ln theta finite).
ALP_THETA_FLOOR_MIN_RAD = 1.0e-6
#: m_gg histograms: log10(m_gg / GeV) in [-1.5, 0.8] (the paper's bump-hunt range, section 3.2), 0.025 per bin.
ALP_MGG_LOG10_MIN = -1.5
ALP_MGG_LOG10_MAX = 0.8
ALP_MGG_BINS = 92

# --- ALP beam dump at SHiP (hepbump.alp; ECO/EPO paper section 2) -------------------------------------------
# Geometry of the SHiP sensitivity studies: the target is at the origin, the beam runs along +z.
#: SPS proton beam momentum, GeV (400 GeV protons on a fixed target).
SHIP_BEAM_MOMENTUM_GEV = 400.0
#: z of the front (upstream) and back faces of the decay volume, metres.
SHIP_DECAY_VOLUME_Z_FRONT_M = 32.0
SHIP_DECAY_VOLUME_Z_BACK_M = 82.0
#: Full widths (x) and heights (y) of the truncated-pyramid decay volume at its front and back faces, metres.
SHIP_DECAY_VOLUME_FRONT_WIDTH_X_M = 1.2
SHIP_DECAY_VOLUME_FRONT_HEIGHT_Y_M = 3.5
SHIP_DECAY_VOLUME_BACK_WIDTH_X_M = 3.9
SHIP_DECAY_VOLUME_BACK_HEIGHT_Y_M = 6.0
#: Full height of the decay volume in the "x-tapered" variant (only x tapered, |y| <= 3 m), metres.
SHIP_XTAPERED_HEIGHT_Y_M = 6.0
#: z of the calorimeter front plane (where photon hits are recorded) and its full width and height, metres.
SHIP_CALORIMETER_Z_M = 93.0
SHIP_CALORIMETER_WIDTH_X_M = 4.0
SHIP_CALORIMETER_HEIGHT_Y_M = 6.0
#: Selection: minimum photon energy, GeV, and minimum distance of the two photon hits on the calorimeter, metres.
ALP_PHOTON_ENERGY_MIN_GEV = 1.0
ALP_PHOTON_MIN_SEPARATION_M = 0.1
#: Prior ranges of the ALP parameters (log-uniform): mass, GeV, and c*tau/m, metres per GeV.
ALP_MASS_RANGE_GEV = (0.1, 4.5)
ALP_CTAU_OVER_M_RANGE_M_PER_GEV = (0.05, 500.0)
#: PDG Monte Carlo ids of the mesons of B -> K a (particles; antiparticles have the opposite sign).
PDG_ID_B0 = 511
PDG_ID_B_PLUS = 521
PDG_ID_K0 = 311
PDG_ID_K_PLUS = 321
