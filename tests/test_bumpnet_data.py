import json
import math

import numpy as np
import pytest

from hepbump.bumpnet.binning import AXIS_KINDS, AxisConfig, draw_axes, resolution_edges
from hepbump.bumpnet.data import (
    MOTHER_SOURCE,
    DataConfig,
    HistogramBatch,
    MotherBank,
    concatenate,
    generate,
    signal_for_peak_z,
)
from hepbump.bumpnet.functions import FAMILIES, N_FAMILIES, draw_inner_anchors, family_curves, stretched_curves
from hepbump.bumpnet.shards import (
    DatasetError,
    generate_dataset,
    iterate_batches,
    load_manifest,
    read_shard,
    shard_batches,
    shard_paths,
    write_shard,
)
from hepbump.stats import asimov_significance, gaussian_templates, lr_significance, signal_widths


def random_anchors(rng, n):
    x = np.sort(rng.uniform(10.0, 5000.0, (n, 2)), axis=1)
    x[:, 1] = np.maximum(x[:, 1], x[:, 0] + 100.0)
    y = np.sort(10 ** rng.uniform(-2, 5, (n, 2)), axis=1)
    return x[:, 0], x[:, 1], y[:, 1] * 1.001, y[:, 0]


# --- eq. 2.1 families and stretching ------------------------------------------------------------------------


@pytest.mark.parametrize("k", range(N_FAMILIES))
def test_families_pass_through_anchors_and_fall_monotonically(k):
    rng = np.random.default_rng(k)
    n = 200
    x1, x2, y1, y2 = random_anchors(rng, n)
    power = rng.uniform(0.01, 10.0, n)
    x = x1[:, None] + (x2 - x1)[:, None] * np.linspace(0.0, 1.0, 64)[None, :]
    y = family_curves(np.full(n, k), x, x1, x2, y1, y2, power)
    np.testing.assert_allclose(y[:, 0], y1, rtol=1e-9)
    np.testing.assert_allclose(y[:, -1], y2, rtol=1e-7)
    assert np.all(np.diff(y, axis=1) <= 1e-9 * y1[:, None])
    assert np.all(y >= y2[:, None] * (1 - 1e-9))


def test_families_match_eq_2_1_in_their_own_parametrisation():
    x1, x2, y1, y2 = 50.0, 800.0, 2000.0, 30.0
    x = np.linspace(x1, x2, 7)
    one = np.ones(1)

    def ours(k, power=1.0):
        return family_curves(np.array([k]), x[None, :], x1 * one, x2 * one, y1 * one, y2 * one, power * one)[0]

    a = np.log(y1 / y2) / (x2 - x1)  # b exp(-a x)
    np.testing.assert_allclose(ours(0), y1 * np.exp(a * x1) * np.exp(-a * x), rtol=1e-12)
    for k, p in ((2, 1), (3, 2), (4, 3), (5, 4), (10, 2.7)):  # 1/(a x^p) + b through both anchors
        a_, b_ = np.linalg.solve([[x1**-p, 1.0], [x2**-p, 1.0]], [y1, y2])
        np.testing.assert_allclose(ours(k, p), a_ * x**-p + b_, rtol=1e-9)
    a = (y1 - y2) / np.log(x2 / x1)  # -a ln x + b
    np.testing.assert_allclose(ours(7), -a * np.log(x) + (y1 + a * np.log(x1)), rtol=1e-12)
    a = np.arccosh(y1 - y2 + 1) / (x2 - x1)  # cosh(a (x - x2)) + b
    np.testing.assert_allclose(ours(9), np.cosh(a * (x - x2)) + y2 - 1, rtol=1e-12)
    np.testing.assert_allclose(ours(6), (y1 - y2) / (x1 - x2) ** 2 * (x - x2) ** 2 + y2, rtol=1e-12)


