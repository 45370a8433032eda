"""Pretraining on the public corpus: pretrain-classifier, pretrain-ddpm, pretrain-t2i."""

from __future__ import annotations

import json

from .args import NONNEG_INT, POS_FLOAT, POS_INT, corpus_args, parse_set, specs


def cmd_pretrain_classifier(args):
    from ..device import choose_device
    from ..pretrain.classifier import pretrain_classifier

    cfg = pretrain_classifier(specs(args.data), args.out, model=args.model, exclude=args.exclude_target or [],
                              epochs=args.epochs, image_size=args.image_size, batch_size=args.batch_size,
                              lr=args.lr, seed=args.seed, data_root=args.data_root,
                              device=choose_device(args.device), max_per_dataset=args.max_per_dataset,
                              keep=args.keep, progress=not args.quiet)
    print(json.dumps({k: cfg[k] for k in ("model", "corpus", "dropped", "epochs", "final_train_loss",
                                          "final_val_acc", "chosen_epoch", "chosen_val_acc")}))


def cmd_pretrain_ddpm(args):

    from ..device import choose_device
    from ..pretrain.ddpm import pretrain_ddpm

    overrides = {k: v for k, v in dict(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed).items()
                 if v is not None}
    parse_set(args.set, overrides)
    meta = pretrain_ddpm(specs(args.data), args.out, exclude=args.exclude_target or [], image_size=args.image_size,
                         channels=args.channels, preset=args.preset, overrides=overrides, data_root=args.data_root,
                         device=choose_device(args.device), max_per_dataset=args.max_per_dataset,
                         progress=not args.quiet)
    print(json.dumps({k: meta[k] for k in ("corpus", "dropped", "steps", "final_loss")}))


def cmd_pretrain_t2i(args):
    from ..device import choose_device
    from ..pretrain.t2i import pretrain_t2i

    cfg = {k: v for k, v in dict(image_size=args.image_size, steps=args.steps, vae_steps=args.vae_steps,
                                 batch_size=args.batch_size, seed=args.seed).items() if v is not None}
    parse_set(args.set, cfg)
    corpus = [s.strip() for s in args.data.split(",") if s.strip()] if args.data else None
    meta = pretrain_t2i(corpus, args.out, cfg, exclude_target=args.exclude_target, data_root=args.data_root,
                        device=choose_device(args.device), progress=not args.quiet)
    print(json.dumps({"out": args.out, "corpus": meta["corpus"], "excluded": meta["excluded"],
                      "final_losses": meta["final_losses"]}))


def add_commands(sub):
    q = sub.add_parser("pretrain-classifier", help="pretrain a resnet18/vgg16 backbone on a public corpus")
    corpus_args(q)
    q.add_argument("--out", required=True, help="FILE.safetensors")
    q.add_argument("--model", default="resnet18", choices=["resnet18", "vgg16", "smallcnn"])
    q.add_argument("--epochs", type=POS_INT, default=5)
    q.add_argument("--image-size", type=POS_INT, default=28)
    q.add_argument("--batch-size", type=POS_INT, default=128)
    q.add_argument("--lr", type=POS_FLOAT, default=1e-3)
    q.add_argument("--max-per-dataset", type=POS_INT, help="cap each dataset's training images (seeded draw)")
    q.add_argument("--keep", choices=["last", "best"], default="last",
                   help="write the last epoch, or the epoch with the best held-out corpus accuracy")
    q.add_argument("--seed", type=NONNEG_INT, default=0)
    q.add_argument("--data-root", default=None)
    q.add_argument("--device", default=None)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_pretrain_classifier)


    q = sub.add_parser("pretrain-ddpm", help="pretrain a class-agnostic diffusion model on a public corpus")
    corpus_args(q)
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
