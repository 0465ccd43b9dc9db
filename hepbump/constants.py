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

# --- Dark Machines objects, categories and resolution binning (hepbump.darkmachines) ---
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
#: Z-candidate window: same-flavour opposite-charge lepton pairs with |m_ll - M_Z_CANDIDATE_GEV| < 15 GeV.
Z_WINDOW_GEV = 15.0
#: Jet mass classes (BumpNet section 2.2.2), GeV, intervals closed below: standard jet m < 60, V_h [60, 110),
#: top [110, 200), HM >= 200.
JET_MASS_CLASS_EDGES_GEV = (60.0, 110.0, 200.0)
#: Kinematic subdivisions of every exclusive category (lower thresholds, inclusive, hence nested): number of
#: b-tagged standard jets, MET in GeV, pT in GeV of the leading category object (e, mu, gamma, Z, V_h, top, HM;
#: the leading standard jet when the category has none of these). The first entry of each list means "no cut".
#: The MET and pT lists start above the DM channel cuts (2b: MET > 50, channel 3: MET > 100 GeV) so that the
#: first threshold selects something in both channels.
CATEGORY_MIN_BJETS = (0, 1, 2)
CATEGORY_MIN_MET_GEV = (0, 150, 300, 500)
CATEGORY_MIN_LEAD_PT_GEV = (0, 100, 250, 500)
#: Standard-jet multiplicities are filled exactly up to this number (higher ones merged into it); the cap of
#: each category's exclusive jet subcategories is decided on the whole dataset (see hepbump.darkmachines.categories).
CATEGORY_NJETS_FILL_MAX = 10
#: Minimum (effective) number of events of a jet subcategory, of a kept histogram, and minimum number of bins
#: of a kept histogram ("at least 100 events and more than 30 bins", BumpNet section 2.2.2).
CATEGORY_MIN_EVENTS = 100
HIST_MIN_EVENTS = 100
HIST_MIN_BINS = 31
#: Mass combinations: the leading standard jets that enter (four, as in the paper), the leading b-tagged and
#: light standard jets of the flavour-aware combinations (when the selection requires b-jets), the leading
#: objects per category type that enter, and the largest number of objects in one combination (bounds the
#: combinatorics of events with many objects).
COMBINATION_MAX_JETS = 4
COMBINATION_FLAVOUR_JETS = 2
COMBINATION_MAX_PER_TYPE = 4
COMBINATION_MAX_OBJECTS = 6
#: Opposite-charge same-flavour dilepton masses are histogrammed in two ranges around the Z window, GeV.
DILEPTON_LOW_RANGE_GEV = (10.0, 76.0)
DILEPTON_HIGH_MIN_GEV = 106.0

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
#: Default caps of the ALP simulation (hepbump.alp.simulate.SimulationConfig): B -> K a candidates tried per
#: requested event of a parameter point, and in one call. Acceptances across the prior are >~ 1e-4.
ALP_SIM_MAX_CANDIDATES_PER_EVENT = 2_000_000
ALP_SIM_MAX_CANDIDATES = 500_000_000

