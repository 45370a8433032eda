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

import math

from ..errors import GenmixError
from .images import audit_images, fit_real_classifier
from .records import COLUMNS, balanced, write_csv, write_json

__all__ = ["COLUMNS", "METHOD", "audit_images", "audit_synthetic", "balanced", "fit_real_classifier",
           "format_text", "load_synthetic_split", "write_csv", "write_json"]

METHOD = 3  # bumped when the audit's numbers change meaning (2: floor on unseen images, size-matched;
#             3: a near-copy must be near in feature space too)



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
