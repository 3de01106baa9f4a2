"""`dvc plots show` writes a page that needs no network (issue 15 item 5): the Vega libraries
are inlined from .dvc/plots/page.html (`plots.html_template` in .dvc/config), every fan plot uses
the `fan` template and the tornado the `tornado` one, with their titles and axis labels from
d3/registry.py, and the data are the
plot CSVs' own rows. Runs in a temporary copy of the repository."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser

from d3.registry import PLOTS, dvc_path
from tests.dvc.test_dvc_workflow import repo as repo  # noqa: F401  (module fixture)
from tests.dvc.test_dvc_workflow import sh
from tests.helpers import ROOT

LIBRARIES = ("vega 5.33.1", "vega-lite 5.23.0", "vega-embed 6.29.0")


class Page(HTMLParser):
    """The URLs a browser would load or follow (``src``/``href``) and the inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self.charset: str | None = None
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append(value)
            if tag == "meta" and name == "charset":
                self.charset = value
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def specs(scripts: list[str]) -> dict[str, dict]:
    """``{div id: Vega-Lite spec}`` of the ``var spec = …; vegaEmbed('#id', spec)`` blocks."""
    out = {}
    for text in scripts:
        m = re.search(r"var spec = (\{.*\});\s*vegaEmbed\('#([^']+)', spec\);", text, re.S)
        if m:
            out[m.group(2)] = json.loads(m.group(1))
    return out


def test_plots_show_writes_a_page_that_needs_no_network(repo, tmp_path):  # noqa: F811
    sh("dvc", "plots", "show", "-o", str(tmp_path / "plots"), cwd=repo)
    page = Page()
    page.feed((tmp_path / "plots" / "index.html").read_text(encoding="utf-8"))
    assert page.urls == []  # no <script src>, no <link href>: nothing to fetch
    assert page.charset == "utf-8"  # d3-format's minus sign (U+2212) shows as "−", not "âˆ’"
    for library in LIBRARIES:  # the libraries themselves are inline
        assert sum(s.startswith(f"/*! {library} | BSD-3-Clause */") for s in page.scripts) == 1
    shown = specs(page.scripts)
    assert len(shown) == len(PLOTS) == 5
    fans = [p for p in PLOTS if p.template == "fan"]
    for plot in fans:
        path = dvc_path(plot.path)
        spec = shown[re.sub(r"[^A-Za-z0-9]", "_", path)]
        assert spec["title"] == plot.title
        fan = spec["layer"][0]
        assert fan["encoding"]["x"]["title"] == "month"
        band, line = fan["layer"]
        assert band["mark"]["type"] == "area" and line["mark"]["type"] == "line"
        assert band["encoding"]["y"]["title"] == plot.y_label
        assert (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"],
                line["encoding"]["y"]["field"]) == ("p10_n", "p90_n", "p50_n")
        with (repo / path).open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        values = fan["data"]["values"]
        assert [{k: v[k] for k in ("month", "p10", "p50", "p90")} for v in values] == rows
        assert {v["rev"] for v in values} == {"workspace"}
    assert {p.y_label for p in fans} == {"EUR", "DSCR (×)", "customers"}
    # The tornado (.dvc/plots/tornado.json): a bar per input from the output at its low end
    # to the output at its high end, ranked by swing, the CSV's rows as its data.
    (tornado,) = [p for p in PLOTS if p.template == "tornado"]
    path = dvc_path(tornado.path)
    spec = shown[re.sub(r"[^A-Za-z0-9]", "_", path)]
    assert spec["title"] == tornado.title and spec["mark"]["type"] == "bar"
    enc = spec["encoding"]
    assert (enc["y"]["field"], enc["x"]["field"], enc["x2"]["field"]) == (
        "input", "at_low_n", "at_high_n")
    assert (enc["y"]["title"], enc["x"]["title"]) == (tornado.y_label, tornado.x_label)
    with (repo / path).open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [{k: v[k] for k in ("rank", "input", "at_low", "at_high", "swing")}
            for v in spec["data"]["values"]] == rows


def test_the_page_template_has_the_placeholders_dvc_fills_and_the_licenses():
    page = (ROOT / ".dvc" / "plots" / "page.html").read_text(encoding="utf-8")
    assert page.count("{plot_divs}") == 1
    assert "{scripts}" not in page  # DVC would put its CDN <script src> tags there
    licenses = (ROOT / ".dvc" / "plots" / "THIRD_PARTY_LICENSES.txt").read_text(encoding="utf-8")
    for library in LIBRARIES:
        assert f"==== {library} " in licenses
    assert licenses.count("Redistribution and use in source and binary forms") == 3
    assert licenses.split("==== vega 5.33.1", 1)[1].strip() in page.replace("- -", "--")
    assert "html_template = plots/page.html" in (ROOT / ".dvc" / "config").read_text()


def test_plots_diff_between_two_commits_draws_one_band_per_revision(repo, tmp_path):  # noqa: F811
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "base", "--allow-empty", cwd=repo)
    plot = repo / "outputs" / "plots" / "revenue.csv"
    original = plot.read_text()
    try:
        lines = original.splitlines()
        lines[1] = "1,1.0000,2.0000,3.0000"  # month 1 of the new revision
        plot.write_text("\n".join(lines) + "\n")
        sh("dvc", "plots", "diff", "HEAD", "-o", str(tmp_path / "diff"), cwd=repo)
    finally:
        plot.write_text(original)
    page = Page()
    page.feed((tmp_path / "diff" / "index.html").read_text(encoding="utf-8"))
    assert page.urls == []
    values = specs(page.scripts)["outputs_plots_revenue_csv"]["layer"][0]["data"]["values"]
    first = {v["rev"]: (v["p10"], v["p50"], v["p90"]) for v in values if v["month"] == "1"}
    assert first["workspace"] == ("1.0000", "2.0000", "3.0000")
    assert first["HEAD"] == tuple(original.splitlines()[1].split(",")[1:])
