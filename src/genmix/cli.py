"""The ``genmix`` command line. Heavy imports happen inside the command that needs them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: 'genmix: error: <message>' on stderr, exit status 2."""

    def error(self, message):
        print(f"genmix: error: {' '.join(message.split())}", file=sys.stderr)
        raise SystemExit(2)


def _number(kind, lo=None, lo_open=False, hi=None, hi_open=False, what=None):
    """An argparse type: an int/float in a range; the message names the bound."""
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what or ('an integer' if kind is int else 'a number')}, "
                                             f"got '{text}'") from None
        if kind is float and v != v or v in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"must be a finite number, got '{text}'")
        bad = (lo is not None and (v <= lo if lo_open else v < lo)) or (hi is not None and (v >= hi if hi_open else v > hi))
        if bad:
            rng = (f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}" if lo is not None and hi is not None
                   else f"{'>' if lo_open else '>='} {lo}" if lo is not None else f"{'<' if hi_open else '<='} {hi}")
            raise argparse.ArgumentTypeError(f"must be {rng}, got {text}")
        return v
    return parse


def _int_list(lo=0, unique=False):
    def parse(text):
        try:
            vals = [int(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be comma-separated integers, e.g. 0,1,2, got '{text}'") from None
        if any(v < lo for v in vals):
            raise argparse.ArgumentTypeError(f"must be integers >= {lo}, got '{text}'")
        if unique and len(set(vals)) != len(vals):
            raise argparse.ArgumentTypeError(f"lists a value more than once: '{text}'")
        return vals
    return parse


POS_INT = _number(int, 1)
NONNEG_INT = _number(int, 0)
POS_FLOAT = _number(float, 0, lo_open=True)
NONNEG_FLOAT = _number(float, 0)
RATIO = _number(float, 0, hi=1, hi_open=True)
FLOAT = _number(float)


def _data_args(p, spec_required=True):
    if spec_required:
        p.add_argument("--data", required=True, help="dataset spec, e.g. medmnist:breastmnist, simulated:fll")
    p.add_argument("--data-root", default=None, help="folder of MedMNIST files (default: $GENMIX_DATA_ROOT)")
    p.add_argument("--image-size", type=POS_INT, default=None, help="resize every image to N x N (explicit)")
    p.add_argument("--channels", type=POS_INT, default=None, help="convert images to N channels (explicit)")
    p.add_argument("--download", action="store_true", help="download missing MedMNIST files (online)")


def _corpus_args(p):
    p.add_argument("--data", help="comma-separated corpus specs (default: the public MedMNIST corpus)")
    p.add_argument("--exclude-target", action="append", metavar="SPEC",
                   help="drop every corpus dataset sharing a source with SPEC (repeatable)")


def _load(args, spec=None):
    from .data import load_dataset

    return load_dataset(spec or args.data, args.data_root, args.image_size, args.channels,
                        download=args.download or None)


def cmd_data_info(args):
    ds = _load(args, args.spec)
    d = ds.describe()
    if args.manifest:
        from .data import write_split_manifest

        write_split_manifest(ds, args.manifest)
    if args.json:
        print(json.dumps(d, indent=2))
        return
    print(f"dataset   {d['spec']}")
    print(f"image     {d['image_size']}x{d['image_size']}, {d['channels']} channel(s)")
    print(f"classes   {', '.join(f'{i}={n}' for i, n in enumerate(d['classes']))}")
    for name, s in d["splits"].items():
        counts = " / ".join(str(v) for v in s["counts"].values())
        patients = f"   {s['groups']} patients" if "groups" in s else ""
        print(f"{name:<6}    {s['n']:>6} images   per class {counts}{patients}")
    if d.get("groups"):
        g = d["groups"]
        alone = f"; {g['ungrouped_images']} images outside any, each its own group" if g["ungrouped_images"] else ""
        print(f"groups    {g['n']} patients ({g['by']}){alone}; no patient in two splits")
    if d.get("repeated_rows"):
        reps = d["repeated_rows"]
        listed = ", ".join(f"{a} and {b}" for a, b in reps[:5]) + (f" and {len(reps) - 5} more" if len(reps) > 5 else "")
        print(f"note      manifest lines {listed} list the same file; each such file counted once")
    if d.get("identical_images"):
        print(f"note      {d['identical_images']} images have a byte-identical twin; twins are kept in one split")
    if ds.info.get("simulated"):
        print("note      SIMULATED data (project-written), not real patients")
    if args.manifest:
        print(f"manifest  {args.manifest} (path,label,split,group; {sum(d_['n'] for d_ in d['splits'].values())} rows)")


def cmd_train_classifier(args):
    from .classify.train import PRESETS, TrainConfig, train_classifier
    from .device import choose_device

    settings = dict(PRESETS[args.preset])
    for k in ("epochs", "batch_size", "lr", "patience", "monitor", "weight_decay", "schedule", "max_steps",
              "eval_every"):
        if getattr(args, k) is not None:
            settings[k] = getattr(args, k)
    aug_opts = {k: v for k, v in dict(alpha=args.alpha, ratio=args.ratio, synthetic=args.synthetic,
                                      per_sample=args.per_sample, jsd=args.jsd,
                                      epoch=args.genmix_epoch).items() if v is not None}
    cfg = TrainConfig(data=args.data, model=args.model, augment=args.augment, augment_opts=aug_opts,
                      seed=args.seed, pretrained=args.pretrained or False, image_size=args.image_size,
                      channels=args.channels, **settings).validate()
    from .io import check_output_dir

    check_output_dir(args.out)
    ds = _load(args)  # all input is checked before anything is written
    from .augment import create_augmentation

    create_augmentation(cfg.augment, **cfg.augment_opts)
    device = choose_device(args.device)
    m = _resumable(args.out, "metrics.json", lambda d: train_classifier(ds, cfg, d, device, progress=not args.quiet))
    print(json.dumps({k: m[k] for k in ("split", "accuracy", "f1_macro", "balanced_accuracy", "auc_macro")}))


def _resumable(out, finished_file, fn):
    """Run ``fn(folder)`` so that OUT appears only when complete (OUT.partial meanwhile; an
    interrupted run resumes from it). A finished OUT is passed as is (reused, or refused if its
    config differs); an unfinished run of an older genmix inside OUT resumes in place."""
    from .errors import GenmixError
    from .io import atomic_dir, check_output_dir

    out = check_output_dir(out)
    if out.is_dir() and any(out.iterdir()):
        if (out / finished_file).is_file() or (out / "checkpoint.safetensors").is_file():
            return fn(out)
        raise GenmixError(f"{out}: exists and holds something else; choose a new --out")
    with atomic_dir(out) as part:
        return fn(part)


def cmd_evaluate(args):
    from pathlib import Path

    from .classify.train import evaluate_model, load_model
    from .device import choose_device
    from .errors import GenmixError

    run = Path(args.run_dir)
    if not (run / "model.safetensors").is_file():
        raise GenmixError(f"{run / 'model.safetensors'}: not found (is {run} a finished train-classifier run?)")
    device = choose_device(args.device)
    model, cfg = load_model(run, device)
    from .data import load_dataset

    ds = load_dataset(cfg.data, args.data_root, cfg.image_size, cfg.channels)
    import shutil
    import tempfile

    from .io import os_error, write_text

    name = "metrics.json" if args.split == "test" else f"metrics_{args.split}.json"
    try:
        stage = Path(tempfile.mkdtemp(prefix=".evaluate-", dir=run))
    except OSError as exc:
        raise os_error(exc, run) from None
    try:
        m = evaluate_model(model, ds, args.split, device, stage)
        for f in stage.iterdir():
            f.replace(run / f.name)
        write_text(run / name, json.dumps(m, indent=2))
    except OSError as exc:
        raise os_error(exc, run) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    print(json.dumps({k: m[k] for k in ("split", "accuracy", "f1_macro", "balanced_accuracy", "auc_macro")}))


def cmd_train_generator(args):
    from .device import choose_device
    from .generate import resolve_config
    from .generate.fit import train_generator

    overrides = dict(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    for kv in args.set or []:
        if "=" not in kv:
            from .errors import GenmixError

            raise GenmixError(f"--set expects KEY=VALUE, got '{kv}'")
        k, v = kv.split("=", 1)
        import yaml

        overrides[k.replace("-", "_")] = yaml.safe_load(v)
    cfg = resolve_config(args.generator, args.preset, overrides, where=f"--generator {args.generator}")
    from .io import check_output_dir

    check_output_dir(args.out)
    ds = _load(args)
    from .generate import build_generator

    build_generator(args.generator, cfg, ds.num_classes, ds.channels, ds.image_size)  # validate before writing
    device = choose_device(args.device)
    _resumable(args.out, "model.safetensors",
               lambda d: train_generator(ds, args.generator, cfg, d, device, progress=not args.quiet))
    print(f"generator written to {args.out}")


def cmd_synthesize(args):
    from .device import choose_device
    from .generate.synthesize import synthesize

    per_class = args.per_class
    kw = {}
    if args.sampler:
        kw["sampler"] = args.sampler
    if args.sampling_steps:
        kw["steps"] = args.sampling_steps
    if args.guidance_scale is not None:
        kw["guidance_scale"] = args.guidance_scale
    if args.truncation is not None:
        kw["truncation"] = args.truncation
    import shutil

    from .errors import GenmixError
    from .io import check_output_dir, first_missing, partial_path

    out = check_output_dir(args.out)
    created = first_missing(partial_path(out))
    try:
        info = synthesize(args.gen_dir, out, ratio=args.ratio, per_class=per_class, balance=args.balance,
                          seed=args.seed, device=choose_device(args.device), progress=not args.quiet,
                          sample_kwargs=kw or None)
    except (GenmixError, OSError):
        if created is not None:  # a partial synthesis this command started
            shutil.rmtree(created, ignore_errors=True)
        raise
    print(json.dumps({"out": args.out, "counts": dict(zip(info["class_names"], info["counts"]))}))


def cmd_run(args):
    from .experiment.config import load_config
    from .experiment.report import report
    from .experiment.run import run_experiment
    from .io import check_output_dir

    cfg = load_config(args.config)
    check_output_dir(args.out)
    if args.data is not None:  # the same experiment on other data (e.g. configs/own-data.yaml on your folder or CSV)
        cfg["data"] = args.data
    if args.data_root:
        cfg["data_root"] = args.data_root
    kw = dict(workers=args.workers, backend=args.backend, address=args.address, schedule=args.schedule,
              cpus_per_unit=args.cpus_per_unit)
    if cfg.get("replicates") and args.seeds is None:  # adaptive: looks until every verdict is decided
        from .experiment.adaptive import run_adaptive

        run_adaptive(cfg, args.out, run_experiment, progress=not args.quiet, **kw)
    else:
        run_experiment(cfg, args.out, seeds=args.seeds, progress=not args.quiet, **kw)
    report(args.out, figures=not args.no_figures, html=True)
    print((Path(args.out) / "table.md").read_text())


def cmd_report(args):
    from .errors import GenmixError
    from .experiment.report import report

    if not Path(args.exp_dir).is_dir():
        raise GenmixError(f"{args.exp_dir}: not an experiment folder (not a folder)")
    report(args.exp_dir, figures=not args.no_figures, html=args.html)
    print((Path(args.exp_dir) / "table.md").read_text())
    if args.html:
        print(f"HTML report written to {Path(args.exp_dir) / 'report.html'}")


def cmd_meta(args):
    from .experiment.meta import meta

    result = meta(args.runs, args.out)
    print((Path(args.out) / "meta.md").read_text())
    print(f"pooled {len(result['comparisons'])} comparisons; HTML page {Path(args.out) / 'meta.html'}")


def cmd_audit(args):
    from .audit import audit_synthetic, format_text, load_synthetic_split
    from .device import choose_device

    ds = _load(args)
    load_synthetic_split(args.synth_dir, ds)  # a bad folder is a clear error before anything is written
    out = args.out or str(Path(args.synth_dir).with_name(Path(args.synth_dir).name + "-audit"))
    result = audit_synthetic(args.synth_dir, ds, out, device=choose_device(args.device),
                             samples_per_class=args.samples_per_class, features=args.features,
                             encoder_model=args.encoder_model, encoder_epochs=args.encoder_epochs, seed=args.seed,
                             progress=not args.quiet, features_model=args.features_model)
    print(format_text(result))
    print(f"audit written to {out}")


def _specs(value):
    from .corpus import PUBLIC_CORPUS

    return [v.strip() for v in value.split(",") if v.strip()] if value else list(PUBLIC_CORPUS)


def cmd_pretrain_classifier(args):
    from .device import choose_device
    from .pretrain.classifier import pretrain_classifier

    cfg = pretrain_classifier(_specs(args.data), args.out, model=args.model, exclude=args.exclude_target or [],
                              epochs=args.epochs, image_size=args.image_size, batch_size=args.batch_size,
                              lr=args.lr, seed=args.seed, data_root=args.data_root,
                              device=choose_device(args.device), max_per_dataset=args.max_per_dataset,
                              progress=not args.quiet)
    print(json.dumps({k: cfg[k] for k in ("model", "corpus", "dropped", "epochs", "final_train_loss",
                                          "final_val_acc")}))


def cmd_pretrain_ddpm(args):
    import yaml

    from .device import choose_device
    from .errors import GenmixError
    from .pretrain.ddpm import pretrain_ddpm

    overrides = {k: v for k, v in dict(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed).items()
                 if v is not None}
    for kv in args.set or []:
        if "=" not in kv:
            raise GenmixError(f"--set expects KEY=VALUE, got '{kv}'")
        k, v = kv.split("=", 1)
        overrides[k.replace("-", "_")] = yaml.safe_load(v)
    meta = pretrain_ddpm(_specs(args.data), args.out, exclude=args.exclude_target or [], image_size=args.image_size,
                         channels=args.channels, preset=args.preset, overrides=overrides, data_root=args.data_root,
                         device=choose_device(args.device), max_per_dataset=args.max_per_dataset,
                         progress=not args.quiet)
    print(json.dumps({k: meta[k] for k in ("corpus", "dropped", "steps", "final_loss")}))


def cmd_pretrain_t2i(args):
    from .device import choose_device
    from .pretrain.t2i import pretrain_t2i

    cfg = {k: v for k, v in dict(image_size=args.image_size, steps=args.steps, vae_steps=args.vae_steps,
                                 batch_size=args.batch_size, seed=args.seed).items() if v is not None}
    for kv in args.set or []:
        if "=" not in kv:
            from .errors import GenmixError

            raise GenmixError(f"--set expects KEY=VALUE, got '{kv}'")
        import yaml

        k, v = kv.split("=", 1)
        cfg[k.replace("-", "_")] = yaml.safe_load(v)
    specs = [s.strip() for s in args.data.split(",") if s.strip()] if args.data else None
    meta = pretrain_t2i(specs, args.out, cfg, exclude_target=args.exclude_target, data_root=args.data_root,
                        device=choose_device(args.device), progress=not args.quiet)
    print(json.dumps({"out": args.out, "corpus": meta["corpus"], "excluded": meta["excluded"],
                      "final_losses": meta["final_losses"]}))


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="genmix", description=__doc__)
    p.add_argument("--version", action="version", version=f"genmix {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    q = sub.add_parser("data-info", help="split sizes, class names and counts of a dataset spec")
    q.add_argument("spec")
    q.add_argument("--json", action="store_true")
    q.add_argument("--manifest", default=None, metavar="OUT.csv",
                   help="write the resolved split as path,label,split,group to OUT.csv")
    _data_args(q, spec_required=False)
    q.set_defaults(func=cmd_data_info)

    q = sub.add_parser("train-classifier", help="train and evaluate one classifier")
    _data_args(q)
    q.add_argument("--augment", default="none", help="none|mixup|cutmix|augmix|synthetic|genmix")
    q.add_argument("--model", default="resnet18", help="vgg16|resnet18|resnet18-cifar|smallcnn")
    q.add_argument("--preset", default="paper", choices=["paper", "quick"])
    q.add_argument("--seed", type=NONNEG_INT, default=0)
    q.add_argument("--out", required=True)
    q.add_argument("--epochs", type=POS_INT)
    q.add_argument("--patience", type=POS_INT)
    q.add_argument("--steps", type=POS_INT, dest="max_steps",
                   help="training budget in optimizer steps (default: epochs x batches per pass)")
    q.add_argument("--eval-every", type=POS_INT, help="steps between validations (default: one pass)")
    q.add_argument("--batch-size", type=POS_INT)
    q.add_argument("--lr", type=POS_FLOAT)
    q.add_argument("--weight-decay", type=NONNEG_FLOAT)
    q.add_argument("--schedule", choices=["constant", "cosine"], help="learning-rate schedule (per batch)")
    q.add_argument("--monitor", choices=["f1_macro", "loss"])
    q.add_argument("--pretrained", nargs="?", const=True, default=None,
                   help="ImageNet weights from the torch cache, or from FILE")
    q.add_argument("--alpha", type=POS_FLOAT, help="mixup/cutmix Beta(a,a) or genmix Beta(a,1) parameter")
    q.add_argument("--synthetic", help="SYNTH_DIR written by genmix synthesize (synthetic, genmix)")
    q.add_argument("--ratio", type=RATIO, help="synthetic / (real + synthetic), per class")
    q.add_argument("--per-sample", dest="per_sample", action="store_true", default=None,
                   help="draw lambda per sample (mixup; genmix does so by default)")
    q.add_argument("--per-batch", dest="per_sample", action="store_false", help="one lambda per batch")
    q.add_argument("--genmix-epoch", choices=["real", "pool"],
                   help="genmix: an epoch runs over the pool (x_S, default) or over the real images (x_R)")
    q.add_argument("--no-jsd", dest="jsd", action="store_false", default=None, help="AugMix without JSD loss")
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_train_classifier)

    q = sub.add_parser("evaluate", help="recompute metrics of a finished run on a split")
    q.add_argument("run_dir")
    q.add_argument("--split", default="test", choices=["val", "test", "train"])
    q.add_argument("--data-root", default=None)
    q.add_argument("--device", default=None)
    q.set_defaults(func=cmd_evaluate)

    q = sub.add_parser("run", help="run an experiment config: generators, syntheses, all rows, tables, figures")
    q.add_argument("config")
    q.add_argument("--out", required=True, help="EXP_DIR (finished units there are reused)")
    q.add_argument("--seeds", type=_int_list(0, unique=True), help="comma-separated seeds (default: the config's)")
    q.add_argument("--workers", type=POS_INT, default=1, help="parallel worker processes")
    q.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local worker processes (default) or a Ray cluster (pip install 'genmix[ray]')")
    q.add_argument("--address", help="ray: cluster address, 'auto' or HOST:PORT (default: a local Ray "
                                     "running --workers units at once); see docs/cluster.md")
    q.add_argument("--cpus-per-unit", type=POS_INT, help="CPUs (torch threads) per unit (default 2, for any "
                                                     "--workers and backend: the same numbers; recorded in "
                                                     "results.csv's threads column)")
    q.add_argument("--schedule", choices=["graph", "stages"], default="graph",
                   help="graph: a unit starts when its dependencies are done (default); stages: the old "
                        "all generators, then all syntheses, then all classifiers (for comparisons)")
    q.add_argument("--data", help="dataset spec replacing the config's data: (e.g. folder:PATH, csv:FILE)")
    q.add_argument("--data-root", default=None)
    q.add_argument("--no-figures", action="store_true")
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_run)

    q = sub.add_parser("report", help="rebuild tables and figures of an experiment from disk")
    q.add_argument("exp_dir")
    q.add_argument("--no-figures", action="store_true")
    q.add_argument("--html", action="store_true", help="also write EXP_DIR/report.html (one self-contained file)")
    q.set_defaults(func=cmd_report)

    q = sub.add_parser("meta", help="pool GenMix - Baseline differences of several runs (datasets): random effects")
    q.add_argument("runs", nargs="+", metavar="RUN_DIR", help="experiment folders written by genmix run")
    q.add_argument("--out", required=True, help="folder for meta.md/.csv/.json, forest plots and meta.html")
    q.set_defaults(func=cmd_meta)

    q = sub.add_parser("audit", help="audit a synthetic set: FD/KID, precision/recall, class fidelity, memorisation")
    q.add_argument("synth_dir", help="folder written by genmix synthesize")
    _data_args(q)
    q.add_argument("--out", help="AUDIT_DIR (default: SYNTH_DIR-audit)")
    q.add_argument("--samples-per-class", type=int, help="audit at most N synthetic images per class")
    q.add_argument("--features", help="backbone weights FILE for the features (as --pretrained FILE); "
                                      "default: a classifier trained on the real training split")
    q.add_argument("--features-model", default="resnet18", help="architecture of the --features FILE")
    q.add_argument("--encoder-model", default="resnet18",
                   help="classifier trained on the real (GAN-test, default features) and on the synthetic "
                        "images (GAN-train): resnet18|smallcnn|resnet18-cifar|vgg16")
    q.add_argument("--encoder-epochs", type=POS_INT, default=10, help="epochs of the audit's classifiers")
    q.add_argument("--seed", type=NONNEG_INT, default=0)
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_audit)

    q = sub.add_parser("train-generator", help="train a generative model on the training split")
    _data_args(q)
    q.add_argument("--generator", required=True, help="dcgan|ddpm|stylegan2|textual-inversion")
    q.add_argument("--out", required=True)
    q.add_argument("--preset", default="quick", help="paper|quick")
    q.add_argument("--steps", type=POS_INT)
    q.add_argument("--batch-size", type=POS_INT)
    q.add_argument("--lr", type=POS_FLOAT)
    q.add_argument("--seed", type=NONNEG_INT, default=0)
    q.add_argument("--set", action="append", metavar="KEY=VALUE", help="any generator setting, e.g. ngf=64")
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_train_generator)

    q = sub.add_parser("pretrain-classifier", help="pretrain a resnet18/vgg16 backbone on a public corpus")
    _corpus_args(q)
    q.add_argument("--out", required=True, help="FILE.safetensors")
    q.add_argument("--model", default="resnet18", choices=["resnet18", "vgg16", "smallcnn"])
    q.add_argument("--epochs", type=POS_INT, default=5)
    q.add_argument("--image-size", type=POS_INT, default=28)
    q.add_argument("--batch-size", type=POS_INT, default=128)
    q.add_argument("--lr", type=POS_FLOAT, default=1e-3)
    q.add_argument("--max-per-dataset", type=POS_INT, help="cap each dataset's training images (seeded draw)")
    q.add_argument("--seed", type=NONNEG_INT, default=0)
    q.add_argument("--data-root", default=None)
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_pretrain_classifier)

    q = sub.add_parser("pretrain-ddpm", help="pretrain a class-agnostic diffusion model on a public corpus")
    _corpus_args(q)
    q.add_argument("--out", required=True, help="MODEL_DIR (a diffusers DDPMPipeline folder + genmix.json)")
    q.add_argument("--image-size", type=POS_INT, default=28)
    q.add_argument("--channels", type=POS_INT, default=1)
    q.add_argument("--preset", default="quick", help="ddpm preset: paper|quick")
    q.add_argument("--steps", type=POS_INT)
    q.add_argument("--batch-size", type=POS_INT)
    q.add_argument("--lr", type=POS_FLOAT)
    q.add_argument("--seed", type=NONNEG_INT)
    q.add_argument("--set", action="append", metavar="KEY=VALUE", help="any ddpm setting, e.g. sampling_steps=25")
    q.add_argument("--max-per-dataset", type=POS_INT, help="cap each dataset's training images (seeded draw)")
    q.add_argument("--data-root", default=None)
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_pretrain_ddpm)

    q = sub.add_parser("synthesize", help="write synthetic images per class from a trained generator")
    q.add_argument("gen_dir")
    q.add_argument("--out", required=True)
    q.add_argument("--ratio", type=RATIO, default=0.5, help="synthetic / (real + synthetic) per class")
    q.add_argument("--per-class", type=_int_list(0), help="explicit counts, e.g. 100,50,80")
    q.add_argument("--balance", action="store_true", help="top up minority classes to equal totals")
    q.add_argument("--seed", type=NONNEG_INT, default=0)
    q.add_argument("--sampler", choices=["ddim", "ddpm"], help="ddpm generator: sampler")
    q.add_argument("--sampling-steps", type=POS_INT, help="ddpm generator: denoising steps")
    q.add_argument("--guidance-scale", type=NONNEG_FLOAT, help="ddpm generator: classifier-free guidance scale")
    q.add_argument("--truncation", type=FLOAT, help="stylegan2: truncation psi")
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_synthesize)

    q = sub.add_parser("pretrain-t2i", help="pretrain a small text-to-image latent diffusion model on public data")
    q.add_argument("--data", help="corpus specs, comma-separated (default: the public MedMNIST corpus)")
    q.add_argument("--out", required=True, help="MODEL_DIR: a diffusers pipeline folder (rerun to resume)")
    q.add_argument("--exclude-target", help="drop every corpus set sharing a source with this spec")
    q.add_argument("--image-size", type=POS_INT, help="training resolution (default 32)")
    q.add_argument("--steps", type=POS_INT, help="UNet + text-encoder steps (default 3000)")
    q.add_argument("--vae-steps", type=POS_INT, help="autoencoder steps first (default 600)")
    q.add_argument("--batch-size", type=POS_INT)
    q.add_argument("--seed", type=NONNEG_INT)
    q.add_argument("--set", action="append", metavar="KEY=VALUE", help="any setting, e.g. caption_dropout=0.1")
    q.add_argument("--data-root", default=None, help="folder of MedMNIST files (default: $GENMIX_DATA_ROOT)")
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_pretrain_t2i)
    return p


def main(argv=None) -> int:
    """Exit status: 0 done; 2 bad input or an OS error (one line on stderr: file and cause; nothing
    half-written); 130 interrupted (rerun to resume); 1 an internal error (with its traceback)."""
    from .errors import GenmixError
    from .io import os_error

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error
        return exc.code if isinstance(exc.code, int) else 2
    try:
        args.func(args)
    except (GenmixError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is None:
            raise
        msg = str(exc if isinstance(exc, GenmixError) else os_error(exc))
        print(f"genmix: error: {' '.join(msg.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genmix: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception:  # a bug in genmix, not bad input: keep the traceback for the report
        import traceback

        traceback.print_exc()
        print("genmix: internal error (a bug; please report it with the traceback above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
