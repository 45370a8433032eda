"""The audit of one synthetic Split against the real dataset (see :mod:`genmix.audit` for what is measured)."""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import GenmixError
from .records import balanced, write_csv, write_json


def audit_images(syn, ds, out_dir, device="cpu", samples_per_class: int | None = None, features=None,
                 encoder_model: str = "resnet18", encoder_epochs: int = 10, classifier_dir=None, seed: int = 0,
                 source: str = "", progress: bool = False, features_model: str = "resnet18") -> dict:
    """Audit the synthetic Split ``syn`` (uint8, labels) against the real dataset ``ds``."""
    from .features import extract, load_backbone

    check_inputs(encoder_model, encoder_epochs, samples_per_class, features, features_model)
    backbone = None if features is None else load_backbone(features, features_model, ds.num_classes, ds.channels,
                                                           ds.image_size, device)  # a file that does not fit fails here
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    floor_split = ds["val"] if features is None else ds["train"]  # real images the encoder never saw
    d = draw(syn, ds["train"], floor_split, ds.num_classes, samples_per_class, seed)
    x = {"syn": d["syn"].batch(slice(None)), "floor": floor_split.batch(d["floor"]),
         **{s: ds[s].batch(slice(None)) for s in ("train", "test", "val")}}
    cache = Path(classifier_dir) if classifier_dir is not None else out / "classifiers"
    clf, clf_cfg = fit_real_classifier(ds, cache, device, encoder_model, encoder_epochs, seed, progress)
    net, encoder = encoder_of(clf, backbone, ds, features, features_model, encoder_model, encoder_epochs, seed)
    f = {k: extract(net, v[0], device) for k, v in x.items()}
    fid = class_fidelity(clf, d, x, ds, cache, device, encoder_model, encoder_epochs, seed, progress)
    mem = memorisation(x, f, out / "worst_pairs.png")
    rows = class_rows(d, x, f, fid, mem, ds.class_names, seed)
    result = {"source": source, "dataset": ds.spec, "reference_split": "test", "floor_split": floor_split.name,
              "floor": f"real {floor_split.name} images (unseen by the feature encoder), as many per class as the "
                       f"synthetic images they are compared with, against the same reference", "encoder": encoder,
              "real_train_classifier": clf_cfg, "seed": seed, "samples_per_class": samples_per_class,
              "memorisation": mem["description"], "rows": rows}
    write_json(out / "audit.json", result)
    write_csv(out / "audit.csv", rows)
    return result


def check_inputs(encoder_model, encoder_epochs, samples_per_class, features, features_model) -> None:
    """Every input checked before anything is written."""
    from .features import ENCODER_MODELS

    if encoder_model not in ENCODER_MODELS:
        raise GenmixError(f"unknown encoder model '{encoder_model}' (known: {', '.join(ENCODER_MODELS)})")
    if encoder_epochs < 1:
        raise GenmixError(f"encoder epochs must be >= 1, got {encoder_epochs}")
    if samples_per_class is not None and samples_per_class < 1:
        raise GenmixError(f"samples per class must be >= 1, got {samples_per_class}")
    if features is not None and not Path(features).is_file():
        raise GenmixError(f"{features}: features file not found")
    if features is not None and features_model not in ENCODER_MODELS:
        raise GenmixError(f"unknown features model '{features_model}' (known: {', '.join(ENCODER_MODELS)})")


def draw(syn, train, floor_split, k: int, samples_per_class: int | None, seed: int) -> dict:
    """The seeded draws, per class c: n_c synthetic images (class fidelity, memorisation), as many real training
    images (GAN-train's floor), and m_c = min(n_c, floor_c) floor images matched by the first m_c synthetic ones
    (realism). Returns the drawn synthetic Split, the realism indices into it, the train and floor indices."""
    import torch

    g, gf, gr = (torch.Generator().manual_seed(seed + i) for i in range(3))
    pick_s, pick_f, pick_r, pick_v = [], [], [], []
    start = 0
    for c in range(k):
        si = torch.nonzero(syn.labels == c).flatten()
        ti = torch.nonzero(train.labels == c).flatten()
        vi = torch.nonzero(floor_split.labels == c).flatten()
        n = min(len(si), len(ti), samples_per_class or len(si))
        m = min(n, len(vi)) if n else min(len(vi), samples_per_class or len(vi))
        pick_s.append(si[torch.randperm(len(si), generator=g)[:n]])
        pick_f.append(ti[torch.randperm(len(ti), generator=gf)[:n]])
        pick_r.append(torch.arange(start, start + min(n, m)))  # realism: the first m of this class's pick
        pick_v.append(vi[torch.randperm(len(vi), generator=gr)[:m]])
        start += n
    return {"syn": syn.subset(torch.cat(pick_s)), "realism": torch.cat(pick_r), "train": torch.cat(pick_f),
            "floor": torch.cat(pick_v)}


