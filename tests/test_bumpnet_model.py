import itertools

import pytest
import torch

from hepbump.bumpnet.model import BumpNet, ModelConfig, count_parameters

TINY = ModelConfig(channels=4, kernel_sizes=(3, 7), layers_per_stack=2, mlp_hidden=(8, 4))


def test_default_is_the_paper_architecture():
    config = ModelConfig()
    assert config.features_per_bin == 4 * 64 + 1 == 257
    net = BumpNet(config)
    assert [conv.kernel_size[0] for stack in net.stacks for conv in stack] == [3] * 4 + [9] * 4 + [15] * 4 + [25] * 4
    assert all(conv.out_channels == 64 for stack in net.stacks for conv in stack)
    assert [layer.out_channels for layer in net.mlp] == [128, 64, 32] and net.head.out_channels == 1
    assert net.mlp[0].in_channels == 257


def expected_parameters(c, kernels, layers, hidden):
    conv = sum(k * c + c + (layers - 1) * (k * c * c + c) for k in kernels)
    widths = (c * len(kernels) + 1, *hidden, 1)
    return conv + sum(a * b + b for a, b in itertools.pairwise(widths))


@pytest.mark.parametrize("config", [ModelConfig(), ModelConfig(channels=32), TINY])
def test_parameter_count(config):
    n = expected_parameters(config.channels, config.kernel_sizes, config.layers_per_stack, config.mlp_hidden)
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
