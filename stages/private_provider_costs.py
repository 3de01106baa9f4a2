"""Stage ``private_provider_costs``: EUR/hr per provider and GPU class, median per class."""

from __future__ import annotations

import json
from dataclasses import asdict

from d3.core.runner import StageIO
from d3.io.normalised import read_operator
from d3.io.writers import fmt_float, write_csv, write_json
from d3.pipelines.common.catalog import catalog_from_document
from d3.pipelines.private.provider_costs import gpu_classes, median_eur_hr, provider_offers
from d3.pipelines.private.tables import PROVIDER_COLUMNS


def run(io: StageIO) -> None:
    catalog = catalog_from_document(json.loads(io.dep("catalog").read_text(encoding="utf-8")))
    market = json.loads(io.dep("market").read_text(encoding="utf-8"))
    private = read_operator(io.dep("private_tap"), "private_tap")
    offers = provider_offers(catalog.offers, fx_buffer_pct=private.meta.fx_buffer_pct,
                             eur_usd_fx_rate=market["market_env"]["finance"]["eur_usd_fx_rate"][
                                 "value"])
    medians = {g: median_eur_hr(offers, g) for g in gpu_classes(offers)}
    write_csv(io.out("provider_costs"), PROVIDER_COLUMNS, [
        [o.gpu, o.provider, fmt_float(o.usd_hr, 6), fmt_float(o.eur_hr, 6),
         fmt_float(o.availability_frac, 4), fmt_float(o.reputation_frac, 4),
         fmt_float(medians[o.gpu], 6)] for o in offers])
    write_json(io.out("offers"), {"offers": [asdict(o) for o in offers], "medians": medians})


def main() -> None:
    from d3.cli import stage_main

    stage_main("private_provider_costs")


if __name__ == "__main__":
    main()
