import pytest
import torch

from genmix import optim


@pytest.mark.parametrize("decoupled", [False, True])
def test_fused_adam_matches_the_per_tensor_loop(decoupled, monkeypatch):
    torch.manual_seed(0)
    ref = [torch.randn(7, 5, requires_grad=True), torch.randn(3, requires_grad=True)]
    fused = [p.detach().clone().requires_grad_() for p in ref]
    kw = dict(lr=1e-2, betas=(0.5, 0.99), weight_decay=0.1)
    a = optim.adam(fused, decoupled=decoupled, **kw)
    monkeypatch.setattr(optim, "FUSED", False)
    b = optim.adam(ref, decoupled=decoupled, **kw)
    assert a.defaults["fused"] is True and not b.defaults.get("fused")
    assert isinstance(a, torch.optim.AdamW if decoupled else torch.optim.Adam)
    for _ in range(5):
        g = [torch.randn_like(p) for p in ref]
        for opt, ps in ((a, fused), (b, ref)):
            opt.zero_grad()
            for p, gi in zip(ps, g):
                p.grad = gi.clone()
            opt.step()
    assert not torch.allclose(fused[0], torch.randn(7, 5, generator=torch.Generator().manual_seed(0)))
    for p, q in zip(fused, ref):
        assert torch.allclose(p, q, atol=1e-6), (p - q).abs().max()


def test_param_groups_keep_their_own_lr():
    w = torch.zeros(2, requires_grad=True)
    opt = optim.adam([{"params": [w], "lr": 0.5}], lr=1e-3)
    assert opt.defaults["fused"] and opt.param_groups[0]["lr"] == 0.5
    w.grad = torch.ones(2)
    opt.step()
    assert torch.allclose(w, torch.full((2,), -0.5))  # Adam's first step moves by lr against the gradient's sign
