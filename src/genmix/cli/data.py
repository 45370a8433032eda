"""genmix data-info: a dataset spec's splits, classes and patients."""

from __future__ import annotations

import json

from .args import data_args, load


def cmd_data_info(args):
    ds = load(args, args.spec)
    d = ds.describe()
    if args.manifest:
        from ..data import write_split_manifest

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


def add_commands(sub):
    q = sub.add_parser("data-info", help="split sizes, class names and counts of a dataset spec")
    q.add_argument("spec")
    q.add_argument("--json", action="store_true")
    q.add_argument("--manifest", default=None, metavar="OUT.csv",
                   help="write the resolved split as path,label,split,group to OUT.csv")
    data_args(q, spec_required=False)
    q.set_defaults(func=cmd_data_info)

