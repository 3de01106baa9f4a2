"""Stage ``public_capacity``: replicas per model and month, and public GPU COGS per sample."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq

from d3.core.runner import StageIO
from d3.core.variables import overrides_of, reference_values
from d3.io.normalised import read_operator, read_variables
from d3.io.parquet_stream import SampleWriter, read_series, sample_schema, sample_table
from d3.io.writers import fmt_float, write_csv, write_json
from d3.pipelines.public.capacity import (
    capacity,
    capacity_policy,
    hourly_weights,
    model_capacities,
)
from d3.pipelines.public.gpu_costs import CostRow, best_rows
from d3.pipelines.public.pricing import non_gpu_costs, price_card
from d3.pipelines.public.reference import configured
from d3.pipelines.public.scaling import (
    EVENT_CSV_COLUMNS,
    KPI_COLUMNS,
    event_rows,
    kpi_rows,
    run_traces,
)
from d3.services.autoscaling import AutoscalingPolicy

PLAN_COLUMNS = (
    "model", "gpu", "avg_tokens_per_hour", "peak_tokens_per_hour", "tps",
    "cap_tokens_per_hour_per_instance", "instances_needed", "target_utilization_pct",
    "capacity_violation", "grid_index", "month", "instance_eur_hr", "gpu_cost_eur_month",
)
BY_MONTH_COLUMNS = (
    "grid_index", "month", "model", "gpu", "tokens", "avg_tokens_per_hour",
    "peak_tokens_per_hour", "instances_needed", "capacity_violation", "gpu_cost_eur",
)
SAMPLE_SERIES = ("gpu_cogs_eur", "non_gpu_cogs_eur", "instances_total", "capacity_violations")


class _Configs:
    """Operator configuration, capacity policy and model mix per block (cached)."""

    def __init__(self, variables, dump, best, hours):
        self.variables, self.dump, self.best, self.hours = variables, dump, best, hours
        self.cache: dict = {}

    def __call__(self, values):
        key = tuple(sorted((k, str(v)) for k, v in values.items()))
        if key not in self.cache:
            public = configured("public_tap", self.dump,
                                overrides_of(self.variables, values, "public_tap"))
            card = price_card(self.best, public)
            self.cache[key] = (public, capacity_policy(public, self.hours),
                               model_capacities(self.best, card.mix))
        return self.cache[key]


def trace_keys(available) -> dict[str, str]:
    """The p50 and p90 traces (nearest percentiles run when those are not in the plan)."""
    qs = sorted(int(q) for q in available)
    return {"p50": str(min(qs, key=lambda q: (abs(q - 50), q))),
            "p90": str(min(qs, key=lambda q: (abs(q - 90), -q)))}


def run(io: StageIO) -> None:
    p = io.params()
    load = lambda name: json.loads(io.dep(name).read_text(encoding="utf-8"))  # noqa: E731
    variables = read_variables(io.dep("variables"))
    general = read_operator(io.dep("general"), "general")
    hours = int(general.calendar.hours_in_month)
    best = best_rows([CostRow(**r) for r in load("cost_rows")["rows"]])
    configs = _Configs(variables, load("public_tap"), best, hours)
    demand = load("demand_summary")
    months = demand["months"]
    blocks = pq.read_table(io.dep("blocks")).to_pylist()
    replicates = load("variables_report")["replicates"]

    schema = sample_schema(SAMPLE_SERIES, months)
    source = pq.ParquetFile(io.dep("demand_samples"))
    with SampleWriter(io.out("samples"), schema) as writer:
        for group in range(source.num_row_groups):
            s = read_series(io.dep("demand_samples"), ["tokens_served"], row_group=group)
            out = {k: np.zeros((len(s["grid_index"]), months)) for k in SAMPLE_SERIES}
            block_ids = s["grid_index"] * replicates + s["replicate_index"]
            for block in np.unique(block_ids):
                rows = block_ids == block
                public, policy, models = configs(blocks[int(block)])
                ng = non_gpu_costs(public)
                res = capacity(s["tokens_served"][rows], models, policy,
                               infra_overhead_pct_of_gpu=ng.infra_overhead_pct_of_gpu,
                               base_eur_per_1M=ng.base_eur_per_1M)
                out["gpu_cogs_eur"][rows] = res.gpu_cogs_eur
                out["non_gpu_cogs_eur"][rows] = res.non_gpu_cogs_eur
                out["instances_total"][rows] = res.instances.sum(axis=0)
                out["capacity_violations"][rows] = res.violation.sum(axis=0)
            writer.write(sample_table(schema, s["grid_index"], s["replicate_index"],
                                      s["mc_index"], out))

    plan_rows, month_rows, plan_summary, kpi_out, events_out = [], [], {}, [], []
    seed = load("variables_report")["seeds"]["public_tap"]
    horizon = demand["horizon_months"]
    for g, info in sorted(demand["grid"].items(), key=lambda kv: int(kv[0])):
        public, policy, models = configs(reference_values(variables, int(g)))
        keys = trace_keys(info["percentile_tokens_served"])
        path_key = keys["p50"]
        tokens = np.array(info["percentile_tokens_served"][path_key])
        ng = non_gpu_costs(public)
        res = capacity(tokens, models, policy,
                       infra_overhead_pct_of_gpu=ng.infra_overhead_pct_of_gpu,
                       base_eur_per_1M=ng.base_eur_per_1M)
        peak_month = int(np.argmax(tokens))
        for i, m in enumerate(models):
            for t in range(months):
                month_rows.append([g, str(t + 1), m.model, m.gpu,
                                   fmt_float(tokens[t] * m.mix_frac, 0),
                                   fmt_float(res.avg_tokens_per_hour[i, t], 2),
                                   fmt_float(res.peak_tokens_per_hour[i, t], 2),
                                   str(int(res.instances[i, t])),
                                   "true" if res.violation[i, t] else "false",
                                   fmt_float(res.instances[i, t] * hours * m.instance_eur_hr, 2)])
            t = peak_month
            plan_rows.append([m.model, m.gpu, fmt_float(res.avg_tokens_per_hour[i, t], 2),
                              fmt_float(res.peak_tokens_per_hour[i, t], 2), fmt_float(m.tps, 2),
                              fmt_float(res.cap_per_instance[i], 2),
                              str(int(res.instances[i, t])),
                              fmt_float(policy.target_utilization_pct, 2),
                              "true" if res.violation[i, t] else "false", g, str(t + 1),
                              fmt_float(m.instance_eur_hr, 6),
                              fmt_float(res.instances[i, t] * hours * m.instance_eur_hr, 2)])
        scaler = AutoscalingPolicy.from_operator(public.autoscaling)
        shares = hourly_weights(public.demand_profile.type, public.demand_profile.hourly_weights,
                                hours)
        runs = []
        for m in models:
            # The simulator replays the acceptance horizon (SPEC §5.4), not the loan term.
            traces = {name: np.array(info["percentile_tokens_served"][key][:horizon]) * m.mix_frac
                      for name, key in keys.items()}
            runs += run_traces(model=m.model, gpu=m.gpu, tps=m.tps,
                               instance_eur_hr=m.instance_eur_hr, traces=traces, shares=shares,
                               peak_share=policy.peak_share, hours_in_month=hours,
                               policy=scaler, tick_noise=public.autoscaling.tick_noise,
                               seed=seed, grid_index=int(g))
            io.emitter.emit("autoscaler_done", grid_index=int(g), model=m.model)
        kpi_out += kpi_rows(int(g), runs, scaler.target_utilization_pct,
                            p["targets.autoscaling_util_tolerance_pct"])
        events_out += event_rows(int(g), runs)
        expected_tokens = np.array(info["expected_tokens_served"])
        expected_res = capacity(expected_tokens, models, policy,
                                infra_overhead_pct_of_gpu=ng.infra_overhead_pct_of_gpu,
                                base_eur_per_1M=ng.base_eur_per_1M)
        plan_summary[g] = {
            "expected_gpu_cogs_eur": expected_res.gpu_cogs_eur.tolist(),
            "expected_non_gpu_cogs_eur": expected_res.non_gpu_cogs_eur.tolist(),
            "expected_instances_total": expected_res.instances.sum(axis=0).tolist(),
            "expected_violations": expected_res.violation.sum(axis=0).tolist(),
            "trace": f"p{path_key}", "peak_month": peak_month + 1,
            "violations": int(res.violation.sum()),
            "gpu_cogs_eur": res.gpu_cogs_eur.tolist(),
            "instances_total": res.instances.sum(axis=0).tolist(),
        }
    write_csv(io.out("plan"), PLAN_COLUMNS, plan_rows)
    write_csv(io.out("kpis"), KPI_COLUMNS, kpi_out)
    write_csv(io.out("events"), EVENT_CSV_COLUMNS, events_out)
    write_csv(io.out("by_month"), BY_MONTH_COLUMNS, month_rows)
    write_json(io.out("summary"), {"hours_in_month": hours, "grid": plan_summary})


def main() -> None:
    from d3.cli import stage_main

    stage_main("public_capacity")


if __name__ == "__main__":
    main()