def fit_real_classifier(ds, classifier_dir, device="cpu", encoder_model: str = "resnet18", encoder_epochs: int = 10,
                        seed: int = 0, progress: bool = False):
    """The real-train classifier every audit of ``ds`` uses (GAN-test, and the default features), trained
    once into ``classifier_dir`` and loaded from there by the audits that share it."""
    from .features import fit_classifier

    return fit_classifier(ds["train"], ds["test"], ds.class_names, classifier_dir, device, encoder_model,
                          encoder_epochs, seed, tag=f"real-train:{ds.spec}", progress=progress)


def encoder_of(clf, backbone, ds, features, features_model, encoder_model, encoder_epochs, seed):
    """The feature network (the real-train classifier, or a backbone from a file) and its description."""
    if features is None:
        return clf, {"kind": "trained", "model": encoder_model, "epochs": encoder_epochs, "seed": seed,
                     "description": f"{encoder_model} trained {encoder_epochs} epoch(s) on the real training split "
                                    f"of {ds.spec} (seed {seed}); penultimate features"}
    from ..checkpoint import file_hash

    return backbone, {"kind": "file", "model": features_model, "file": str(features),
                      "sha256_16": file_hash(features),
                      "description": f"{features_model} backbone from {features}; penultimate features"}


def class_fidelity(clf, d, x, ds, cache, device, encoder_model, encoder_epochs, seed, progress) -> dict:
    """GAN-test (the real-train classifier on the synthetic images; floor: on the test split) and GAN-train
    (a classifier trained on the synthetic images, on validation; floor: one trained on as many real
    training images per class), per class and overall (mean over classes, for value and floor alike)."""
    from .class_fidelity import per_class_accuracy
    from .features import fit_classifier, predict_labels

    k, names = ds.num_classes, ds.class_names
    (xs, ys), (xte, yte), (xva, yva) = x["syn"], x["test"], x["val"]
    gan_test, _ = per_class_accuracy(predict_labels(clf, xs, device), ys, k)
    gan_test_fl, _ = per_class_accuracy(predict_labels(clf, xte, device), yte, k)
    have = [c for c in range(k) if math.isfinite(gan_test[c])]
    syn_clf, _ = fit_classifier(d["syn"], ds["val"], names, cache, device, encoder_model, encoder_epochs, seed,
                                tag="synthetic-train", progress=progress)
    gan_train, _ = per_class_accuracy(predict_labels(syn_clf, xva, device), yva, k)
    real_clf, _ = fit_classifier(ds["train"].subset(d["train"]), ds["val"], names, cache, device, encoder_model,
                                 encoder_epochs, seed, tag="real-subset-train", progress=progress)
    gan_train_fl, _ = per_class_accuracy(predict_labels(real_clf, xva, device), yva, k)
    in_val = [c for c in range(k) if math.isfinite(gan_train_fl[c])]
    return {"gan_test": (gan_test, balanced(gan_test, have)), "gan_test_floor": (gan_test_fl, balanced(gan_test_fl, have)),
            "gan_train": (gan_train, balanced(gan_train, in_val)),
            "gan_train_floor": (gan_train_fl, balanced(gan_train_fl, in_val))}


