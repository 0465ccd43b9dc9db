import itertools
import json
from dataclasses import replace

import pytest
import torch

from hepbump.bumpnet.model import BumpNet, ModelConfig, count_parameters
from hepbump.errors import InputError

TINY = ModelConfig(channels=4, kernel_sizes=(3, 7), layers_per_stack=2, mlp_hidden=(8, 4))


def test_default_is_the_paper_architecture():
    config = ModelConfig()
    assert config.features_per_bin == 4 * 64 + 1 == 257
    net = BumpNet(config)
    assert [conv.kernel_size[0] for stack in net.stacks for conv in stack] == [3] * 4 + [9] * 4 + [15] * 4 + [25] * 4
    assert all(conv.out_channels == 64 for stack in net.stacks for conv in stack)
    assert [layer.out_channels for layer in net.mlp] == [128, 64, 32] and net.head.out_channels == 1
    assert net.mlp[0].in_channels == 257


def expected_parameters(c, kernels, layers, hidden, c_in=1):
    conv = sum(k * c * c_in + c + (layers - 1) * (k * c * c + c) for k in kernels)
    widths = (c * len(kernels) + c_in, *hidden, 1)
    return conv + sum(a * b + b for a, b in itertools.pairwise(widths))


@pytest.mark.parametrize(
    "config",
    [ModelConfig(), ModelConfig(channels=32), TINY, replace(TINY, edge_mode="replicate", edge_channel=True)],
)
def test_parameter_count(config):
    c_in = 2 if config.edge_channel else 1
    n = expected_parameters(config.channels, config.kernel_sizes, config.layers_per_stack, config.mlp_hidden, c_in)
    assert count_parameters(BumpNet(config)) == n
    if config == ModelConfig():
        assert n == 686_721


@pytest.mark.parametrize("bins", [1, 5, 30, 127, 300])
def test_any_bin_count(bins):
    torch.manual_seed(0)
    out = BumpNet(TINY)(torch.rand(3, bins) * 1e3)
    assert out.shape == (3, bins) and torch.isfinite(out).all()