@pytest.mark.parametrize("k", range(N_FAMILIES))
def test_stretching_keeps_anchors_monotonicity_and_positivity(k):
    rng = np.random.default_rng(100 + k)
    n = 200
    x1, x2, y1, y2 = random_anchors(rng, n)
    inner = draw_inner_anchors(rng, x1, x2, y1, y2)
    xi, xj, yi, yj = inner
    assert np.all((x1 < xi) & (xi < xj) & (xj < x2) & (y1 > yi) & (yi > yj) & (yj > y2))
    x = x1[:, None] + (x2 - x1)[:, None] * np.linspace(0.0, 1.0, 50)[None, :]
    power = rng.uniform(0.01, 10.0, n)
    y = stretched_curves(np.full(n, k), x, x1, x2, y1, y2, *inner, power)
    np.testing.assert_allclose(y[:, [0, -1]], np.stack([y1, y2], axis=1), rtol=1e-7)
    assert np.all(np.diff(y, axis=1) <= 1e-9 * y1[:, None])
    assert np.all(y > 0)


def test_stretching_changes_power_laws_but_not_lines():
    one = np.ones(1)
    x = np.linspace(100.0, 1000.0, 20)[None, :]
    args = (100 * one, 1000 * one, 1e4 * one, 10 * one)
    inner = (400 * one, 500 * one, 100 * one, 50 * one)
    for k, changes in ((FAMILIES.index("inv2"), True), (FAMILIES.index("linear"), False)):
        plain = family_curves(np.array([k]), x, *args)
        stretched = stretched_curves(np.array([k]), x, *args, *inner)
        assert (not np.allclose(plain, stretched, rtol=1e-3)) == changes


# --- axes -----------------------------------------------------------------------------------------------------


def test_axes_respect_range_span_and_kinds():
    edges, kind = draw_axes(np.random.default_rng(0), 600, 80)
    assert edges.shape == (600, 81) and set(kind.tolist()) == {0, 1, 2}
    assert np.all(np.diff(edges, axis=1) > 0)
    assert np.all(edges[:, 0] >= 10.0) and np.all(edges[:, -1] <= 5000.0)
    assert np.all(edges[:, -1] - edges[:, 0] >= 100.0)
    u, g = edges[kind == 0], edges[kind == 1]
    np.testing.assert_allclose(np.diff(u, axis=1), np.diff(u, axis=1)[:, :1] * np.ones((1, 80)), rtol=1e-8)
    np.testing.assert_allclose(g[:, 1:] / g[:, :-1], (g[:, 1] / g[:, 0])[:, None] * np.ones((1, 80)), rtol=1e-8)
    assert AXIS_KINDS == ("uniform", "log", "resolution")


def test_resolution_axis_widths_follow_the_resolution_model():
    n = np.array([3.5, 0.0])
    s, c, d = np.array([0.75, 0.5]), np.array([0.025, 0.01]), np.array([0.0, 1e-4])
    edges = resolution_edges(np.array([20.0, 200.0]), np.array([4000.0, 1500.0]), 200, n, s, c, d)
    centre = 0.5 * (edges[:, 1:] + edges[:, :-1])
    model = np.sqrt(
        n[:, None] ** 2 + s[:, None] ** 2 * centre + (c[:, None] * centre) ** 2 + d[:, None] ** 2 * centre**4
    )
    ratio = np.diff(edges, axis=1) / model
    assert np.all(ratio.std(axis=1) / ratio.mean(axis=1) < 0.01)


def test_axis_config_validation():
    with pytest.raises(ValueError):
        AxisConfig(kind_probs=(0.5, 0.5, 0.5))


# --- samples and target ---------------------------------------------------------------------------------------


def one_batch(seed=0, n=400, bins=60, **kw) -> HistogramBatch:
    config = DataConfig(n_bins_range=(bins, bins), chunk_size=n, **kw)
    (batch,) = generate(np.random.default_rng(seed), n, config)
    return batch


