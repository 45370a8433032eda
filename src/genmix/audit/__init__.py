"""Audit of a synthetic image set against the real data it imitates (``genmix audit``).

Per class and overall, on domain features (:mod:`.features`; the encoder used is recorded in
``audit.json``):

- Fréchet distance and KID (torchmetrics; :mod:`.fidelity`);
- precision, recall, density, coverage (Naeem et al. 2020, the ``prdc`` package; :mod:`.prdc`);
- GAN-test and GAN-train class fidelity (Shmelkov et al. 2018; :mod:`.class_fidelity`);
- memorisation: nearest-neighbour distances to the training split, near-copies by the calibrated
  distance of Carlini et al. 2023 (:mod:`.memorisation`).

Reference and floors. Realism is measured against the real *test* split (reporting only; nothing
is chosen on it). Per class c, n_c = min(synthetic_c, train_c, samples_per_class) synthetic images
and, for the floor, n_c real *training* images are drawn (seeded); the floor is the same metric
of those real training images against the same reference, so a value "at the floor" means "as
close to held-out real data as real data of the same size is". GAN-test's floor is the real-train
classifier on the test split; GAN-train's floor is a classifier trained on those n_c real training
images per class, on the validation split.

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

COLUMNS = ["class", "n_synthetic", "n_reference", "fd", "fd_floor", "kid", "kid_std", "kid_floor",
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
    from .memorisation import FLAG_FRACTION, K, PERCENTILE, calibrated, nearest, pixel_vectors, threshold, \
        worst_pairs_png
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

    g, gf = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    pick_s, pick_f = [], []
    for c in range(k):
        si = torch.nonzero(syn.labels == c).flatten()
        ti = torch.nonzero(train.labels == c).flatten()
        n = min(len(si), len(ti), samples_per_class or len(si))
        pick_s.append(si[torch.randperm(len(si), generator=g)[:n]])
        pick_f.append(ti[torch.randperm(len(ti), generator=gf)[:n]])
    syn_sel = syn.subset(torch.cat(pick_s))
    xs, ys = syn_sel.batch(slice(None))
    xf, yf = train.batch(torch.cat(pick_f))
    xtr, ytr = train.batch(slice(None))
    xte, yte = test.batch(slice(None))
    xva, yva = val.batch(slice(None))

    cache = Path(classifier_dir) if classifier_dir is not None else out / "classifiers"
    clf, clf_cfg = fit_classifier(train, test, names, cache, device, encoder_model, encoder_epochs, seed,
                                  tag=f"real-train:{ds.spec}", progress=progress)
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
    fs, ff, fte, ftr = (extract(net, x, device) for x in (xs, xf, xte, xtr))

    # class fidelity
    gan_test, gan_test_all = per_class_accuracy(predict_labels(clf, xs, device), ys, k)
    gan_test_fl, gan_test_fl_all = per_class_accuracy(predict_labels(clf, xte, device), yte, k)
    syn_clf, _ = fit_classifier(syn_sel, val, names, cache, device, encoder_model, encoder_epochs, seed,
                                tag="synthetic-train", progress=progress)
    gan_train, gan_train_all = per_class_accuracy(predict_labels(syn_clf, xva, device), yva, k)
    # its floor: the same kind of classifier trained on as many real training images per class
    real_clf, _ = fit_classifier(train.subset(torch.cat(pick_f)), val, names, cache, device, encoder_model,
                                 encoder_epochs, seed, tag="real-subset-train", progress=progress)
    gan_train_fl, gan_train_fl_all = per_class_accuracy(predict_labels(real_clf, xva, device), yva, k)

    # memorisation: calibrated pixel distance is the near-copy test; raw pixel and feature distances beside it
    ptr = pixel_vectors(xtr)
    d_pix, i_pix, m_pix = nearest(pixel_vectors(xs), ptr, K)
    b_pix, _, bm_pix = nearest(pixel_vectors(xte), ptr, K)
    d_feat, _, _ = nearest(fs, ftr)
    b_feat, _, _ = nearest(fte, ftr)
    cal_s, cal_b = calibrated(d_pix, m_pix), calibrated(b_pix, bm_pix)
    thr = threshold(cal_b)
    copy_s, copy_b = cal_s <= thr, cal_b <= thr
    pairs = worst_pairs_png(out / "worst_pairs.png", xs, xtr, cal_s, i_pix)
    for pr in pairs:
        pr["pixel_rms"] = float(d_pix[pr["synthetic_index"]])

    def med(v):
        return float(v.median()) if len(v) else math.nan

    rows = []
    for c in [*range(k), None]:
        ms = ys == c if c is not None else torch.ones_like(ys, dtype=torch.bool)
        mf = yf == c if c is not None else torch.ones_like(yf, dtype=torch.bool)
        mt = yte == c if c is not None else torch.ones_like(yte, dtype=torch.bool)
        kid, kid_std = kernel_distance(fte[mt], fs[ms], seed)
        kid_floor, _ = kernel_distance(fte[mt], ff[mf], seed)
        p, pf = prdc(fte[mt], fs[ms]), prdc(fte[mt], ff[mf])
        n_s = int(ms.sum())
        row = {"class": names[c] if c is not None else "overall", "n_synthetic": n_s, "n_reference": int(mt.sum()),
               "fd": frechet_distance(fte[mt], fs[ms]), "fd_floor": frechet_distance(fte[mt], ff[mf]),
               "kid": kid, "kid_std": kid_std, "kid_floor": kid_floor, **p,
               **{f"{key}_floor": v for key, v in pf.items()},
               "gan_test": gan_test[c] if c is not None else gan_test_all,
               "gan_test_floor": gan_test_fl[c] if c is not None else gan_test_fl_all,
               "gan_train": gan_train[c] if c is not None else gan_train_all,
               "gan_train_floor": gan_train_fl[c] if c is not None else gan_train_fl_all,
               "nn_pixel_median": med(d_pix[ms]), "nn_pixel_baseline_median": med(b_pix[mt]),
               "nn_feature_median": med(d_feat[ms]), "nn_feature_baseline_median": med(b_feat[mt]),
               "nn_calibrated_median": med(cal_s[ms]), "nn_calibrated_baseline_median": med(cal_b[mt]),
               "near_copies": int(copy_s[ms].sum()),
               "near_copy_fraction": float(copy_s[ms].double().mean()) if n_s else math.nan,
               "near_copy_fraction_baseline": float(copy_b[mt].double().mean()) if mt.any() else math.nan}
        row["memorising"] = bool(n_s and row["near_copy_fraction"] > FLAG_FRACTION)
        rows.append(row)

    result = {
        "source": source, "dataset": ds.spec, "reference_split": "test", "floor": "real training images, same "
        "count per class as the synthetic ones, against the same reference", "encoder": encoder,
        "real_train_classifier": clf_cfg, "seed": seed, "samples_per_class": samples_per_class,
        "memorisation": {"space": "pixels in [0,1]: RMS distance to the nearest training image (any class); "
                                  "encoder-feature distance reported beside it",
                         "near_copy_score": f"calibrated distance (Carlini et al. 2023): nearest pixel distance / "
                                            f"mean pixel distance to the {K} nearest training images",
                         "baseline": "real test -> train, the same quantities", "near_copy_threshold": thr,
                         "threshold_rule": f"{PERCENTILE:g}st percentile of the test -> train calibrated distances; "
                                           "near-copy: calibrated distance <= threshold",
                         "flag_fraction": FLAG_FRACTION, "worst_pairs": pairs},
        "rows": rows,
    }
    write_json(out / "audit.json", result)
    _write_csv(out / "audit.csv", rows)
    return result


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
             f"near-copy threshold (calibrated pixel distance): {result['memorisation']['near_copy_threshold']:.4g}", "",
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
