"""Audit of a synthetic image set against the real data it imitates (``genmix audit``).

Per class and overall, on domain features (:mod:`.features`; the encoder used is recorded in
``audit.json``):

- Fréchet distance and KID (torchmetrics; :mod:`.fidelity`);
- precision, recall, density, coverage (Naeem et al. 2020, the ``prdc`` package; :mod:`.prdc`);
- GAN-test and GAN-train class fidelity (Shmelkov et al. 2018; :mod:`.class_fidelity`);
- memorisation: nearest-neighbour distances to the training split, near-copies by the calibrated
  distance of Carlini et al. 2023 (:mod:`.memorisation`).

Reference and floors. Realism is measured against the real *test* split (reporting only; nothing
is chosen on it). The floor is the same metric of *real images the feature encoder never saw*
against the same reference: the validation split when the encoder was trained on the training
split (the default), the training split when the features come from a file (a backbone
pretrained elsewhere). Per class c, the synthetic set is drawn down (seeded) to
n_c = min(synthetic_c, train_c, samples_per_class) images for class fidelity and memorisation,
and realism (FD, KID, PRDC) compares m_c = min(n_c, floor_c) of them with m_c floor images, so
value and floor have the same size (FD is biased by sample size). A class with no synthetic image
keeps its real floor images, so the overall floor covers every class. A value "at the floor"
means "as close to held-out real data as unseen real data of the same size is".
GAN-test's floor is the real-train classifier on the test split; GAN-train's floor is a
classifier trained on n_c real training images per class, on the validation split. Overall class
fidelity is the mean over classes (balanced accuracy), for the value and its floor alike, over the
classes the synthetic set has (GAN-test) or the validation split has (GAN-train).

Near-copies: calibrated pixel distance and feature distance to the nearest training image both at
or below their 1st percentile over the *validation* split (:mod:`.memorisation`); the held-out
baseline rate is measured on the test split at those thresholds (about 1 % in expectation).

Outputs in AUDIT_DIR: ``audit.json`` (everything, with the encoder and thresholds),
``audit.csv`` (one row per class + ``overall``), ``worst_pairs.png``, and the cached classifiers
(``classifiers/real-train-*``: GAN-test and default features; ``synthetic-train-*``: GAN-train;
``real-subset-train-*``: GAN-train's floor; another ``classifier_dir`` can be shared by audits).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ..errors import GenmixError

METHOD = 3  # bumped when the audit's numbers change meaning (2: floor on unseen images, size-matched;
#             3: a near-copy must be near in feature space too)
COLUMNS = ["class", "n_synthetic", "n_realism", "n_reference", "fd", "fd_floor", "kid", "kid_std", "kid_floor",
           "precision", "recall", "density", "coverage", "precision_floor", "recall_floor", "density_floor",
           "coverage_floor", "gan_test", "gan_test_floor", "gan_train", "gan_train_floor",
           "nn_pixel_median", "nn_pixel_baseline_median", "nn_feature_median", "nn_feature_baseline_median",
           "nn_calibrated_median", "nn_calibrated_baseline_median",
           "near_copies", "near_copy_fraction", "near_copy_fraction_baseline", "memorising"]


def load_synthetic_split(synth_dir, ds):
    """The images of a ``genmix synthesize`` folder, checked against the real dataset ``ds``."""
    from ..data import load_dataset

    syn = load_dataset(f"synthetic:{synth_dir}")
    if syn.class_names != ds.class_names:
        raise GenmixError(f"{synth_dir}: classes {syn.class_names} differ from {ds.spec}'s {ds.class_names}")
    split = syn["train"]
    if len(split) == 0:
        raise GenmixError(f"{synth_dir}: holds no images")
    shape, want = tuple(split.images.shape[1:]), (ds.channels, ds.image_size, ds.image_size)
    if shape != want:
        raise GenmixError(f"{synth_dir}: images are {'x'.join(map(str, shape))} but {ds.spec} is "
                          f"{'x'.join(map(str, want))}; pass --image-size/--channels to convert the real data")
    return split


def audit_synthetic(synth_dir, ds, out_dir, **kw) -> dict:
    """Audit the folder ``synth_dir`` written by ``genmix synthesize``; see :func:`audit_images`."""
    split = load_synthetic_split(synth_dir, ds)
    return audit_images(split, ds, out_dir, source=str(synth_dir), **kw)


def audit_images(syn, ds, out_dir, device="cpu", samples_per_class: int | None = None, features=None,
                 encoder_model: str = "resnet18", encoder_epochs: int = 10, classifier_dir=None, seed: int = 0,
                 source: str = "", progress: bool = False, features_model: str = "resnet18") -> dict:
    """Audit the synthetic Split ``syn`` (uint8, labels) against the real dataset ``ds``."""
    import torch

    from .class_fidelity import per_class_accuracy
    from .features import ENCODER_MODELS, extract, fit_classifier, load_backbone, predict_labels
    from .fidelity import frechet_distance, kernel_distance
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
    from .prdc import prdc

    # every input checked before anything is written
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
    k, names = ds.num_classes, ds.class_names
    backbone = None if features is None else load_backbone(features, features_model, k, ds.channels, ds.image_size,
                                                           device)  # a file that does not fit fails here
    train, val, test = ds["train"], ds["val"], ds["test"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    g, gf, gr = (torch.Generator().manual_seed(seed + i) for i in range(3))
    floor_split = val if features is None else train  # real images the encoder never saw
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
    syn_sel = syn.subset(torch.cat(pick_s))
    xs, ys = syn_sel.batch(slice(None))
    ri = torch.cat(pick_r)
    yr = ys[ri]
    xv, yv = floor_split.batch(torch.cat(pick_v))
    xtr, ytr = train.batch(slice(None))
    xte, yte = test.batch(slice(None))
    xva, yva = val.batch(slice(None))

    cache = Path(classifier_dir) if classifier_dir is not None else out / "classifiers"
    clf, clf_cfg = fit_real_classifier(ds, cache, device, encoder_model, encoder_epochs, seed, progress)
    if features is None:
        net = clf
        encoder = {"kind": "trained", "model": encoder_model, "epochs": encoder_epochs, "seed": seed,
                   "description": f"{encoder_model} trained {encoder_epochs} epoch(s) on the real training split "
                                  f"of {ds.spec} (seed {seed}); penultimate features"}
    else:
        from ..checkpoint import file_hash

        net = backbone
        encoder = {"kind": "file", "model": features_model, "file": str(features), "sha256_16": file_hash(features),
                   "description": f"{features_model} backbone from {features}; penultimate features"}
    fs, fv, fte, ftr, fva = (extract(net, x, device) for x in (xs, xv, xte, xtr, xva))
    fr = fs[ri]

    # class fidelity; overall = mean over classes, for value and floor alike
    gan_test, _ = per_class_accuracy(predict_labels(clf, xs, device), ys, k)
    gan_test_fl, _ = per_class_accuracy(predict_labels(clf, xte, device), yte, k)
    have = [c for c in range(k) if math.isfinite(gan_test[c])]
    gan_test_all, gan_test_fl_all = balanced(gan_test, have), balanced(gan_test_fl, have)
    syn_clf, _ = fit_classifier(syn_sel, val, names, cache, device, encoder_model, encoder_epochs, seed,
                                tag="synthetic-train", progress=progress)
    gan_train, _ = per_class_accuracy(predict_labels(syn_clf, xva, device), yva, k)
    # its floor: the same kind of classifier trained on as many real training images per class
    real_clf, _ = fit_classifier(train.subset(torch.cat(pick_f)), val, names, cache, device, encoder_model,
                                 encoder_epochs, seed, tag="real-subset-train", progress=progress)
    gan_train_fl, _ = per_class_accuracy(predict_labels(real_clf, xva, device), yva, k)
    in_val = [c for c in range(k) if math.isfinite(gan_train_fl[c])]
    gan_train_all, gan_train_fl_all = balanced(gan_train, in_val), balanced(gan_train_fl, in_val)

    # memorisation: near-copy = calibrated pixel distance and feature distance both low; raw pixel distance beside
    ptr = pixel_vectors(xtr)
    d_pix, i_pix, m_pix = nearest(pixel_vectors(xs), ptr, K)
    b_pix, _, bm_pix = nearest(pixel_vectors(xte), ptr, K)
    v_pix, _, vm_pix = nearest(pixel_vectors(xva), ptr, K)
    d_feat, _, _ = nearest(fs, ftr)
    b_feat, _, _ = nearest(fte, ftr)
    v_feat, _, _ = nearest(fva, ftr)
    cal_s, cal_b = calibrated(d_pix, m_pix), calibrated(b_pix, bm_pix)
    # thresholds set on validation; the test images' rate is the held-out baseline
    thr, thr_feat = threshold(calibrated(v_pix, vm_pix)), threshold(v_feat)
    copy_s, copy_b = near_copies(cal_s, d_feat, thr, thr_feat), near_copies(cal_b, b_feat, thr, thr_feat)
    pairs = worst_pairs_png(out / "worst_pairs.png", xs, xtr, cal_s, i_pix)
    for pr in pairs:
        pr["pixel_rms"] = float(d_pix[pr["synthetic_index"]])

    def med(v):
        return float(v.median()) if len(v) else math.nan

    rows = []
    for c in [*range(k), None]:
        every = c is None
        ms = torch.ones_like(ys, dtype=torch.bool) if every else ys == c
        mr = torch.ones_like(yr, dtype=torch.bool) if every else yr == c
        mv = torch.ones_like(yv, dtype=torch.bool) if every else yv == c
        mt = torch.ones_like(yte, dtype=torch.bool) if every else yte == c
        kid, kid_std = kernel_distance(fte[mt], fr[mr], seed)
        kid_floor, _ = kernel_distance(fte[mt], fv[mv], seed)
        p, pf = prdc(fte[mt], fr[mr]), prdc(fte[mt], fv[mv])
        n_s = int(ms.sum())
        row = {"class": "overall" if every else names[c], "n_synthetic": n_s, "n_realism": int(mr.sum()),
               "n_reference": int(mt.sum()),
               "fd": frechet_distance(fte[mt], fr[mr]), "fd_floor": frechet_distance(fte[mt], fv[mv]),
               "kid": kid, "kid_std": kid_std, "kid_floor": kid_floor, **p,
               **{f"{key}_floor": v for key, v in pf.items()},
               "gan_test": gan_test_all if every else gan_test[c],
               "gan_test_floor": gan_test_fl_all if every else gan_test_fl[c],
               "gan_train": gan_train_all if every else gan_train[c],
               "gan_train_floor": gan_train_fl_all if every else gan_train_fl[c],
               "nn_pixel_median": med(d_pix[ms]), "nn_pixel_baseline_median": med(b_pix[mt]),
               "nn_feature_median": med(d_feat[ms]), "nn_feature_baseline_median": med(b_feat[mt]),
               "nn_calibrated_median": med(cal_s[ms]), "nn_calibrated_baseline_median": med(cal_b[mt]),
               "near_copies": int(copy_s[ms].sum()),
               "near_copy_fraction": float(copy_s[ms].double().mean()) if n_s else math.nan,
               "near_copy_fraction_baseline": float(copy_b[mt].double().mean()) if mt.any() else math.nan}
        row["memorising"] = bool(n_s and row["near_copy_fraction"] > FLAG_FRACTION)
        rows.append(row)

    result = {
        "source": source, "dataset": ds.spec, "reference_split": "test", "floor_split": floor_split.name,
        "floor": f"real {floor_split.name} images (unseen by the feature encoder), as many per class as the "
                 f"synthetic images they are compared with, against the same reference", "encoder": encoder,
        "real_train_classifier": clf_cfg, "seed": seed, "samples_per_class": samples_per_class,
        "memorisation": {"space": "pixels in [0,1]: RMS distance to the nearest training image (any class), "
                                  "and the encoder-feature distance to the nearest training image",
                         "near_copy_score": f"calibrated distance (Carlini et al. 2023): nearest pixel distance / "
                                            f"mean pixel distance to the {K} nearest training images",
                         "baseline": "real test -> train, the same quantities", "near_copy_threshold": thr,
                         "near_copy_feature_threshold": thr_feat,
                         "threshold_rule": f"{PERCENTILE:g}st percentile of the validation -> train calibrated pixel "
                                           "distances and of their feature distances; near-copy: both at or below "
                                           "their threshold; the baseline rate is the test images' at them",
                         "flag_fraction": FLAG_FRACTION, "worst_pairs": pairs},
        "rows": rows,
    }
    write_json(out / "audit.json", result)
    _write_csv(out / "audit.csv", rows)
    return result


def fit_real_classifier(ds, classifier_dir, device="cpu", encoder_model: str = "resnet18", encoder_epochs: int = 10,
                        seed: int = 0, progress: bool = False):
    """The real-train classifier every audit of ``ds`` uses (GAN-test, and the default features), trained
    once into ``classifier_dir`` and loaded from there by the audits that share it."""
    from .features import fit_classifier

    return fit_classifier(ds["train"], ds["test"], ds.class_names, classifier_dir, device, encoder_model,
                          encoder_epochs, seed, tag=f"real-train:{ds.spec}", progress=progress)


def balanced(per_class: list[float], classes: list[int]) -> float:
    """Mean of the per-class accuracies over ``classes`` (nan when none)."""
    return sum(per_class[c] for c in classes) / len(classes) if classes else math.nan


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def write_json(path: Path, obj):
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_clean(obj), indent=2))
    tmp.replace(path)


def _write_csv(path: Path, rows: list[dict], extra: dict | None = None):
    tmp = path.with_suffix(".csv.tmp")
    cols = [*(extra or {}), *COLUMNS]
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({**(extra or {}), **{k: _fmt(r[k]) for k in COLUMNS}})
    tmp.replace(path)


def _fmt(v):
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.6g}"
    return v


def format_text(result: dict) -> str:
    """A short plain-text summary (value [floor]) for the terminal."""
    lines = [f"encoder: {result['encoder']['description']}",
             f"reference: real {result['reference_split']} split; floor in brackets = {result['floor']}",
             "near-copy thresholds (calibrated pixel distance, feature distance): "
             f"{result['memorisation']['near_copy_threshold']:.4g}, "
             f"{result['memorisation']['near_copy_feature_threshold']:.4g}", "",
             f"{'class':<14}{'n':>5} {'FD [floor]':>18} {'KID [floor]':>18} {'prec':>6} {'rec':>6} {'dens':>6} "
             f"{'cov':>6} {'GAN-test [fl]':>14} {'GAN-train [fl]':>15} {'copies':>7}"]

    def f(v, w=".3g"):
        return "nan" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, w)

    for r in result["rows"]:
        lines.append(f"{r['class'][:13]:<14}{r['n_synthetic']:>5} {f(r['fd']) + ' [' + f(r['fd_floor']) + ']':>18} "
                     f"{f(r['kid']) + ' [' + f(r['kid_floor']) + ']':>18} {f(r['precision'], '.2f'):>6} "
                     f"{f(r['recall'], '.2f'):>6} {f(r['density'], '.2f'):>6} {f(r['coverage'], '.2f'):>6} "
                     f"{f(r['gan_test'], '.2f') + ' [' + f(r['gan_test_floor'], '.2f') + ']':>14} "
                     f"{f(r['gan_train'], '.2f') + ' [' + f(r['gan_train_floor'], '.2f') + ']':>15} "
                     f"{r['near_copies']:>7}{'  MEMORISING' if r['memorising'] else ''}")
    return "\n".join(lines)
