import contextlib

import pytest
import torch

import genmix.generate.dcgan as dcgan
import genmix.generate.stylegan2 as stylegan2
from genmix.generate import build_generator
from genmix.generate.base import frozen


def test_frozen_blocks_weight_gradients_keeps_input_gradients_and_restores_flags():
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
    m[1].bias.requires_grad_(False)  # a flag that was already off stays off
    x = torch.randn(5, 3, requires_grad=True)
    with frozen(m):
        m(x).sum().backward()
    assert all(p.grad is None for p in m.parameters())
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert [p.requires_grad for p in m.parameters()] == [True, True, True, False]
    with pytest.raises(RuntimeError), frozen(m):
        raise RuntimeError("inside")
    assert [p.requires_grad for p in m.parameters()] == [True, True, True, False]


GANS = {"stylegan2": (stylegan2, dict(z_dim=16, w_dim=16, mapping_layers=2, channel_max=32, channel_min=16,
                                      cmap_dim=16, r1_every=2, augment="ada")),
        "dcgan": (dcgan, dict(ngf=16, ndf=16, nz=16, embed_dim=8))}


def _steps(name, monkeypatch, freeze: bool, n=4, seen=None):
    module, cfg = GANS[name]
    if freeze:  # the real one, recording what it froze
        monkeypatch.setattr(module, "frozen", lambda m: (seen.append(m), frozen(m))[1])
    else:
        monkeypatch.setattr(module, "frozen", lambda m: contextlib.nullcontext())
    torch.manual_seed(0)
    m = build_generator(name, cfg, 2, 1, 28)
    m.configure_optimizers()
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(8, 1, 28, 28, generator=g), torch.arange(8) % 2
    losses = [m.training_step(x, y, g) for _ in range(n)]
    monkeypatch.undo()
    return m, losses


@pytest.mark.parametrize("name", sorted(GANS))
def test_generator_step_with_d_frozen_is_bit_identical(name, monkeypatch):
    seen = []
    (m, loss_a), (ref, loss_b) = _steps(name, monkeypatch, True, seen=seen), _steps(name, monkeypatch, False)
    discriminators = [m.D] if name == "stylegan2" else list(m.D)
    assert len(seen) == 4 * len(discriminators) and all(any(d is D for D in discriminators) for d in seen)
    sd_a, sd_b = m.state_dict(), ref.state_dict()
    assert sd_a.keys() == sd_b.keys()
    assert all(torch.equal(sd_a[k], sd_b[k]) for k in sd_a)
    assert all(torch.equal(a[k], b[k]) for a, b in zip(loss_a, loss_b) for k in a)
