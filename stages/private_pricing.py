"""Stage ``private_pricing``: economics per GPU class and the recommended vendor."""

from __future__ import annotations

from d3.catalog import operator_dump
from d3.core.runner import StageIO
from d3.core.variables import grid_size
from d3.io.writers import fmt_float, write_csv, write_json
from d3.pipelines.common.reference import reference_operator
from d3.pipelines.private.pricing import class_economics, grid_class_margins, vendor_scores
from d3.pipelines.private.tables import (
    ECONOMICS_COLUMNS,
    VENDOR_COLUMNS,
    class_summary,
    economics_row,
)


def run(io: StageIO) -> None:
    doc = io.load("private_offers")
    offers = list(doc.offers)
    private = reference_operator("private_tap", operator_dump(io.load("operator_private_tap")),
                                 io.load("variables"))
    pricing = private.pricing_policy.private_tap
    weights = pricing.vendor_weights.model_dump()  # allocations are normalised already
    economics, vendors, summary = [], [], {}
    for gpu in sorted(doc.medians):
        e = class_economics(offers, gpu, pricing, weights)
        best = vendor_scores(offers, gpu, weights)[0]
        economics.append(economics_row(e, sum(o.gpu == gpu for o in offers)))
        vendors.append([gpu, best.provider, fmt_float(best.usd_hr, 6), fmt_float(best.eur_hr, 6),
                        fmt_float(best.score, 6)])
        summary[gpu] = class_summary(e)
    write_csv(io.out("private_economics"), ECONOMICS_COLUMNS, economics)
    write_csv(io.out("private_vendor_recommendation"), VENDOR_COLUMNS, vendors)
    variables = io.load("variables")
    margins = grid_class_margins(offers, operator_dump(io.load("operator_private_tap")),
                                 variables, range(grid_size(variables)))
    write_json(io.out("private_pricing"), {
        "classes": summary, "vendor_weights": weights,
        "grid_margins": {str(g): {gpu: {"margin_vendor_pct": v, "margin_pct_vs_median": m}
                                  for gpu, (v, m) in classes.items()}
                         for g, classes in margins.items()}})


def main() -> None:
    from d3.cli import stage_main

    stage_main("private_pricing")


if __name__ == "__main__":
    main()
