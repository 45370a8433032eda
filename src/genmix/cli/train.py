"""Single-model commands: train-classifier, evaluate, train-generator, synthesize."""

from __future__ import annotations

import json
from pathlib import Path

from .args import (
    FLOAT,
    NONNEG_FLOAT,
    NONNEG_INT,
    POS_FLOAT,
    POS_INT,
    RATIO,
    data_args,
    int_list,
    load,
    parse_set,
    resumable,
)


def cmd_train_classifier(args):
    from ..classify.train import PRESETS, TrainConfig, train_classifier
    from ..device import choose_device

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
    from ..io import check_output_dir

    check_output_dir(args.out)
    ds = load(args)  # all input is checked before anything is written
    from ..augment import create_augmentation

    create_augmentation(cfg.augment, **cfg.augment_opts)
    device = choose_device(args.device)
    m = resumable(args.out, "metrics.json", lambda d: train_classifier(ds, cfg, d, device, progress=not args.quiet,
                                                                      precision=args.precision))
    print(json.dumps({k: m[k] for k in ("split", "accuracy", "f1_macro", "balanced_accuracy", "auc_macro")}))


def cmd_evaluate(args):

    from ..classify.train import evaluate_model, load_model
    from ..device import choose_device
    from ..errors import GenmixError

    run = Path(args.run_dir)
    if not (run / "model.safetensors").is_file():
        raise GenmixError(f"{run / 'model.safetensors'}: not found (is {run} a finished train-classifier run?)")
    device = choose_device(args.device)
    model, cfg = load_model(run, device)
    from ..data import load_dataset

    ds = load_dataset(cfg.data, args.data_root, cfg.image_size, cfg.channels)
    import shutil
    import tempfile

    from ..io import os_error, write_text

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
    from ..device import choose_device
    from ..generate import resolve_config
    from ..generate.fit import train_generator

    overrides = dict(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    parse_set(args.set, overrides)
    cfg = resolve_config(args.generator, args.preset, overrides, where=f"--generator {args.generator}")
    from ..io import check_output_dir

    check_output_dir(args.out)
    ds = load(args)
    from ..generate import build_generator

    build_generator(args.generator, cfg, ds.num_classes, ds.channels, ds.image_size)  # validate before writing
    device = choose_device(args.device)
    resumable(args.out, "model.safetensors",
               lambda d: train_generator(ds, args.generator, cfg, d, device, progress=not args.quiet,
                                         precision=args.precision))
    print(f"generator written to {args.out}")


def cmd_synthesize(args):
    from ..device import choose_device
    from ..generate.synthesize import synthesize

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

    from ..errors import GenmixError
    from ..io import check_output_dir, first_missing, partial_path

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


def add_commands(sub):
    add_train_classifier(sub)
    add_evaluate(sub)
    add_train_generator(sub)
    add_synthesize(sub)


def add_train_classifier(sub):
    q = sub.add_parser("train-classifier", help="train and evaluate one classifier")
    data_args(q)
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
    q.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default=None,
                   help="auto (default): fp32 on the CPU, bf16 autocast on a GPU that has it, else fp16")
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_train_classifier)


def add_evaluate(sub):
    q = sub.add_parser("evaluate", help="recompute metrics of a finished run on a split")
    q.add_argument("run_dir")
    q.add_argument("--split", default="test", choices=["val", "test", "train"])
    q.add_argument("--data-root", default=None)
    q.add_argument("--device", default=None)
    q.set_defaults(func=cmd_evaluate)


def add_train_generator(sub):
    q = sub.add_parser("train-generator", help="train a generative model on the training split")
    data_args(q)
    q.add_argument("--generator", required=True, help="dcgan|ddpm|stylegan2|textual-inversion")
    q.add_argument("--out", required=True)
    q.add_argument("--preset", default="quick", help="paper|quick")
    q.add_argument("--steps", type=POS_INT)
    q.add_argument("--batch-size", type=POS_INT)
    q.add_argument("--lr", type=POS_FLOAT)
    q.add_argument("--seed", type=NONNEG_INT, default=0)
    q.add_argument("--set", action="append", metavar="KEY=VALUE", help="any generator setting, e.g. ngf=64")
    q.add_argument("--device", default=None)
    q.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default=None,
                   help="auto (default): fp32 on the CPU, bf16 autocast on a GPU that has it, else fp16")
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_train_generator)


def add_synthesize(sub):
    q = sub.add_parser("synthesize", help="write synthetic images per class from a trained generator")
    q.add_argument("gen_dir")
    q.add_argument("--out", required=True)
    q.add_argument("--ratio", type=RATIO, default=0.5, help="synthetic / (real + synthetic) per class")
    q.add_argument("--per-class", type=int_list(0), help="explicit counts, e.g. 100,50,80")
    q.add_argument("--balance", action="store_true", help="top up minority classes to equal totals")
    q.add_argument("--seed", type=NONNEG_INT, default=0)
    q.add_argument("--sampler", choices=["ddim", "ddpm"], help="ddpm generator: sampler")
    q.add_argument("--sampling-steps", type=POS_INT, help="ddpm generator: denoising steps")
    q.add_argument("--guidance-scale", type=NONNEG_FLOAT, help="ddpm generator: classifier-free guidance scale")
    q.add_argument("--truncation", type=FLOAT, help="stylegan2: truncation psi")
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_synthesize)