def test_target_is_lr_significance_of_counts_against_true_background():
    b = one_batch()
    np.testing.assert_array_equal(b.target, lr_significance(b.counts, b.background))
    assert np.all(b.counts == np.round(b.counts)) and np.all(b.signal >= 0) and np.all(b.counts >= b.signal)
    assert np.all(b.background >= DataConfig().min_expected)
    assert np.all(b.signal[b.signal_bin < 0] == 0)


@pytest.mark.parametrize("bins", [2, 30, 173, 300])
def test_shapes_for_any_bin_count(bins):
    b = one_batch(n=20, bins=bins)
    assert b.counts.shape == b.target.shape == b.background.shape == (20, bins) and b.edges.shape == (20, bins + 1)
    assert b.z_peak.shape == b.source.shape == (20,)


def test_reproducible_by_seed():
    a, b, c = one_batch(seed=5, n=50), one_batch(seed=5, n=50), one_batch(seed=6, n=50)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.edges, b.edges)
    assert not np.array_equal(a.counts, c.counts)


def test_signals_are_the_one_definition_of_templates_and_widths():
    b = one_batch(seed=2, n=300, signal_fraction=1.0)
    assert set(np.unique(b.signal_width_bins).tolist()) == {1.0, 2.0, 3.0}
    for i in range(0, 300, 29):
        edges = b.edges[i]
        sigma = signal_widths(edges, np.array([b.signal_mean_gev[i]]), b.signal_width_bins[i])
        assert sigma[0] == pytest.approx(b.signal_sigma_gev[i], rel=1e-12)
        template = gaussian_templates(edges, np.array([b.signal_mean_gev[i]]), sigma)[0]
        c = b.signal_bin[i]
        assert c == np.argmax(template)
        z = asimov_significance(b.signal_events[i] * template[c], b.background[i, c])
        assert z == pytest.approx(b.z_peak[i], abs=1e-6)
    assert 0.0 <= b.z_peak.min() and b.z_peak.max() <= 10.0 and b.z_peak.max() > 9.0


def test_signal_yield_inversion():
    z = np.array([0.5, 2.0, 5.0, 10.0])
    for b in (1e-3, 0.3, 10.0, 1e5):
        s = signal_for_peak_z(z, np.full(4, b))
        np.testing.assert_allclose(asimov_significance(s, np.full(4, b)), z, rtol=1e-9)


def test_background_only_target_is_standard_normal_at_high_counts():
    b = one_batch(seed=3, n=2000, bins=50, signal_fraction=0.0, log_y_fraction=0.0, y_range=(1e3, 1e5))
    z = b.target
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01


def test_mix_of_signal_and_background_only_and_sparse_tails():
    b = one_batch(seed=4, n=2000, bins=100)
    assert 0.77 < np.mean(b.signal_bin >= 0) < 0.83
    assert np.mean(b.background[:, -1] < 1.0) > 0.1  # sparse tails: < 1 expected event in the last bin
    assert np.all(np.isnan(b.signal_mean_gev[b.signal_bin < 0]))


def test_mother_bank_split_and_data_like_samples():
    rng = np.random.default_rng(0)
    mothers = []
    for i in range(8):
        edges = np.geomspace(100.0, 2000.0, 41 + 10 * (i % 2))
        mothers.append((np.round(1e4 * (edges[:-1] / 100.0) ** -3), edges))
    bank = MotherBank.from_histograms(mothers, [f"h{i}" for i in range(8)], smooth=False)
    train, test = bank.split(0.25, seed=1)
    assert len(train) == 6 and len(test) == 2 and not set(train.names) & set(test.names)
    config = DataConfig(mother_fraction=1.0, chunk_size=64)
    batches = list(generate(rng, 64, config, train))
    assert sum(len(b) for b in batches) == 64 and {b.n_bins for b in batches} <= {40, 50}
    for b in batches:
        assert np.all(b.source == MOTHER_SOURCE) and np.all(b.axis_kind == -1)
        np.testing.assert_array_equal(b.target, lr_significance(b.counts, b.background))
        for j in range(len(b)):
            np.testing.assert_allclose(b.background[j], np.maximum(train.expected[b.mother[j]], 1e-3))
            np.testing.assert_array_equal(b.edges[j], train.edges[b.mother[j]])
            if b.signal_bin[j] >= 0:  # the padded computation gives the same signals as on the mother alone
                mean, sigma = np.array([b.signal_mean_gev[j]]), np.array([b.signal_sigma_gev[j]])
                template = gaussian_templates(b.edges[j], mean, sigma)[0]
                assert b.signal_bin[j] == np.argmax(template)
                z = asimov_significance(b.signal_events[j] * template.max(), b.background[j, b.signal_bin[j]])
                assert z == pytest.approx(b.z_peak[j], abs=1e-6)
    smooth = MotherBank.from_histograms(mothers[:1])
    assert np.all(smooth.expected[0] > 0) and smooth.expected[0].shape == (40,)