def memorisation(x, f, pairs_png: Path) -> dict:
    """Near-copy = calibrated pixel distance and feature distance both low (thresholds on validation; the test
    images' rate at them is the held-out baseline); raw pixel distance beside."""
    from .memorisation import (
        FLAG_FRACTION,
        PERCENTILE,
        K,
        calibrated,
        near_copies,
        nearest,
        pixel_vectors,
        threshold,
        worst_pairs_png,
    )

    xs, xtr = x["syn"][0], x["train"][0]
    ptr = pixel_vectors(xtr)
    d_pix, i_pix, m_pix = nearest(pixel_vectors(xs), ptr, K)
    b_pix, _, bm_pix = nearest(pixel_vectors(x["test"][0]), ptr, K)
    v_pix, _, vm_pix = nearest(pixel_vectors(x["val"][0]), ptr, K)
    d_feat, _, _ = nearest(f["syn"], f["train"])
    b_feat, _, _ = nearest(f["test"], f["train"])
    v_feat, _, _ = nearest(f["val"], f["train"])
    cal_s, cal_b = calibrated(d_pix, m_pix), calibrated(b_pix, bm_pix)
    thr, thr_feat = threshold(calibrated(v_pix, vm_pix)), threshold(v_feat)
    copy_s, copy_b = near_copies(cal_s, d_feat, thr, thr_feat), near_copies(cal_b, b_feat, thr, thr_feat)
    pairs = worst_pairs_png(pairs_png, xs, xtr, cal_s, i_pix)
    for pr in pairs:
        pr["pixel_rms"] = float(d_pix[pr["synthetic_index"]])
    description = {"space": "pixels in [0,1]: RMS distance to the nearest training image (any class), "
                            "and the encoder-feature distance to the nearest training image",
                   "near_copy_score": f"calibrated distance (Carlini et al. 2023): nearest pixel distance / "
                                      f"mean pixel distance to the {K} nearest training images",
                   "baseline": "real test -> train, the same quantities", "near_copy_threshold": thr,
                   "near_copy_feature_threshold": thr_feat,
                   "threshold_rule": f"{PERCENTILE:g}st percentile of the validation -> train calibrated pixel "
                                     "distances and of their feature distances; near-copy: both at or below "
                                     "their threshold; the baseline rate is the test images' at them",
                   "flag_fraction": FLAG_FRACTION, "worst_pairs": pairs}
    return {"d_pix": d_pix, "b_pix": b_pix, "d_feat": d_feat, "b_feat": b_feat, "cal_s": cal_s, "cal_b": cal_b,
            "copy_s": copy_s, "copy_b": copy_b, "flag_fraction": FLAG_FRACTION, "description": description}


def class_rows(d, x, f, fid, mem, names, seed) -> list[dict]:
    """audit.csv's rows: one per class, then ``overall``."""
    import torch

    from .fidelity import frechet_distance, kernel_distance
    from .prdc import prdc

    ys, yv, yte = x["syn"][1], x["floor"][1], x["test"][1]
    yr, fr, fv, fte = ys[d["realism"]], f["syn"][d["realism"]], f["floor"], f["test"]

    def med(v):
        return float(v.median()) if len(v) else math.nan

    def mask(y, c):
        return torch.ones_like(y, dtype=torch.bool) if c is None else y == c

    rows = []
    for c in [*range(len(names)), None]:
        ms, mr, mv, mt = mask(ys, c), mask(yr, c), mask(yv, c), mask(yte, c)
        kid, kid_std = kernel_distance(fte[mt], fr[mr], seed)
        kid_floor, _ = kernel_distance(fte[mt], fv[mv], seed)
        p, pf = prdc(fte[mt], fr[mr]), prdc(fte[mt], fv[mv])
        n_s = int(ms.sum())
        row = {"class": "overall" if c is None else names[c], "n_synthetic": n_s, "n_realism": int(mr.sum()),
               "n_reference": int(mt.sum()),
               "fd": frechet_distance(fte[mt], fr[mr]), "fd_floor": frechet_distance(fte[mt], fv[mv]),
               "kid": kid, "kid_std": kid_std, "kid_floor": kid_floor, **p,
               **{f"{key}_floor": v for key, v in pf.items()},
               **{key: overall if c is None else per[c] for key, (per, overall) in fid.items()},
               "nn_pixel_median": med(mem["d_pix"][ms]), "nn_pixel_baseline_median": med(mem["b_pix"][mt]),
               "nn_feature_median": med(mem["d_feat"][ms]), "nn_feature_baseline_median": med(mem["b_feat"][mt]),
               "nn_calibrated_median": med(mem["cal_s"][ms]), "nn_calibrated_baseline_median": med(mem["cal_b"][mt]),
               "near_copies": int(mem["copy_s"][ms].sum()),
               "near_copy_fraction": float(mem["copy_s"][ms].double().mean()) if n_s else math.nan,
               "near_copy_fraction_baseline": float(mem["copy_b"][mt].double().mean()) if mt.any() else math.nan}
        row["memorising"] = bool(n_s and row["near_copy_fraction"] > mem["flag_fraction"])
        rows.append(row)
    return rows
