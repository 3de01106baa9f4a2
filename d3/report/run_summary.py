"""The run summary (``run_summary.{json,md}``): seeds, validated-input hashes, sample-space sizes,
overrides, shadowing, warnings. Later stages add their sections; nothing here is timestamped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from d3.core.warning_count import WarningCount, run_warnings, warning_count


def run_summary(
    validation_report: Mapping[str, Any],
    plan_doc: Mapping[str, Any],
    variables_report: Mapping[str, Any],
    public_costs: Mapping[str, Any] | None = None,
    public_prices: Mapping[str, Any] | None = None,
    acceptance: Mapping[str, Any] | None = None,
    validated_sha256: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The run summary document. ``validated_sha256``: SHA-256 of each validated input file
    (path relative to the output directory → hex digest): the inputs as the engine read them,
    normalised, so a comment-only edit leaves them (and this summary) unchanged; DVC's md5 of
    the raw input files stays in dvc.lock (validate's deps)."""
    found = run_warnings(validation_report, public_prices)
    warnings = [i for i in found if i["severity"] == "warning"]
    plan = plan_doc["plan"]
    return {
        "seeds": plan_doc["seeds"],
        "seed_sources": plan_doc["seed_sources"],
        "validated_inputs_sha256": dict(sorted((validated_sha256 or {}).items())),
        "catalog_counts": validation_report["counts"],
        "sample_space": {
            k: variables_report[k]
            for k in ("grid_size", "replicates", "simulations_per_run", "blocks", "samples")
        },
        "horizon_months": plan["targets"]["horizon_months"],
        "pipelines": plan["run"]["pipelines"],
        "overrides": variables_report["overrides"],
        "shadowing": [w for w in warnings if w["code"] == "shadowed_input"],
        "heuristics": list((public_costs or {}).get("heuristics", [])),
        "warning_count": warning_count(found).as_dict(),
        "warnings": warnings,
        "notes": [i for i in found if i["severity"] == "info"],
        # Drawn weights renormalised per block: the validator warned about the variable once;
        # these are the counts behind that warning, not warnings of their own.
        "allocation_renormalised": list(variables_report.get("allocation_renormalised", [])),
        "acceptance": None if acceptance is None else {
            "accepted": acceptance["accepted"],
            "grid": {g: {"accepted": v["accepted"],
                         "failed": [c["name"] for c in v["criteria"] if not c["ok"]]}
                     for g, v in acceptance["grid"].items()}},
    }


def _distribution_note(override: Mapping[str, Any]) -> str:
    """`` (normal)``, `` (lognormal, sd 5000)`` or nothing for a uniform variable."""
    if override["distribution"] == "uniform":
        return ""
    sd = f", sd {override['sd']}" if "sd" in override else ""
    return f" ({override['distribution']}{sd})"


def run_summary_markdown(summary: Mapping[str, Any]) -> str:
    s = summary["sample_space"]
    lines = [
        "# Run summary",
        "",
        "## Seeds",
        "",
        "| scope | seed | from |",
        "|---|---:|---|",
        *(f"| {k} | {v} | {summary['seed_sources'][k]} |" for k, v in summary["seeds"].items()),
        "",
        "## Sample space",
        "",
        f"- grid points: {s['grid_size']}",
        f"- replicates per grid point: {s['replicates']}",
        f"- Monte Carlo iterations per replicate: {s['simulations_per_run']}",
        f"- samples: {s['samples']} ({s['blocks']} blocks)",
        f"- horizon: {summary['horizon_months']} months; pipelines: "
        f"{', '.join(summary['pipelines'])}",
        "",
        "## Variables overriding operator constants",
        "",
        "| variable | scope | path | treatment | default |",
        "|---|---|---|---|---:|",
        *(f"| {o['variable_id']} | {o['scope']} | `{o['path']}` | {o['treatment']}"
          f"{_distribution_note(o)} | "
          f"{o['default']} |" for o in summary["overrides"]),
        "",
        f"## Throughput heuristics ({len(summary['heuristics'])})",
        "",
        "| model | GPU | tokens/s | method |",
        "|---|---|---:|---|",
        *(f"| {h['model']} | {h['gpu']} | {h['tps']:.0f} | {h['tps_source']}: {h['detail']} |"
          for h in summary["heuristics"]),
        "",
        "## Acceptance",
        "",
        *acceptance_lines(summary.get("acceptance")),
        "",
        *import_lines(summary.get("import_report")),
        f"## Warnings ({summary['warning_count']['warnings']})",
        "",
        f"{WarningCount.of(summary['warning_count']).sentence()}.",
        "",
        *[f"- {w['line']}" for w in summary["warnings"]],
        *allocation_lines(summary.get("allocation_renormalised", [])),
        "",
        "## Validated inputs (sha256)",
        "",
        "The inputs as the engine read them, normalised (comments and key order do not count); "
        "`dvc.lock` holds DVC's md5 of the raw input files.",
        "",
        "| file | sha256 |",
        "|---|---|",
        *(f"| {f} | `{h}` |" for f, h in summary["validated_inputs_sha256"].items()),
        "",
    ]
    return "\n".join(lines)


def allocation_lines(items: list[Mapping[str, Any]]) -> list[str]:
    """Per allocation the validator warned about: in how many blocks the drawn weights did not
    sum to 1 and were renormalised."""
    if not items:
        return []
    return ["", "Drawn allocation weights renormalised (blocks of one grid point and replicate):",
            "", *(f"- {i['scope']}: `{i['path']}` in {i['blocks']} of {i['of_blocks']} blocks"
                  for i in items)]


def acceptance_lines(acceptance: Mapping[str, Any] | None) -> list[str]:
    if acceptance is None:
        return ["Not evaluated (consolidation did not run)."]
    lines = [f"Accepted: {'yes' if acceptance['accepted'] else 'no'}", ""]
    for g, v in acceptance["grid"].items():
        status = "accepted" if v["accepted"] else "failed: " + ", ".join(v["failed"])
        lines.append(f"- grid {g}: {status}")
    return lines


def import_lines(record: Mapping[str, Any] | None) -> list[str]:
    """The section on the draft import the inputs came from (none for ordinary inputs)."""
    if record is None:
        return []
    counts = record["counts"]
    return ["## Imported from the original draft", "",
            f"The inputs were imported by `d3 import-draft`; {record['file']} (sha256 "
            f"`{record['sha256']}`) lists every source key:",
            "", "| outcome | count |", "|---|---:|",
            *(f"| {k} | {v} |" for k, v in counts.items()), ""]