def test_output_does_not_depend_on_padding_with_mask():
    torch.manual_seed(1)
    net = BumpNet(TINY).eval()
    a, b = torch.rand(1, 23) * 500, torch.rand(1, 40) * 500
    with torch.no_grad():
        alone_a, alone_b = net(a), net(b)
        batch = torch.zeros(2, 40)
        batch[0, :23], batch[1] = a[0], b[0]
        mask = torch.arange(40)[None, :] < torch.tensor([[23], [40]])
        padded = net(batch, mask)
        more = net(torch.nn.functional.pad(batch, (0, 17)), torch.nn.functional.pad(mask, (0, 17)))
    torch.testing.assert_close(padded[0, :23], alone_a[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(padded[1], alone_b[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(more[:, :40], padded, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        torch.testing.assert_close(net(b, torch.ones(1, 40, dtype=torch.bool)), alone_b)


def test_padding_without_mask_would_leak():
    """The mask is needed: zero padding alone changes the last bins (biases activate the padded region)."""
    torch.manual_seed(2)
    net = BumpNet(TINY).eval()
    x = torch.rand(1, 20) * 100
    with torch.no_grad():
        diff = (net(torch.nn.functional.pad(x, (0, 10)))[0, :20] - net(x)[0]).abs().max()
    assert diff > 0


def test_input_scaling():
    lin = BumpNet(ModelConfig(input_transform="linear", input_scale=200.0))
    log = BumpNet(ModelConfig(input_transform="log1p", input_scale=200.0))
    x = torch.tensor([[0.0, 100.0, 200.0]])
    torch.testing.assert_close(lin.scale(x), torch.tensor([[0.0, 0.5, 1.0]]))
    torch.testing.assert_close(log.scale(x)[0, [0, 2]], torch.tensor([0.0, 1.0]))
    # Anscombe: 2 sqrt(n + 3/8) (unit Poisson variance), shifted to 0 at n = 0, in units of ANSCOMBE_UNIT
    from hepbump.bumpnet.model import ANSCOMBE_UNIT

    ans = BumpNet(ModelConfig(input_transform="anscombe"))
    expected = (2 * torch.sqrt(x + 0.375) - 2 * 0.375**0.5) / ANSCOMBE_UNIT
    torch.testing.assert_close(ans.scale(x), expected)
    # a one-sigma excess is a step of ~1/ANSCOMBE_UNIT at any count: 1e4 +- 100 and 4 +- 2
    for n, dn in ((1e4, 100.0), (4.0, 2.0)):
        step = ans.scale(torch.tensor([[n + dn]])) - ans.scale(torch.tensor([[n]]))
        assert 0.8 / ANSCOMBE_UNIT < float(step) < 1.2 / ANSCOMBE_UNIT


def test_config_validation_and_round_trip():
    with pytest.raises(ValueError):
        ModelConfig(kernel_sizes=(4,))
    with pytest.raises(ValueError):
        ModelConfig(input_transform="sqrt")
    assert ModelConfig.from_dict(TINY.to_dict()) == TINY


# --- histogram edges: edge_mode and edge_channel ----------------------------------------------------------------


def _edge_test_counts() -> torch.Tensor:
    """A falling spectrum with a bump at bin 30 (deterministic: no random numbers)."""
    i = torch.arange(60, dtype=torch.float32)
    return torch.round(1e4 * torch.exp(-i / 20) + 600 * torch.exp(-0.5 * ((i - 30) / 2) ** 2))[None]


def _zero_padded_reference(net: BumpNet, counts: torch.Tensor) -> torch.Tensor:
    """The paper's forward pass written out with functional convolutions and explicit 'same' zero padding."""
    x = net.scale(counts).unsqueeze(1)
    features = []
    for k, stack in zip(net.config.kernel_sizes, net.stacks, strict=True):
        h = x
        for conv in stack:
            h = torch.relu(torch.nn.functional.conv1d(h, conv.weight, conv.bias, padding=k // 2))
        features.append(h)
    h = torch.cat([*features, x], dim=1)
    for layer in net.mlp:
        h = torch.relu(torch.nn.functional.conv1d(h, layer.weight, layer.bias))
    return torch.nn.functional.conv1d(h, net.head.weight, net.head.bias).squeeze(1)


def test_default_config_is_the_zero_padded_network():
    """With the defaults (edge_mode zeros, no edge channel) a network gives the plain zero-padded forward pass,
    alone and inside a masked batch."""
    assert ModelConfig().edge_mode == "zeros" and ModelConfig().edge_channel is False
    torch.manual_seed(3)
    net = BumpNet(ModelConfig(channels=8)).eval()
    x = _edge_test_counts()
    with torch.no_grad():
        z, ref = net(x)[0], _zero_padded_reference(net, x)[0]
        padded = torch.cat([x, torch.zeros(1, 17)], dim=1)
        mask = torch.cat([torch.ones(1, 60, dtype=torch.bool), torch.zeros(1, 17, dtype=torch.bool)], dim=1)
        z_batch = net(torch.cat([padded, padded.flip(0)]), torch.cat([mask, mask]))[0, :60]
    torch.testing.assert_close(z, ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(z_batch, ref, rtol=0, atol=1e-5)


def test_shipped_network_sees_bumps_in_the_interior_and_near_the_end():
    """The shipped weights (model card: replicate padding and the edge-distance channel) find a bump at bin 30 of
    60, and one 6 bins from the last bin (LR significance 3.0), where the same weights with zero padding see at
    most half of it."""
    shipped = BumpNet.pretrained()
    assert shipped.config.edge_mode == "replicate" and shipped.config.edge_channel is True
    zeros = BumpNet(replace(shipped.config, edge_mode="zeros")).eval()
    zeros.load_state_dict(shipped.state_dict())
    i = torch.arange(60, dtype=torch.float32)
    x = torch.round(1e4 * torch.exp(-i / 20) + 80 * torch.exp(-0.5 * (i - 54) ** 2))[None]
    with torch.no_grad():
        assert float(shipped(_edge_test_counts())[0, 28:33].max()) > 5.0
        z_rep, z_zero = float(shipped(x)[0, 53:56].max()), float(zeros(x)[0, 53:56].max())
    assert z_rep > 2.5 and z_rep > 2 * z_zero


EDGE_CONFIGS = [
    replace(TINY, edge_mode="replicate"),
    replace(TINY, edge_mode="replicate", edge_channel=True),
    replace(TINY, edge_channel=True),
]


@pytest.mark.parametrize("config", EDGE_CONFIGS, ids=["replicate", "replicate+channel", "zeros+channel"])
def test_edge_options_give_the_same_output_alone_and_in_a_padded_batch(config):
    torch.manual_seed(4)
    net = BumpNet(config).eval()
    lengths = [23, 40, 7, 1]
    rows = [torch.rand(n) * 500 + 50 for n in lengths]
    longest = max(lengths) + 9  # every row padded, none reaching the batch's end
    batch = torch.zeros(len(rows), longest)
    for i, r in enumerate(rows):
        batch[i, : r.numel()] = r
    mask = torch.arange(longest)[None, :] < torch.tensor(lengths)[:, None]
    with torch.no_grad():
        padded = net(batch, mask)
        for i, r in enumerate(rows):
            torch.testing.assert_close(padded[i, : r.numel()], net(r[None])[0], rtol=1e-5, atol=1e-6)
        # an all-True mask takes the unpadded path and gives the same numbers
        torch.testing.assert_close(net(rows[1][None], torch.ones(1, 40, dtype=torch.bool)), net(rows[1][None]))


def test_replicate_mode_differs_from_zeros_only_near_the_edges():
    torch.manual_seed(5)
    zeros = BumpNet(TINY).eval()
    rep = BumpNet(replace(TINY, edge_mode="replicate")).eval()
    rep.load_state_dict(zeros.state_dict())  # same parameters: only the padding differs
    x = torch.rand(2, 50) * 1e3 + 100
    with torch.no_grad():
        diff = (rep(x) - zeros(x)).abs()
    reach = TINY.edge_reach  # 2 layers of kernel 7: 6 bins
    assert float(diff[:, reach:-reach].max()) < 1e-5
    assert float(diff[:, :reach].max()) > 1e-4 and float(diff[:, -reach:].max()) > 1e-4


def _averaging_net(edge_mode: str) -> BumpNet:
    """One convolution (kernel 5) averaging its input, and an MLP passing that average through."""
    net = BumpNet(
        ModelConfig(
            channels=1,
            kernel_sizes=(5,),
            layers_per_stack=1,
            mlp_hidden=(1,),
            input_transform="linear",
            input_scale=100.0,
            edge_mode=edge_mode,
        )
    ).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.stacks[0][0].weight.fill_(1 / 5)
        net.mlp[0].weight[0, 0, 0] = 1.0  # feature 0: the convolution's output (feature 1: the raw input)
        net.head.weight.fill_(1.0)
    return net


def test_replicate_padding_sees_no_step_at_the_edges():
    x = torch.full((1, 12), 50.0)
    with torch.no_grad():
        rep, zero = _averaging_net("replicate")(x), _averaging_net("zeros")(x)
    torch.testing.assert_close(rep, torch.full_like(x, 0.5))  # the edges equal the interior
    torch.testing.assert_close(zero[0, [0, 1, 6, 10, 11]], torch.tensor([0.3, 0.4, 0.5, 0.4, 0.3]))
    # in a padded batch the fill is the histogram's own last bin, not the batch's last (zero) column
    batch = torch.zeros(2, 12)
    batch[0, :7], batch[1] = 50.0, torch.linspace(10.0, 60.0, 12)
    mask = torch.arange(12)[None, :] < torch.tensor([[7], [12]])
    with torch.no_grad():
        out = _averaging_net("replicate")(batch, mask)
    torch.testing.assert_close(out[0], torch.tensor([0.5] * 7 + [0.0] * 5))


def test_edge_channel_values():
    config = replace(TINY, edge_channel=True)
    assert config.edge_reach == 6 and config.features_per_bin == 4 * 2 + 2  # 2 layers of kernel 7: 2 x 3 bins
    net = BumpNet(config)
    assert all(stack[0].in_channels == 2 for stack in net.stacks) and net.mlp[0].in_channels == 10
    e = net.edge_distance(20)[0]
    assert e.shape == (20,) and float(e[0]) == float(e[-1]) == 0.0
    torch.testing.assert_close(e[:7], torch.arange(7.0) / 6)
    torch.testing.assert_close(e[-7:], torch.arange(6.0, -1.0, -1.0) / 6)
    assert torch.all(e[6:14] == 1.0)  # saturated in the interior
    rows = net.edge_distance(20, torch.tensor([20, 9, 1]))
    torch.testing.assert_close(rows[0], e)
    torch.testing.assert_close(rows[1, :9], torch.tensor([0, 1, 2, 3, 4, 3, 2, 1, 0]) / 6.0)
    assert torch.all(rows[1, 9:] == 0) and torch.all(rows[2] == 0)  # padding and a one-bin histogram: 0


def test_edge_channel_enters_the_network():
    """Shifting a constant histogram's ends changes the output only through the edge channel and padding."""
    torch.manual_seed(6)
    net = BumpNet(replace(TINY, edge_mode="replicate", edge_channel=True)).eval()
    with torch.no_grad():
        z = net(torch.full((1, 40), 300.0))[0]
    assert float((z[0] - z[20]).abs()) > 1e-5  # without the edge channel a constant input would give a constant


def test_replicate_mode_needs_right_padded_masks():
    net = BumpNet(replace(TINY, edge_mode="replicate"))
    holes = torch.tensor([[True, False, True, True]])
    with pytest.raises(InputError, match="prefix"):
        net(torch.ones(1, 4), holes)


def test_edge_options_validation_and_round_trip():
    with pytest.raises(ValueError, match="edge_mode") as info:
        ModelConfig(edge_mode="mirror")
    assert isinstance(info.value, InputError)
    with pytest.raises(ValueError, match="edge_channel"):
        ModelConfig(edge_channel="yes")
    config = replace(TINY, edge_mode="replicate", edge_channel=True)
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.to_dict()["edge_mode"] == "replicate" and config.to_dict()["edge_channel"] is True


def test_config_written_before_the_edge_options_loads_as_the_paper_network():
    old = {k: v for k, v in TINY.to_dict().items() if k not in ("edge_mode", "edge_channel")}
    config = ModelConfig.from_dict(json.loads(json.dumps(old)))
    assert config == TINY and config.edge_mode == "zeros" and config.edge_channel is False
