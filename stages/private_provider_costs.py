"""Stage ``private_provider_costs``: EUR/hr per provider and GPU class, median per class."""

from __future__ import annotations

from dataclasses import asdict

from d3.core.runner import StageIO
from d3.io.writers import fmt_float, write_csv, write_json
from d3.pipelines.private.provider_costs import gpu_classes, median_eur_hr, provider_offers
from d3.pipelines.private.tables import PROVIDER_COLUMNS


def run(io: StageIO) -> None:
    catalog = io.load("gpu_catalog")
    private = io.load("operator_private_tap")
    offers = provider_offers(catalog.offers, fx_buffer_pct=private.meta.fx_buffer_pct,
                             eur_usd_fx_rate=io.load("market").eur_usd_fx_rate)
    medians = {g: median_eur_hr(offers, g) for g in gpu_classes(offers)}
    write_csv(io.out("private_provider_costs"), PROVIDER_COLUMNS, [
        [o.gpu, o.provider, fmt_float(o.usd_hr, 6), fmt_float(o.eur_hr, 6),
         fmt_float(o.availability_frac, 4), fmt_float(o.reputation_frac, 4),
         fmt_float(medians[o.gpu], 6)] for o in offers])
    write_json(io.out("private_offers"),
               {"offers": [asdict(o) for o in offers], "medians": medians})


def main() -> None:
    from d3.cli import stage_main

    stage_main("private_provider_costs")


if __name__ == "__main__":
    main()
