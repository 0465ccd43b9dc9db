"""m_gg per benchmark and resolution, and photon opening angle / energy distributions (ALP at SHiP).

Simulates the paper's benchmarks m_a = 0.2, 1 and 4 GeV at c tau / m = 1 m/GeV, smears them with the
``good`` and ``poor`` presets (or any others given) and writes two figures:

    python examples/alp_detector_plots.py --events 20000 --out-dir alp_plots [--resolutions good poor]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hepbump.alp.detector import smear, smearing_rng, truth_photons
from hepbump.alp.features import diphoton_mass
from hepbump.alp.plots import plot_mgg, plot_photon_kinematics
from hepbump.alp.simulate import simulate_signal

BENCHMARKS_GEV = (0.2, 1.0, 4.0)
LINESTYLES = ("-", "--", ":", "-.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="accepted events per benchmark")
    parser.add_argument("--resolutions", nargs="+", default=["good", "poor"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=Path("alp_plots"))
    args = parser.parse_args()

    mgg, styles, measured_by_label = {}, {}, {}
    truth = {}
    for i, mass in enumerate(BENCHMARKS_GEV):
        truth[mass] = truth_photons(simulate_signal(mass, 1.0, args.events, seed=args.seed + i).columns)
        for j, res in enumerate(args.resolutions):
            measured = smear(truth[mass], res, smearing_rng(args.seed, i, 0))
            label = f"$m_a$ = {mass:g} GeV, {res}"
            mgg[label] = diphoton_mass(measured)
            styles[label] = {"color": f"C{i}", "ls": LINESTYLES[j % len(LINESTYLES)]}
            measured_by_label[f"$m_a$ = {mass:g} GeV, {res}"] = measured
    plot_mgg(
        mgg,
        args.out_dir / "mgg_benchmarks.png",
        true_masses_gev=BENCHMARKS_GEV,
        styles=styles,
        title=r"ALP $\to\gamma\gamma$ at SHiP, $c\tau/m$ = 1 m/GeV",
    )
    kin, kin_styles = {}, {}
    last = args.resolutions[-1]
    for i, mass in enumerate(BENCHMARKS_GEV):
        kin[f"$m_a$ = {mass:g} GeV, truth"] = truth[mass]
        kin_styles[f"$m_a$ = {mass:g} GeV, truth"] = {"color": f"C{i}", "lw": 1.0, "alpha": 0.6}
        kin[f"$m_a$ = {mass:g} GeV, {last}"] = measured_by_label[f"$m_a$ = {mass:g} GeV, {last}"]
        kin_styles[f"$m_a$ = {mass:g} GeV, {last}"] = {"color": f"C{i}", "lw": 2.2}
    plot_photon_kinematics(kin, args.out_dir / "photons_benchmarks.png", styles=kin_styles)
    print(f"wrote {args.out_dir / 'mgg_benchmarks.png'} and {args.out_dir / 'photons_benchmarks.png'}")


if __name__ == "__main__":
    main()
