"""Experiment commands: run, report, meta, audit."""

from __future__ import annotations

from pathlib import Path

from .args import NONNEG_INT, POS_INT, data_args, int_list, load


def cmd_run(args):
    from ..experiment.config import load_config
    from ..experiment.report import report
    from ..experiment.run import run_experiment
    from ..io import check_output_dir

    cfg = load_config(args.config)
    check_output_dir(args.out)
    if args.data is not None:  # the same experiment on other data (e.g. configs/own-data.yaml on your folder or CSV)
        cfg["data"] = args.data
    if args.data_root:
        cfg["data_root"] = args.data_root
    kw = dict(workers=args.workers, backend=args.backend, address=args.address, schedule=args.schedule,
              cpus_per_unit=args.cpus_per_unit, device=args.device, precision=args.precision,
              units_per_gpu=args.units_per_gpu, reuse=args.reuse or ())
    if cfg.get("replicates") and args.seeds is None:  # adaptive: looks until every verdict is decided
        from ..experiment.adaptive import run_adaptive

        run_adaptive(cfg, args.out, run_experiment, progress=not args.quiet, **kw)
    else:
        run_experiment(cfg, args.out, seeds=args.seeds, progress=not args.quiet, **kw)
    report(args.out, figures=not args.no_figures, html=True)
    print((Path(args.out) / "table.md").read_text())


def cmd_report(args):
    from ..errors import GenmixError
    from ..experiment.report import report

    if not Path(args.exp_dir).is_dir():
        raise GenmixError(f"{args.exp_dir}: not an experiment folder (not a folder)")
    report(args.exp_dir, figures=not args.no_figures, html=args.html)
    print((Path(args.exp_dir) / "table.md").read_text())
    if args.html:
        print(f"HTML report written to {Path(args.exp_dir) / 'report.html'}")


def cmd_meta(args):
    from ..experiment.meta import meta

    result = meta(args.runs, args.out)
    print((Path(args.out) / "meta.md").read_text())
    print(f"pooled {len(result['comparisons'])} comparisons; HTML page {Path(args.out) / 'meta.html'}")


def cmd_audit(args):
    from ..audit import audit_synthetic, format_text, load_synthetic_split
    from ..device import choose_device

    ds = load(args)
    load_synthetic_split(args.synth_dir, ds)  # a bad folder is a clear error before anything is written
    out = args.out or str(Path(args.synth_dir).with_name(Path(args.synth_dir).name + "-audit"))
    result = audit_synthetic(args.synth_dir, ds, out, device=choose_device(args.device),
                             samples_per_class=args.samples_per_class, features=args.features,
                             encoder_model=args.encoder_model, encoder_epochs=args.encoder_epochs, seed=args.seed,
                             progress=not args.quiet, features_model=args.features_model)
    print(format_text(result))
    print(f"audit written to {out}")


def add_commands(sub):
    add_run(sub)
    add_report_meta_audit(sub)


def add_run(sub):
    q = sub.add_parser("run", help="run an experiment config: generators, syntheses, all rows, tables, figures")
    q.add_argument("config")
    q.add_argument("--out", required=True, help="EXP_DIR (finished units there are reused)")
    q.add_argument("--reuse", action="append", metavar="OTHER_EXP",
                   help="also reuse OTHER_EXP's finished units with the same content (linked, not rerun); repeatable")
    q.add_argument("--seeds", type=int_list(0, unique=True), help="comma-separated seeds (default: the config's)")
    q.add_argument("--workers", type=POS_INT, default=1, help="parallel worker processes")
    q.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local worker processes (default) or a Ray cluster (pip install 'genmix[ray]')")
    q.add_argument("--address", help="ray: cluster address, 'auto' or HOST:PORT (default: a local Ray "
                                     "running --workers units at once); see docs/cluster.md")
    q.add_argument("--cpus-per-unit", type=POS_INT, help="CPUs (torch threads) per unit (default 2, for any "
                                                     "--workers and backend: the same numbers; recorded in "
                                                     "results.csv's threads column)")
    q.add_argument("--device", default=None, help="auto (default: every visible GPU, else the CPU), cpu, cuda "
                                                  "(every GPU) or cuda:N; recorded in results.csv")
    q.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default=None,
                   help="auto (default): fp32 on the CPU, bf16 autocast on a GPU that has it, else fp16 with "
                        "gradient scaling; recorded in results.csv")
    q.add_argument("--units-per-gpu", type=POS_INT, default=1,
                   help="units sharing one GPU at once (small 28 px units leave most of a GPU idle); Ray: "
                        "each unit asks for 1/N of a GPU")
    q.add_argument("--schedule", choices=["graph", "stages"], default="graph",
                   help="graph: a unit starts when its dependencies are done (default); stages: the old "
                        "all generators, then all syntheses, then all classifiers (for comparisons)")
    q.add_argument("--data", help="dataset spec replacing the config's data: (e.g. folder:PATH, csv:FILE)")
    q.add_argument("--data-root", default=None)
    q.add_argument("--no-figures", action="store_true")
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_run)


def add_report_meta_audit(sub):
    q = sub.add_parser("report", help="rebuild tables and figures of an experiment from disk")
    q.add_argument("exp_dir")
    q.add_argument("--no-figures", action="store_true")
    q.add_argument("--html", action="store_true", help="also write EXP_DIR/report.html (one self-contained file)")
    q.set_defaults(func=cmd_report)


    q = sub.add_parser("meta", help="pool GenMix - Baseline differences of several runs (datasets): random effects")
    q.add_argument("runs", nargs="+", metavar="RUN_DIR",
                   help="experiment folders written by genmix run, or an earlier genmix meta's meta.json "
                        "(its datasets' inputs join the pool)")
    q.add_argument("--out", required=True, help="folder for meta.md/.csv/.json, forest plots and meta.html")
    q.set_defaults(func=cmd_meta)


    q = sub.add_parser("audit", help="audit a synthetic set: FD/KID, precision/recall, class fidelity, memorisation")
    q.add_argument("synth_dir", help="folder written by genmix synthesize")
    data_args(q)
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

