"""Is a `genmix pretrain-t2i` model conditional? A classifier trained on the corpus' real training
images (one class per caption, class-balanced draws) labels images the model generates for each
caption; per-caption accuracy well above chance (1 / #captions) means the caption steers the image.
The same classifier's accuracy on the corpus' real TEST images is the reference.

    python benchmarks/pretrain/t2i_conditionality.py models/t2i-breastmnist [--per-caption 32]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import save  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--per-caption", type=int, default=32)
    ap.add_argument("--clf-steps", type=int, default=1500)
    ap.add_argument("--sample-steps", type=int, default=25)
    ap.add_argument("--guidance", default="3.0", help="classifier-free guidance scale(s), comma-separated")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from diffusers import DiffusionPipeline

    from genmix.classify.models import create_model
    from genmix.pretrain.t2i import METADATA, generate, load_corpus

    meta = json.loads((Path(a.model_dir) / METADATA).read_text())
    size, caps = meta["config"]["image_size"], meta["captions"]
    k = len(caps)
    t0 = time.perf_counter()
    xtr, ytr, _, c2 = load_corpus(meta["corpus"], size, split="train")
    xte, yte, _, _ = load_corpus(meta["corpus"], size, split="test")
    assert c2 == caps
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    clf = create_model("smallcnn", k, 3, size)
    opt = torch.optim.Adam(clf.parameters(), lr=1e-3)
    w = 1.0 / torch.bincount(ytr, minlength=k).double()[ytr]  # every caption equally likely
    clf.train()
    for _step in range(a.clf_steps):
        idx = torch.multinomial(w, 64, replacement=True, generator=g)
        loss = F.cross_entropy(clf(xtr[idx].float() / 255), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    t_clf = time.perf_counter() - t0
    clf.eval()

    @torch.no_grad()
    def predict(x):
        return torch.cat([clf(x[i:i + 256]).argmax(1) for i in range(0, len(x), 256)])

    real_pred = predict(xte.float() / 255)
    mod = [c.split(", ")[0] for c in caps]  # the modality part of each caption
    real_rows = [{"caption": caps[c], "real_test_acc": round(float((real_pred[yte == c] == c).float().mean()), 3),
                  "real_test_n": int((yte == c).sum())} for c in range(k)]
    pipe = DiffusionPipeline.from_pretrained(a.model_dir)
    pipe.set_progress_bar_config(disable=True)
    prompts = [c for c in caps for _ in range(a.per_caption)]
    gy = torch.arange(k).repeat_interleave(a.per_caption)
    by_guidance = {}
    for gs in [float(v) for v in a.guidance.split(",")]:
        t1 = time.perf_counter()
        gen = generate(pipe, prompts, seed=0, steps=a.sample_steps, guidance_scale=gs)
        t_gen = time.perf_counter() - t1
        gen_pred = predict(gen)
        rows = []
        for c in range(k):
            p = gen_pred[gy == c]
            rows.append({"caption": caps[c], "generated_acc": round(float((p == c).float().mean()), 3),
                         "generated_modality_acc": round(sum(mod[int(q)] == mod[c] for q in p) / len(p), 3)})
        by_guidance[str(gs)] = {
            "generated_acc_mean": round(sum(r["generated_acc"] for r in rows) / k, 3),
            "generated_modality_acc_mean": round(sum(r["generated_modality_acc"] for r in rows) / k, 3),
            "captions_above_chance": sum(r["generated_acc"] > 1 / k for r in rows),
            "generation_s": round(t_gen, 1), "rows": rows}
    res = {"model_dir": a.model_dir, "corpus": meta["corpus"], "excluded": meta["excluded"], "captions": k,
           "chance": round(1 / k, 3), "per_caption": a.per_caption, "sample_steps": a.sample_steps,
           "classifier": f"smallcnn, {a.clf_steps} steps x 64, class-balanced", "classifier_s": round(t_clf, 1),
           "real_test_acc_mean": round(sum(r["real_test_acc"] for r in real_rows) / k, 3),
           "real_rows": real_rows, "guidance": by_guidance}
    save(a.name or f"t2i_conditionality_{Path(a.model_dir).name}", res)


if __name__ == "__main__":
    main()
