"""Stage ``private_pricing``: economics per GPU class and the recommended vendor."""

from __future__ import annotations

import json

from d3.core.runner import StageIO
from d3.io.normalised import read_variables
from d3.io.writers import fmt_float, write_csv, write_json
from d3.pipelines.common.reference import reference_operator
from d3.pipelines.private.pricing import class_economics, vendor_scores
from d3.pipelines.private.provider_costs import ProviderOffer
from d3.pipelines.private.tables import (
    ECONOMICS_COLUMNS,
    VENDOR_COLUMNS,
    class_summary,
    economics_row,
)


def run(io: StageIO) -> None:
    doc = json.loads(io.dep("offers").read_text(encoding="utf-8"))
    offers = [ProviderOffer(**o) for o in doc["offers"]]
    private = reference_operator("private_tap",
                                 json.loads(io.dep("private_tap").read_text(encoding="utf-8")),
                                 read_variables(io.dep("variables")))
    pricing = private.pricing_policy.private_tap
    weights = pricing.vendor_weights.model_dump()  # allocations are normalised already
    economics, vendors, summary = [], [], {}
    for gpu in sorted(doc["medians"]):
        e = class_economics(offers, gpu, pricing, weights)
        best = vendor_scores(offers, gpu, weights)[0]
        economics.append(economics_row(e, sum(o.gpu == gpu for o in offers)))
        vendors.append([gpu, best.provider, fmt_float(best.usd_hr, 6), fmt_float(best.eur_hr, 6),
                        fmt_float(best.score, 6)])
        summary[gpu] = class_summary(e)
    write_csv(io.out("economics"), ECONOMICS_COLUMNS, economics)
    write_csv(io.out("vendors"), VENDOR_COLUMNS, vendors)
    write_json(io.out("summary"), {"classes": summary, "vendor_weights": weights})


def main() -> None:
    from d3.cli import stage_main

    stage_main("private_pricing")


if __name__ == "__main__":
    main()