def test_data_config_round_trip_and_validation():
    config = DataConfig(signal_width_bins=(1.0,), signal_width_probs=(1.0,), axes=AxisConfig(min_span_gev=50.0))
    assert DataConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError):
        DataConfig(signal_fraction=1.5)


# --- shards ---------------------------------------------------------------------------------------------------


def test_shard_round_trip(tmp_path):
    batches = [one_batch(seed=1, n=30, bins=40), one_batch(seed=2, n=20, bins=70)]
    entry = write_shard(tmp_path / "s.npz", batches)
    assert entry["n_samples"] == 50 and (entry["min_bins"], entry["max_bins"]) == (40, 70)
    back = shard_batches(tmp_path / "s.npz")
    assert [len(b) for b in back] == [30, 20]
    for orig, got in zip(batches, back):
        np.testing.assert_array_equal(got.counts, orig.counts)
        np.testing.assert_array_equal(got.edges, orig.edges)
        np.testing.assert_allclose(got.target, orig.target, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(got.background, orig.background, rtol=1e-6)
        np.testing.assert_array_equal(got.signal_bin, orig.signal_bin)
    raw = read_shard(tmp_path / "s.npz")
    assert raw["counts"].shape == (50, 70) and np.all(raw["counts"][:30, 40:] == 0)


def test_generate_dataset_manifest_reproducibility_and_streaming(tmp_path):
    config = DataConfig(n_bins_range=(30, 60), chunk_size=32)
    manifest = generate_dataset(config, tmp_path / "a", seed=7, n_samples=150, shard_size=64, progress=False)
    generate_dataset(config, tmp_path / "b", seed=7, n_samples=150, shard_size=64, progress=False)
    assert load_manifest(tmp_path / "a") == manifest
    assert [e["n_samples"] for e in manifest["shards"]] == [64, 64, 22]
    assert manifest["totals"]["n_samples"] == 150 and sum(manifest["totals"]["by_source"].values()) == 150
    assert DataConfig.from_dict(manifest["recipe"]["data_config"]) == config
    for pa, pb in zip(shard_paths(tmp_path / "a"), shard_paths(tmp_path / "b")):
        np.testing.assert_array_equal(read_shard(pa)["counts"], read_shard(pb)["counts"])
    with pytest.raises(FileExistsError):
        generate_dataset(config, tmp_path / "a", seed=7, n_samples=10, progress=False)

    seen = 0
    for sb in iterate_batches(shard_paths(tmp_path / "a"), 16, rng=np.random.default_rng(0)):
        assert sb.counts.shape == sb.target.shape == sb.mask.shape and sb.counts.shape[0] <= 16
        assert np.all(sb.counts[~sb.mask] == 0) and np.all(sb.mask.any(axis=0))
        seen += sb.counts.shape[0]
    assert seen == 150
    total = sum(float(np.sum(sb.target)) for sb in iterate_batches(shard_paths(tmp_path / "a"), 16))
    assert total == pytest.approx(
        sum(float(read_shard(p)["target"].sum()) for p in shard_paths(tmp_path / "a")), rel=1e-4
    )


def test_corrupted_shard_and_manifest_are_clear_errors(tmp_path):
    bad = tmp_path / "shard.npz"
    bad.write_bytes(b"not a numpy file")
    with pytest.raises(DatasetError, match="shard.npz"):
        read_shard(bad)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(DatasetError, match="manifest.json"):
        load_manifest(tmp_path)


def test_concatenate_and_finite_targets():
    a, b = one_batch(seed=1, n=5), one_batch(seed=2, n=7)
    c = concatenate([a, b])
    assert len(c) == 12 and np.all(np.isfinite(c.target))
    assert math.isfinite(float(c.target.max()))


# --- edge signals and recipe options -----------------------------------------------------------------------------


def _edge_bank():
    mothers = []
    for i in range(6):
        edges = np.geomspace(100.0, 2000.0, 41 + 10 * (i % 3))
        mothers.append((np.round(1e4 * (edges[:-1] / 100.0) ** -3), edges))
    return MotherBank.from_histograms(mothers, smooth=False)


def test_default_data_is_unchanged_by_the_edge_options():
    """Digest of the default generator's output recorded before edge_signal_fraction existed (same seed)."""
    import hashlib

    digest, sums = hashlib.sha256(), []
    runs = (
        (DataConfig(n_bins_range=(30, 80), chunk_size=40), None),
        (DataConfig(chunk_size=50, mother_scale_range=(1.0, 100.0)), _edge_bank()),
    )
    for config, bank in runs:
        for b in generate(np.random.default_rng(2024), 120, config, bank):
            for a in (b.counts, b.signal, b.signal_bin, b.mother, b.source):
                digest.update(np.ascontiguousarray(a).astype(np.int64).tobytes())
            sums.append(float(np.sum(b.target)))
    assert digest.hexdigest()[:16] == "0e40aec550351966"
    assert len(sums) == 15 and sum(sums) == pytest.approx(3773.548303, abs=1e-5)


def _window_side(b):
    """Per signal sample: 'L' / 'R' if its mean lies in the left / right edge window, '' otherwise."""
    from hepbump.bumpnet.data import edge_windows

    n = b.n_bins
    (ls,), (lsize,), (rs,), (rsize,) = edge_windows(np.array([n]), 10)
    out = []
    for j in np.flatnonzero(b.signal_bin >= 0):
        e, mean = b.edges[j], b.signal_mean_gev[j]
        side = "L" if e[ls] <= mean <= e[ls + lsize] else ""
        side += "R" if e[rs] <= mean <= e[rs + rsize] else ""
        out.append(side)
    return out


@pytest.mark.parametrize("with_bank", [False, True])
def test_edge_fraction_one_puts_every_signal_in_an_edge_window(with_bank):
    config = DataConfig(n_bins_range=(2, 300), chunk_size=16, signal_fraction=1.0, edge_signal_fraction=1.0)
    if with_bank:
        from dataclasses import replace

        config = replace(config, mother_fraction=1.0)
    batches = list(generate(np.random.default_rng(11), 400, config, _edge_bank() if with_bank else None))
    sides = [s for b in batches for s in _window_side(b)]
    assert len(sides) == 400 and all(sides)
    long_ones = [s for b in batches if b.n_bins >= 40 for s in _window_side(b)]
    assert {"L", "R"} <= set(long_ones)  # both ends are used (windows overlap below 23 bins)


def test_edge_windows_follow_the_scanned_bins():
    from hepbump.bumpnet.data import edge_windows

    ls, lsize, rs, rsize = edge_windows(np.array([2, 9, 10, 40, 99, 100, 300]), 10)
    assert ls.tolist() == [0, 0, 1, 4, 9, 10, 30]  # floor(0.1 n): the first bin a scan considers
    assert lsize.tolist() == [2, 9, 9, 10, 10, 10, 10] and rsize.tolist() == [2, 9, 10, 10, 10, 10, 10]
    assert (rs + rsize).tolist() == [2, 9, 10, 40, 99, 100, 300]


def test_edge_fraction_is_honoured_statistically():
    config = DataConfig(n_bins_range=(300, 300), chunk_size=1000, edge_signal_fraction=0.3)
    batches = list(generate(np.random.default_rng(5), 4000, config))
    sides = [s for b in batches for s in _window_side(b)]
    n = len(sides)
    assert 0.77 < n / 4000 < 0.83  # the signal fraction is untouched
    uniform = 20 / 300  # a uniformly placed signal falls in one of the two windows
    inside = np.mean([bool(s) for s in sides])
    assert inside == pytest.approx(0.3 + 0.7 * uniform, abs=0.03)
    left, right = sides.count("L"), sides.count("R")
    assert abs(left - right) < 4 * np.sqrt(left + right)
    # the others stay uniform over the bins: the middle half of the histogram holds half of them
    bins = [
        np.searchsorted(b.edges[j], b.signal_mean_gev[j]) - 1
        for b in batches
        for j in np.flatnonzero(b.signal_bin >= 0)
    ]
    assert np.mean([75 <= k < 225 for k in bins]) == pytest.approx(0.7 * 0.5, abs=0.03)


def test_edge_and_range_options_are_validated_by_name():
    for kwargs, field_name in (
        ({"edge_signal_fraction": -0.1}, "edge_signal_fraction"),
        ({"edge_signal_fraction": 1.5}, "edge_signal_fraction"),
        ({"edge_signal_bins": 0}, "edge_signal_bins"),
        ({"edge_signal_bins": 2.5}, "edge_signal_bins"),
        ({"edge_signal_bins": True}, "edge_signal_bins"),
        ({"z_range": (-1.0, 5.0)}, "z_range"),
        ({"z_range": (5.0, 2.0)}, "z_range"),
        ({"z_range": (0.0, float("inf"))}, "z_range"),
        ({"mother_scale_range": (0.0, 1.0)}, "mother_scale_range"),
        ({"mother_scale_range": (2.0, 1.0)}, "mother_scale_range"),
    ):
        with pytest.raises(ValueError, match=f"DataConfig.{field_name}"):
            DataConfig(**kwargs)
    DataConfig(edge_signal_fraction=1.0, edge_signal_bins=1, z_range=(0.0, 15.0), mother_scale_range=(1.0, 1e3))


def test_edge_options_round_trip_and_old_recipes_load():
    config = DataConfig(edge_signal_fraction=0.3, edge_signal_bins=8, z_range=(0.0, 15.0))
    assert DataConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    old = {k: v for k, v in DataConfig().to_dict().items() if k not in ("edge_signal_fraction", "edge_signal_bins")}
    loaded = DataConfig.from_dict(json.loads(json.dumps(old)))
    assert loaded == DataConfig() and loaded.edge_signal_fraction == 0.0 and loaded.edge_signal_bins == 10


def test_cli_data_edge_options(tmp_path):
    from typer.testing import CliRunner

    from hepbump.cli import app
    from hepbump.errors import InputError

    runner = CliRunner()
    args = ["bumpnet", "data", "-o", str(tmp_path / "d"), "--samples", "20", "--seed", "1", "--no-progress"]
    result = runner.invoke(
        app, [*args, "--edge-signal-fraction", "1", "--edge-signal-bins", "5", "--z-range", "0", "15"]
    )
    assert result.exit_code == 0, result.output
    recipe = load_manifest(tmp_path / "d")["recipe"]["data_config"]
    assert recipe["edge_signal_fraction"] == 1.0 and recipe["edge_signal_bins"] == 5
    assert recipe["z_range"] == [0.0, 15.0]
    bad = runner.invoke(app, [*args[:3], str(tmp_path / "e"), *args[4:], "--z-range", "5", "2"])
    assert isinstance(bad.exception, InputError) and "z_range" in str(bad.exception)
    assert runner.invoke(app, [*args[:3], str(tmp_path / "f"), *args[4:], "--edge-signal-fraction", "2"]).exit_code == 2
