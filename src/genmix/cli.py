"""The ``genmix`` command line. Heavy imports happen inside the command that needs them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _data_args(p, spec_required=True):
    if spec_required:
        p.add_argument("--data", required=True, help="dataset spec, e.g. medmnist:breastmnist, simulated:fll")
    p.add_argument("--data-root", default=None, help="folder of MedMNIST files (default: $GENMIX_DATA_ROOT)")
    p.add_argument("--image-size", type=int, default=None, help="resize every image to N x N (explicit)")
    p.add_argument("--channels", type=int, default=None, help="convert images to N channels (explicit)")
    p.add_argument("--download", action="store_true", help="download missing MedMNIST files (online)")


def _load(args, spec=None):
    from .data import load_dataset

    return load_dataset(spec or args.data, args.data_root, args.image_size, args.channels,
                        download=args.download or None)


def cmd_data_info(args):
    ds = _load(args, args.spec)
    d = ds.describe()
    if args.json:
        print(json.dumps(d, indent=2))
        return
    print(f"dataset   {d['spec']}")
    print(f"image     {d['image_size']}x{d['image_size']}, {d['channels']} channel(s)")
    print(f"classes   {', '.join(f'{i}={n}' for i, n in enumerate(d['classes']))}")
    for name, s in d["splits"].items():
        counts = " / ".join(str(v) for v in s["counts"].values())
        print(f"{name:<6}    {s['n']:>6} images   per class {counts}")
    if ds.info.get("simulated"):
        print("note      SIMULATED data (project-written), not real patients")


def cmd_train_classifier(args):
    from .classify.train import PRESETS, TrainConfig, train_classifier
    from .device import choose_device

    settings = dict(PRESETS[args.preset])
    for k in ("epochs", "batch_size", "lr", "patience", "monitor", "weight_decay", "schedule"):
        if getattr(args, k) is not None:
            settings[k] = getattr(args, k)
    aug_opts = {k: v for k, v in dict(alpha=args.alpha, ratio=args.ratio, synthetic=args.synthetic,
                                      per_sample=args.per_sample, jsd=args.jsd,
                                      epoch=args.genmix_epoch).items() if v is not None}
    cfg = TrainConfig(data=args.data, model=args.model, augment=args.augment, augment_opts=aug_opts,
                      seed=args.seed, pretrained=args.pretrained or False, image_size=args.image_size,
                      channels=args.channels, **settings).validate()
    ds = _load(args)  # all input is checked before anything is written
    from .augment import create_augmentation

    create_augmentation(cfg.augment, **cfg.augment_opts)
    m = train_classifier(ds, cfg, args.out, choose_device(args.device), progress=not args.quiet)
    print(json.dumps({k: m[k] for k in ("split", "accuracy", "f1_macro", "balanced_accuracy", "auc_macro")}))


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
    m = evaluate_model(model, ds, args.split, device, run)
    name = "metrics.json" if args.split == "test" else f"metrics_{args.split}.json"
    (run / name).write_text(json.dumps(m, indent=2))
    print(json.dumps({k: m[k] for k in ("split", "accuracy", "f1_macro", "balanced_accuracy", "auc_macro")}))


def cmd_train_generator(args):
    from .device import choose_device
    from .generate.base import resolve_config
    from .generate.fit import train_generator

    overrides = dict(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    for kv in args.set or []:
        if "=" not in kv:
            from .errors import GenmixError

            raise GenmixError(f"--set expects KEY=VALUE, got '{kv}'")
        k, v = kv.split("=", 1)
        import yaml

        overrides[k.replace("-", "_")] = yaml.safe_load(v)
    cfg = resolve_config(args.generator, args.preset, overrides)
    ds = _load(args)
    from .generate.base import build_generator

    build_generator(args.generator, cfg, ds.num_classes, ds.channels, ds.image_size)  # validate before writing
    train_generator(ds, args.generator, cfg, args.out, choose_device(args.device), progress=not args.quiet)
    print(f"generator written to {args.out}")


def cmd_synthesize(args):
    from .device import choose_device
    from .generate.synthesize import synthesize

    per_class = [int(v) for v in args.per_class.split(",")] if args.per_class else None
    kw = {}
    if args.sampler:
        kw["sampler"] = args.sampler
    if args.sampling_steps:
        kw["steps"] = args.sampling_steps
    if args.guidance_scale is not None:
        kw["guidance_scale"] = args.guidance_scale
    if args.truncation is not None:
        kw["truncation"] = args.truncation
    info = synthesize(args.gen_dir, args.out, ratio=args.ratio, per_class=per_class, balance=args.balance,
                      seed=args.seed, device=choose_device(args.device), progress=not args.quiet,
                      sample_kwargs=kw or None)
    print(json.dumps({"out": args.out, "counts": dict(zip(info["class_names"], info["counts"]))}))


def cmd_run(args):
    from .experiment.config import load_config
    from .experiment.report import report
    from .experiment.run import run_experiment

    cfg = load_config(args.config)
    if args.data_root:
        cfg["data_root"] = args.data_root
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    run_experiment(cfg, args.out, seeds=seeds, workers=args.workers, progress=not args.quiet)
    report(args.out, figures=not args.no_figures)
    print((Path(args.out) / "table.md").read_text())


def cmd_report(args):
    from .experiment.report import report

    report(args.exp_dir, figures=not args.no_figures)
    print((Path(args.exp_dir) / "table.md").read_text())


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

    p = argparse.ArgumentParser(prog="genmix", description=__doc__)
    p.add_argument("--version", action="version", version=f"genmix {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    q = sub.add_parser("data-info", help="split sizes, class names and counts of a dataset spec")
    q.add_argument("spec")
    q.add_argument("--json", action="store_true")
    _data_args(q, spec_required=False)
    q.set_defaults(func=cmd_data_info)

    q = sub.add_parser("train-classifier", help="train and evaluate one classifier")
    _data_args(q)
    q.add_argument("--augment", default="none", help="none|mixup|cutmix|augmix|synthetic|genmix")
    q.add_argument("--model", default="resnet18", help="vgg16|resnet18|resnet18-cifar|smallcnn")
    q.add_argument("--preset", default="paper", choices=["paper", "quick"])
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", required=True)
    q.add_argument("--epochs", type=int)
    q.add_argument("--patience", type=int)
    q.add_argument("--batch-size", type=int)
    q.add_argument("--lr", type=float)
    q.add_argument("--weight-decay", type=float)
    q.add_argument("--schedule", choices=["constant", "cosine"], help="learning-rate schedule (per batch)")
    q.add_argument("--monitor", choices=["f1_macro", "loss"])
    q.add_argument("--pretrained", nargs="?", const=True, default=None,
                   help="ImageNet weights from the torch cache, or from FILE")
    q.add_argument("--alpha", type=float, help="mixup/cutmix Beta(a,a) or genmix Beta(a,1) parameter")
    q.add_argument("--synthetic", help="SYNTH_DIR written by genmix synthesize (synthetic, genmix)")
    q.add_argument("--ratio", type=float, help="synthetic / (real + synthetic), per class")
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
    q.add_argument("--seeds", help="comma-separated seeds (default: the config's)")
    q.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    q.add_argument("--data-root", default=None)
    q.add_argument("--no-figures", action="store_true")
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_run)

    q = sub.add_parser("report", help="rebuild tables and figures of an experiment from disk")
    q.add_argument("exp_dir")
    q.add_argument("--no-figures", action="store_true")
    q.set_defaults(func=cmd_report)

    q = sub.add_parser("train-generator", help="train a generative model on the training split")
    _data_args(q)
    q.add_argument("--generator", required=True, help="dcgan|ddpm|stylegan2|textual-inversion")
    q.add_argument("--out", required=True)
    q.add_argument("--preset", default="quick", help="paper|quick")
    q.add_argument("--steps", type=int)
    q.add_argument("--batch-size", type=int)
    q.add_argument("--lr", type=float)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--set", action="append", metavar="KEY=VALUE", help="any generator setting, e.g. ngf=64")
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_train_generator)

    q = sub.add_parser("synthesize", help="write synthetic images per class from a trained generator")
    q.add_argument("gen_dir")
    q.add_argument("--out", required=True)
    q.add_argument("--ratio", type=float, default=0.5, help="synthetic / (real + synthetic) per class")
    q.add_argument("--per-class", help="explicit counts, e.g. 100,50,80")
    q.add_argument("--balance", action="store_true", help="top up minority classes to equal totals")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--sampler", choices=["ddim", "ddpm"], help="ddpm generator: sampler")
    q.add_argument("--sampling-steps", type=int, help="ddpm generator: denoising steps")
    q.add_argument("--guidance-scale", type=float, help="ddpm generator: classifier-free guidance scale")
    q.add_argument("--truncation", type=float, help="stylegan2: truncation psi")
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_synthesize)

    q = sub.add_parser("pretrain-t2i", help="pretrain a small text-to-image latent diffusion model on public data")
    q.add_argument("--data", help="corpus specs, comma-separated (default: the public MedMNIST corpus)")
    q.add_argument("--out", required=True, help="MODEL_DIR: a diffusers pipeline folder (rerun to resume)")
    q.add_argument("--exclude-target", help="drop every corpus set sharing a source with this spec")
    q.add_argument("--image-size", type=int, help="training resolution (default 32)")
    q.add_argument("--steps", type=int, help="UNet + text-encoder steps (default 3000)")
    q.add_argument("--vae-steps", type=int, help="autoencoder steps first (default 600)")
    q.add_argument("--batch-size", type=int)
    q.add_argument("--seed", type=int)
    q.add_argument("--set", action="append", metavar="KEY=VALUE", help="any setting, e.g. caption_dropout=0.1")
    q.add_argument("--data-root", default=None, help="folder of MedMNIST files (default: $GENMIX_DATA_ROOT)")
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_pretrain_t2i)
    return p


def main(argv=None) -> int:
    from .errors import GenmixError

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except GenmixError as exc:
        print(f"genmix: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genmix: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
