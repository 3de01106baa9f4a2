"""Build ``.dvc/plots/page.html``: the page ``dvc plots show`` / ``dvc plots diff`` fill in
(``.dvc/config`` → ``plots.html_template``), with Vega, Vega-Lite and Vega-Embed inlined so the
page needs no network (DVC's own page loads them from a CDN and is blank offline).

Run at development time only, when a library version changes::

    cd /tmp && npm pack vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0
    for f in vega*.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
    python tools/build_plots_page.py /tmp/vega-5.33.1 /tmp/vega-lite-5.23.0 \
        /tmp/vega-embed-6.29.0 > .dvc/plots/page.html

Each argument is an unpacked npm tarball (``<dir>/package/...``); the output is byte-identical
for the same tarballs. The libraries' BSD-3-Clause licenses are in
``.dvc/plots/THIRD_PARTY_LICENSES.txt`` and repeated in the page, which redistributes them.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
LICENSES = HERE / ".dvc" / "plots" / "THIRD_PARTY_LICENSES.txt"
# (npm package, its minified browser build in build/), in load order
LIBRARIES = (("vega", "vega.min.js"), ("vega-lite", "vega-lite.min.js"),
             ("vega-embed", "vega-embed.min.js"))
# DVC calls vegaEmbed(element, spec) without options. Keep the export actions (they work
# offline) and drop the "open in Vega Editor" link, the one thing on the page that would go to
# the network.
EMBED_DEFAULTS = """(function () {
  var embed = window.vegaEmbed;
  window.vegaEmbed = function (element, spec, options) {
    return embed(element, spec, Object.assign(
      {actions: {export: true, source: true, compiled: false, editor: false}}, options));
  };
})();"""
STYLE = """body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.2em; }
p.note { color: #555; max-width: 52em; }
table { border-spacing: 15px; }
@media print { details, .vega-actions { display: none; } }"""


def library_script(package_dir: Path, build_file: str) -> str:
    """The minified library with its source-map comment removed (nothing to fetch)."""
    meta = json.loads((package_dir / "package" / "package.json").read_text(encoding="utf-8"))
    code = (package_dir / "package" / "build" / build_file).read_text(encoding="utf-8")
    code = re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "", code)
    if "</script" in code.lower() or "<!--" in code:
        raise SystemExit(f"{build_file}: cannot be inlined in a <script> element")
    header = f"/*! {meta['name']} {meta['version']} | {meta['license']} */"
    return f"<script>{header}\n{code}\n</script>"


def page(package_dirs: list[Path]) -> str:
    """The HTML template: DVC replaces ``{plot_divs}`` (and ``{refresh_tag}``); the page has no
    ``{scripts}`` placeholder, so DVC's CDN script tags are never inserted."""
    scripts = "\n".join(library_script(d, build) for d, (_, build)
                        in zip(package_dirs, LIBRARIES, strict=True))
    licenses = LICENSES.read_text(encoding="utf-8").replace("--", "- -")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{{refresh_tag}}
<title>D3 plots (DVC)</title>
<!--
Vega, Vega-Lite and Vega-Embed are inlined below so that this page works without a network.
{licenses}-->
{scripts}
<script>
{EMBED_DEFAULTS}
</script>
<style>
{STYLE}
</style>
</head>
<body>
<h1>D3 plots: Monte Carlo fans of grid point 0</h1>
<p class="note">Band: 10th to 90th percentile over the samples; line: median (p50).
One colour per revision. Built offline from the plot CSVs in outputs/plots/.</p>
{{plot_divs}}
</body>
</html>
"""


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    sys.stdout.write(page([Path(a) for a in sys.argv[1:]]))
