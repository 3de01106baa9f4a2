"""``python -m d3.importer``: refresh the generated mapping table in docs/INPUTS.md."""

from pathlib import Path

from d3.importer.mapping import with_mapping

path = Path(__file__).resolve().parents[2] / "docs" / "INPUTS.md"
path.write_text(with_mapping(path.read_text(encoding="utf-8")), encoding="utf-8")
