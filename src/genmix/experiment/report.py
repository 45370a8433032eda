"""Tables and figures from what an experiment left on disk (``genmix report`` reruns this).

experiment.tables writes table.md / table.csv / table.tex / verdict.json (the comparisons in
experiment.compare, the verdict in experiment.verdict); experiment.figures the forest plot, Fig. 3, Fig. 4 and
the training curves; experiment.html the one-file report.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GenmixError


def report(exp_dir, figures: bool = True, html: bool = False) -> list[dict]:
    from .figures import forest, make_figures
    from .tables import build_tables

    exp = Path(exp_dir)
    if not (exp / "plan.json").is_file() or not (exp / "results.csv").is_file():
        raise GenmixError(f"{exp}: not an experiment folder (no plan.json/results.csv; run genmix run first)")
    table = build_tables(exp)
    if (exp / "audit.md").is_file():  # the synthetic-data audit (genmix.audit.experiment) next to Table 1
        with open(exp / "table.md", "a") as f:
            f.write("\n" + (exp / "audit.md").read_text())
    if figures or html:  # the forest plot opens report.html: drawn whenever the report is
        forest(table, exp / "figures" / "forest_f1.png")
    if figures:
        make_figures(exp)
    if html:
        from .html import write_html

        write_html(exp)
    return table
