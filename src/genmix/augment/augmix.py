"""AugMix (Hendrycks et al. 2020) with torchvision's AugMix operations and, optionally, the
paper's Jensen-Shannon consistency loss between the clean image and two AugMix views.

torchvision's AugMix draws from the global RNG; ``sample`` draws one seed per image from the
passed-in generator and ``apply`` replays it under a forked RNG, so runs stay reproducible.
"""

from __future__ import annotations

import torch

from .base import AugBatch, Augmentation


class AugMixAug(Augmentation):
    name = "augmix"

    def __init__(self, severity: int = 3, width: int = 3, depth: int = -1, alpha: float = 1.0,
                 jsd: bool = True, jsd_weight: float = 12.0):
        from torchvision.transforms import AugMix

        self.op = AugMix(severity=severity, mixture_width=width, chain_depth=depth, alpha=alpha)
        self.cfg = dict(severity=severity, width=width, depth=depth, alpha=alpha, jsd=jsd, jsd_weight=jsd_weight)
        self.jsd = jsd
        self.consistency_weight = jsd_weight if jsd else 0.0

    def sample(self, x, y, generator):
        n_views = 2 if self.jsd else 1
        return {"seeds": torch.randint(0, 2**62, (n_views, x.shape[0]), generator=generator)}

    def _view(self, x, seeds):
        u8 = (x.clamp(0, 1) * 255).round().byte()
        out = torch.empty_like(u8)
        with torch.random.fork_rng(devices=[]):
            for i in range(len(u8)):
                torch.manual_seed(int(seeds[i]))
                out[i] = self.op(u8[i])
        return out.float() / 255.0

    def apply(self, x, y, params):
        seeds = params["seeds"]
        if self.jsd:
            return AugBatch(x, y, views=(self._view(x, seeds[0]), self._view(x, seeds[1])))
        return AugBatch(self._view(x, seeds[0]), y)

    def describe(self):
        return {"name": self.name, **self.cfg}


def jensen_shannon(logits: list[torch.Tensor]) -> torch.Tensor:
    """The AugMix paper's JS divergence among the softmax outputs of several views."""
    import torch.nn.functional as F

    probs = [F.softmax(z, dim=1) for z in logits]
    m = torch.clamp(sum(probs) / len(probs), 1e-7, 1).log()
    return sum(F.kl_div(m, p, reduction="batchmean") for p in probs) / len(probs)
