"""The run summary (``run_summary.{json,md}``): seeds, input hashes, sample-space sizes,
overrides, shadowing, warnings. Later stages add their sections; nothing here is timestamped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def run_summary(
    validation_report: Mapping[str, Any],
    plan_doc: Mapping[str, Any],
    variables_report: Mapping[str, Any],
    public_costs: Mapping[str, Any] | None = None,
    public_prices: Mapping[str, Any] | None = None,
    acceptance: Mapping[str, Any] | None = None,
    inputs_hashes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    issues = list(validation_report["issues"])
    warnings = [i for i in issues if i["severity"] == "warning"]
    warnings += list((public_prices or {}).get("warnings", []))
    for item in variables_report.get("allocation_renormalised", []):
        warnings.append({
            "severity": "warning", "code": "allocation_renormalised", "file": item["scope"],
            "location": item["path"], "message": f"weights did not sum to 1 in {item['blocks']} "
            f"of {item['of_blocks']} samples; renormalised", "hint": "make them sum to 1",
            "line": f"{item['scope']}:{item['path']}: weights renormalised in {item['blocks']} "
                    f"of {item['of_blocks']} samples",
        })
    for g, info in ((acceptance or {}).get("grid") or {}).items():
        for c in info["criteria"]:
            if not c["ok"]:
                warnings.append({
                    "severity": "warning", "code": "acceptance_failed", "file": "acceptance.json",
                    "location": f"grid {g}.{c['name']}", "message": c["detail"], "hint": "",
                    "line": f"acceptance.json:grid {g}.{c['name']}: criterion failed: "
                            f"{c['detail']}"})
    plan = plan_doc["plan"]
    return {
        "seeds": plan_doc["seeds"],
        "seed_sources": plan_doc["seed_sources"],
        "inputs_sha256": (inputs_hashes or {}).get("inputs_sha256", {}),
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
        "warnings": warnings,
        "notes": [i for i in issues if i["severity"] == "info"],
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
        f"## Warnings ({len(summary['warnings'])})",
        "",
        *([f"- {w['line']}" for w in summary["warnings"]] or ["None."]),
        "",
        "## Input files (sha256)",
        "",
        "| file | sha256 |",
        "|---|---|",
        *(f"| {f} | `{h}` |" for f, h in summary["inputs_sha256"].items()),
        "",
    ]
    return "\n".join(lines)


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
