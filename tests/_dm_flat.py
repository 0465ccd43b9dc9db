"""Test helpers: Dark Machines events in the flat on-disk layout (``Electron_pt``, ``Jet_E``, ...), built by hand."""

from __future__ import annotations

import awkward as ak
import numpy as np

COLLECTIONS = {"Electron": "e", "Muon": "mu", "Photon": "gamma", "Jet": "jets"}


def _energy(pt, eta, m):
    p = pt * np.cosh(eta)
    return np.sqrt(p**2 + m**2)


def flat_events(records: list[dict]) -> ak.Array:
    """Events from dicts: ``e``/``mu``: [(pt, eta, phi, charge)], ``gamma``: [(pt, eta, phi)],
    ``jets``: [(pt, eta, phi, mass, btag)], ``met``: (pt, phi), optional ``weight``, ``processID``.
    Objects are sorted by decreasing pt as in the contract."""
    out: dict[str, list] = {k: [] for k in ("event", "processID", "weight", "MET_pt", "MET_phi")}
    for coll in COLLECTIONS:
        out[f"n{coll}"] = []
        for f in ("pt", "eta", "phi", "E"):
            out[f"{coll}_{f}"] = []
    out["Electron_charge"], out["Muon_charge"], out["Jet_btag"] = [], [], []
    for i, rec in enumerate(records):
        out["event"].append(i)
        out["processID"].append(rec.get("processID", 0))
        out["weight"].append(rec.get("weight", 1.0))
        met = rec.get("met", (0.0, 0.0))
        out["MET_pt"].append(met[0])
        out["MET_phi"].append(met[1])
        for coll, key in COLLECTIONS.items():
            objs = sorted(rec.get(key, []), key=lambda o: -o[0])
            out[f"n{coll}"].append(len(objs))
            out[f"{coll}_pt"].append([o[0] for o in objs])
            out[f"{coll}_eta"].append([o[1] for o in objs])
            out[f"{coll}_phi"].append([o[2] for o in objs])
            masses = [
                o[3] if coll == "Jet" else (0.000511 if coll == "Electron" else 0.10566 if coll == "Muon" else 0.0)
                for o in objs
            ]
            out[f"{coll}_E"].append([float(_energy(o[0], o[1], m)) for o, m in zip(objs, masses)])
            if coll in ("Electron", "Muon"):
                out[f"{coll}_charge"].append([o[3] for o in objs])
            if coll == "Jet":
                out["Jet_btag"].append([bool(o[4]) for o in objs])
    dtypes = {"Electron_charge": np.int8, "Muon_charge": np.int8, "Jet_btag": bool}
    arrays = {}
    for k, v in out.items():
        if v and isinstance(v[0], list):  # jagged: explicit dtypes even when every list is empty
            counts = np.array([len(x) for x in v], dtype=np.int64)
            flat = np.array([y for x in v for y in x], dtype=dtypes.get(k, np.float64))
            arrays[k] = ak.unflatten(flat, counts)
        else:
            arrays[k] = ak.Array(np.asarray(v))
    return ak.zip(arrays, depth_limit=1)


def random_flat_events(n: int, seed: int = 1) -> ak.Array:
    """A reproducible random sample with falling spectra, a few leptons, photons and jets of all mass classes."""
    rng = np.random.default_rng(seed)
    data: dict[str, ak.Array] = {
        "event": ak.Array(np.arange(n, dtype=np.int64)),
        "processID": ak.Array(rng.integers(0, 3, n).astype(np.int32)),
        "weight": ak.Array(np.ones(n)),
        "MET_pt": ak.Array(rng.exponential(80.0, n) + 20.0),
        "MET_phi": ak.Array(rng.uniform(-np.pi, np.pi, n)),
    }
    means = {"Electron": 0.6, "Muon": 0.6, "Photon": 0.15, "Jet": 2.5}
    for coll, mean in means.items():
        counts = rng.poisson(mean, n)
        total = counts.sum()
        pt = 20.0 + rng.exponential(60.0, total)
        eta = rng.uniform(-2.4, 2.4, total)
        phi = rng.uniform(-np.pi, np.pi, total)
        if coll == "Jet":
            mass = pt * np.exp(rng.normal(np.log(0.08), 0.5, total))
        else:
            mass = np.zeros(total)
        energy = _energy(pt, eta, mass)
        owner = np.repeat(np.arange(n), counts)
        order = np.lexsort((-pt, owner))
        data[f"n{coll}"] = ak.Array(counts.astype(np.int32))
        for name, values in (("pt", pt), ("eta", eta), ("phi", phi), ("E", energy)):
            data[f"{coll}_{name}"] = ak.unflatten(values[order].astype(np.float32), counts)
        if coll in ("Electron", "Muon"):
            data[f"{coll}_charge"] = ak.unflatten(rng.choice(np.array([-1, 1], dtype=np.int8), total), counts)
        if coll == "Jet":
            data["Jet_btag"] = ak.unflatten(rng.random(total) < 0.25, counts)
    return ak.zip(data, depth_limit=1)


def write_flat(events: ak.Array, path) -> None:
    """Write flat events as a ROOT ``Events`` TTree (NanoAOD-style counters) or Parquet, by suffix."""
    import uproot

    path = str(path)
    if path.endswith(".parquet"):
        ak.to_parquet(events, path)
        return
    branches = {k: events[k] for k in ("event", "processID", "weight", "MET_pt", "MET_phi")}
    for coll in COLLECTIONS:
        fields = [k for k in ak.fields(events) if k.startswith(f"{coll}_")]
        branches[coll] = ak.zip({k[len(coll) + 1 :]: events[k] for k in fields})
    with uproot.recreate(path) as f:
        f.mktree("Events", {k: v.type.content for k, v in branches.items()})
        f["Events"].extend(branches)