# --- Dark Machines event format, object definitions, channels and the DM-format generator ------------------
# --- (hepbump.darkmachines.format, hepbump.darkmachines.generate) ---------------------------------------------
#: Most objects stored per event in a Dark Machines file (arXiv:2105.14027).
DM_MAX_OBJECTS = 20
#: Dark Machines object thresholds (arXiv:2105.14027): transverse momentum in GeV, upper limit on |eta|.
#: The BumpNet paper quotes |eta| < 2.5 for electrons; the DM paper uses 2.7 for e and mu, and so does hepbump.
DM_JET_PT_MIN_GEV = 20.0
DM_JET_ABS_ETA_MAX = 2.8
DM_ELECTRON_PT_MIN_GEV = 15.0
DM_ELECTRON_ABS_ETA_MAX = 2.7
DM_MUON_PT_MIN_GEV = 15.0
DM_MUON_ABS_ETA_MAX = 2.7
DM_PHOTON_PT_MIN_GEV = 20.0
DM_PHOTON_ABS_ETA_MAX = 2.37
#: Dark Machines channel selections (arXiv:2105.14027, section 3). HT is the scalar pT sum of all jets (b-tagged
#: or not) passing the object thresholds; leptons are electrons and muons passing the thresholds. GeV.
DM_CH1_HT_MIN_GEV = 600.0
DM_CH1_MET_MIN_GEV = 200.0
DM_CH1_MET_OVER_HT_MIN = 0.2
DM_CH1_N_JETS_MIN = 4
DM_CH1_JET_PT_MIN_GEV = 50.0
DM_CH1_LEADING_JET_PT_MIN_GEV = 200.0
DM_CH2A_MET_MIN_GEV = 50.0
DM_CH2A_N_LEPTONS_MIN = 3
DM_CH2B_MET_MIN_GEV = 50.0
DM_CH2B_HT_MIN_GEV = 50.0
DM_CH2B_N_LEPTONS_MIN = 2
DM_CH3_HT_MIN_GEV = 600.0
DM_CH3_MET_MIN_GEV = 100.0
#: Integrated luminosity of the Dark Machines background samples, pb^-1 (10 fb^-1).
DM_REFERENCE_LUMINOSITY_PB = 10000.0
#: Particle masses and widths (PDG), GeV, used by the generator's Breit-Wigner line shapes and decays.
M_W_GEV = 80.379
GAMMA_W_GEV = 2.085
M_TOP_GEV = 172.5
GAMMA_TOP_GEV = 1.42
M_B_QUARK_GEV = 4.78
M_TAU_GEV = 1.77686
#: Branching fractions (PDG): W -> l nu per lepton flavour; Z -> l+ l- per flavour, invisible, hadrons, b bbar
#: (part of the hadrons); tau -> e nu nu and tau -> mu nu nu (the rest is hadronic).
BR_W_TO_LNU_PER_FLAVOUR = 0.1086
BR_Z_TO_LL_PER_FLAVOUR = 0.03366
BR_Z_TO_INVISIBLE = 0.2000
BR_Z_TO_HADRONS = 0.6991
BR_Z_TO_BB = 0.1512
BR_TAU_TO_E = 0.1782
BR_TAU_TO_MU = 0.1739
#: Detector model of the parametric DM-format generator (momentum smearing uses hepbump.darkmachines.resolution):
#: identification efficiencies (flat), b-tagging efficiency of b jets and mistag rate of light jets.
DM_GEN_ELECTRON_EFFICIENCY = 0.95
DM_GEN_MUON_EFFICIENCY = 0.95
DM_GEN_PHOTON_EFFICIENCY = 0.90
DM_GEN_BTAG_EFFICIENCY = 0.70
DM_GEN_LIGHT_MISTAG_RATE = 0.01
#: b-tagging needs the tracker: |eta| below this.
DM_GEN_BTAG_ABS_ETA_MAX = 2.5
#: Jet radius (anti-kT R = 0.4 as in the DM Delphes samples): decay products of a hadronic W/Z/top whose
#: partons all lie within this Delta R of the parent direction are reconstructed as one massive jet.
DM_GEN_JET_RADIUS = 0.4
#: Relative mass resolution of such merged (boosted) jets, and the log-normal model of the mass of ordinary
#: quark/gluon jets: median m/pT for light and b jets, and the width of ln(m/pT).
DM_GEN_MERGED_JET_MASS_RESOLUTION = 0.10
DM_GEN_LIGHT_JET_MASS_OVER_PT_MEDIAN = 0.07
DM_GEN_B_JET_MASS_OVER_PT_MEDIAN = 0.09
DM_GEN_JET_LN_MASS_OVER_PT_WIDTH = 0.45
#: Non-Gaussian jet response: probability per event that one of its jets (chosen at random) has a low response
#: tail, and the width of |1 - response| in the tail (punch-through, dead material, cracks; these two set the
#: multijet fake-MET rate, i.e. the channel 1 and 3 yields); semileptonic b
#: decays: probability per b jet and the largest fraction of the b-jet momentum carried by the neutrino
#: (uniform between 0 and this value).
DM_GEN_MISMEASURED_EVENT_PROBABILITY = 0.30
DM_GEN_JET_TAIL_WIDTH = 0.35
DM_GEN_B_SEMILEPTONIC_PROBABILITY = 0.20
DM_GEN_B_NEUTRINO_FRACTION_MAX = 0.4
#: MET soft term (underlying event, pile-up): Gaussian per transverse component with
#: sigma = sqrt(a^2 + b^2 * sum pT), a in GeV, b in sqrt(GeV).
DM_GEN_MET_SOFT_TERM_GEV = 5.0
DM_GEN_MET_SOFT_STOCHASTIC_SQRTGEV = 0.5
#: Gaussian momentum responses are truncated at this many standard deviations (makes bounds exact).
DM_GEN_RESPONSE_TRUNCATION_SIGMA = 5.0
#: Smallest momentum response of a measured particle (a badly measured jet may lose at most 99 %).
DM_GEN_RESPONSE_MIN = 0.01
#: |eta| coverage of the calorimeters: visible particles beyond it escape and count towards MET.
DM_GEN_CALORIMETER_ABS_ETA_MAX = 4.9
