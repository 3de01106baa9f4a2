"""The normalised catalogue both taps read: models, offers, throughput facts and GPU specs, as
written to ``outputs/validated/catalog.json`` and read back by the stages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from d3.core.names import gpu_class, model_key
from d3.services.tps import Measurement, ModelInfo


@dataclass(frozen=True)
class Offer:
    """A provider's offer of a GPU SKU (per GPU-hour, USD)."""

    gpu: str
    vram_gb: float
    provider: str
    usd_hr: float  # per GPU-hour
    num_gpus: int
    availability_frac: float | None = None  # optional offer scores (Private Tap vendor choice)
    reputation_frac: float | None = None


@dataclass(frozen=True)
class CatalogModel:
    key: str
    hf_id: str | None
    params_b: float
    active_params_b: float
    architecture: str
    quantization: str
    vram_needed_gb: float


@dataclass(frozen=True)
class Catalog:
    models: tuple[CatalogModel, ...]
    offers: tuple[Offer, ...]
    measurements: tuple[dict[str, Any], ...]  # tps rows, GPU names normalised
    gpu_specs: tuple[dict[str, Any], ...]

    @property
    def model_infos(self) -> list[ModelInfo]:
        return [ModelInfo(m.key, m.hf_id, m.active_params_b) for m in self.models]

    @property
    def measurement_objects(self) -> list[Measurement]:
        from d3.services.tps import model_match_key

        out = []
        for t in self.measurements:
            keys = {model_match_key(t["model"])}
            if t.get("hf_id"):
                keys.add(model_match_key(t["hf_id"]))
            out.append(Measurement(frozenset(keys), t["gpu"], t["gpu_count"],
                                   t["measurement_type"], t["throughput_tokens_per_s"],
                                   t.get("batch_slots")))
        return out

    @property
    def bandwidth_gb_s(self) -> dict[str, float]:
        return {s["gpu"]: s["mem_bandwidth_gb_s"] for s in self.gpu_specs}

    @property
    def baseline_tps_8b(self) -> dict[str, float]:
        return {s["gpu"]: s["baseline_tps_8b"] for s in self.gpu_specs
                if s.get("baseline_tps_8b") is not None}


def catalog_from_validated(v) -> Catalog:
    models = tuple(
        CatalogModel(model_key(m.Model, m.Variant), m.hf_id, m.params_b,
                     m.active_params_b if m.active_params_b is not None else m.params_b,
                     m.architecture, m.quantization, m.vram_needed_gb)
        for m in v.models)
    offers = tuple(Offer(o.gpu, o.vram_gb, o.provider, o.usd_hr, o.num_gpus, o.availability_frac,
                         o.reputation_frac) for o in v.offers)
    measurements = tuple({**t.model_dump(mode="json"), "gpu": gpu_class(t.gpu)} for t in v.tps)
    specs = tuple({**s.model_dump(mode="json"), "gpu": gpu_class(s.gpu)} for s in v.gpu_specs)
    return Catalog(models, offers, measurements, specs)


def catalog_document(catalog: Catalog) -> dict[str, Any]:
    return {"models": [asdict(m) for m in catalog.models],
            "offers": [asdict(o) for o in catalog.offers],
            "tps": list(catalog.measurements), "gpu_specs": list(catalog.gpu_specs)}


def catalog_from_document(doc: Mapping[str, Any]) -> Catalog:
    return Catalog(tuple(CatalogModel(**m) for m in doc["models"]),
                   tuple(Offer(**o) for o in doc["offers"]),
                   tuple(doc["tps"]), tuple(doc["gpu_specs"]))

