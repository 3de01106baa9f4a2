"""The self-contained HTML report (issue 15 items 4 and 8), read back with html.parser."""

from __future__ import annotations

import base64
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from d3.core.progress import NullEmitter
from d3.core.runner import RunOptions, run_stages
from d3.registry import STAGE_BY_NAME, Roots
from d3.report.html import PNG_SIGNATURE, png_data_uri, report_html
from tests.helpers import MINIMAL, run_minimal

PNG = PNG_SIGNATURE + b"\x00\x00\x00\rIHDR fake chart body"
DATA_PREFIX = "data:image/png;base64,"


class Page(HTMLParser):
    """Every start tag with its attributes, the text outside <style>, and the CSS."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.css: list[str] = []
        self._in_style = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        (self.css if self._in_style else self.text).append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]

    def urls(self) -> list[str]:
        return [a[k] or "" for _, a in self.tags for k in ("src", "href") if k in a]


def test_script_in_a_name_is_text_in_a_cell_and_in_a_paragraph():
    name = "Llama <script>alert(1)</script> | x"
    cell = name.replace("|", "\\|")  # a pipe inside a cell is escaped in GFM
    markdown = ("# Plan\n\n| model | price |\n|---|---|\n"
                f"| {cell} | 1 |\n\n{name}\n\n<script>alert(2)</script>\n")
    page = Page(report_html(markdown, {}))
    assert page.all("script") == []
    cells = [t for t in page.text if "alert(1)" in t]
    # once in the table cell (the escaped pipe is the name's own), once in the paragraph
    assert cells == [name, name]
    assert "<script>alert(2)</script>" in page.text


def test_every_image_is_a_data_uri_of_the_png_bytes():
    other = PNG + b"second"
    markdown = "# P\n\n![a](charts/a.png)\n\n![b](charts/b.png)\n"
    page = Page(report_html(markdown, {"charts/a.png": PNG, "charts/b.png": other,
                                       "charts/unused.png": PNG}))
    srcs = [img["src"] for img in page.all("img")]
    assert [s.startswith(DATA_PREFIX) for s in srcs] == [True, True]
    assert [base64.b64decode(s[len(DATA_PREFIX):]) for s in srcs] == [PNG, other]
    assert [img["alt"] for img in page.all("img")] == ["a", "b"]


def test_an_image_that_is_missing_or_not_a_png_is_an_error():
    with pytest.raises(ValueError, match="'charts/gone.png': no such chart"):
        report_html("![x](charts/gone.png)\n", {"charts/a.png": PNG})
    with pytest.raises(ValueError, match="'charts/a.png': not a PNG"):
        report_html("![x](charts/a.png)\n", {"charts/a.png": b"GIF89a"})
    with pytest.raises(ValueError, match="'https://cdn.example/x.png': no such chart"):
        report_html("![x](https://cdn.example/x.png)\n", {})


def test_png_data_uri_is_base64_of_the_bytes():
    # base64 of the 8-byte signature: 89 50 4E 47 0D 0A 1A 0A → "iVBORw0KGgo="
    assert png_data_uri(PNG_SIGNATURE) == "data:image/png;base64,iVBORw0KGgo="


def test_links_out_of_the_page_become_text_and_local_links_stay():
    markdown = ("# P\n\n## One\n\nsee [the site](https://evil.example/x), <http://a.example/b>, "
                "[mail](mailto:a@b.c), [proto](//cdn.example/y), [up](#one) and "
                "[csv](pnl_by_year.csv).\n")
    page = Page(report_html(markdown, {}))
    hrefs = [a["href"] for a in page.all("a")]
    assert hrefs == ["#one", "#one", "pnl_by_year.csv"]  # the contents, then the two local
    text = "".join(page.text)
    assert ("see the site (https://evil.example/x), http://a.example/b, mail (mailto:a@b.c), "
            "proto (//cdn.example/y), up and csv.") in text


def test_contents_list_every_h2_with_a_unique_anchor():
    markdown = "# Plan\n\n## 1. Summary\n\n### detail\n\n## Loan `schedule`\n\n## 1. Summary\n"
    page = Page(report_html(markdown, {}))
    nav = [a["href"] for a in page.all("a")]
    ids = [h["id"] for h in page.all("h2")]
    # slugs: lower case, spaces → "-", punctuation dropped; a repeat gets "-1"
    assert ids == ["1-summary", "loan-schedule", "1-summary-1"]
    assert nav == ["#1-summary", "#loan-schedule", "#1-summary-1"]
    assert page.all("title") == [{}] and "Plan" in page.text


def test_tables_are_counted_and_numbers_right_aligned():
    markdown = ("| a | b |\n|---|---|\n| x | 1,234 |\n| y | -5.2 % |\n\ntext\n\n"
                "| c |\n|---|\n| n/m |\n| 12 apples |\n")
    page = Page(report_html(markdown, {}))
    assert len(page.all("table")) == 2
    assert [td.get("class") for td in page.all("td")] == [None, "num", None, "num", "num", None]


def test_the_page_loads_nothing_from_outside():
    page = Page(report_html("# P\n\n## A\n\n![c](charts/c.png)\n", {"charts/c.png": PNG}))
    css = "".join(page.css)
    assert "url(" not in css and "@import" not in css
    assert "@media print" in css and "break-before: page" in css
    csp = [m["content"] for m in page.all("meta") if m.get("http-equiv")]
    assert csp == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'"]
    assert page.all("link") == [] and page.all("script") == []


# --- the pipeline's own report ------------------------------------------------------------------

IMAGE_REF = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
# A GFM table's delimiter row: cells of dashes with optional alignment colons.
DELIMITER_ROW = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return run_minimal(tmp_path_factory.mktemp("html") / "out")


def test_the_run_writes_a_self_contained_page(out):
    markdown = (out / "financial_plan_v3.md").read_text(encoding="utf-8")
    page = Page((out / "financial_plan_v3.html").read_text(encoding="utf-8"))
    assert [u for u in page.urls() if re.search(r"https?:|^//", u)] == []
    refs = IMAGE_REF.findall(markdown)
    assert refs, "the report has charts"
    srcs = [img["src"] or "" for img in page.all("img")]
    assert [base64.b64decode(s.removeprefix(DATA_PREFIX)) for s in srcs] == [
        (out / ref).read_bytes() for ref in refs]
    assert all(s.startswith(DATA_PREFIX) for s in srcs)
    tables = sum(1 for line in markdown.splitlines() if DELIMITER_ROW.match(line))
    assert len(page.all("table")) == tables > 0
    h2 = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert len(page.all("h2")) == len(h2)
    assert [a["href"] for a in page.all("a") if (a["href"] or "").startswith("#")][:len(h2)] \
        == ["#" + h["id"] for h in page.all("h2")]


def test_the_same_outputs_give_the_same_html_and_workbook_bytes(out, tmp_path):
    again = tmp_path / "again"
    shutil.copytree(out, again)
    for name in ("financial_plan_v3.html", "financial_plan_v3.xlsx"):
        (again / name).unlink()
    roots = Roots(MINIMAL / "inputs", again, MINIMAL / "params.yaml")
    run_stages(roots, RunOptions(), NullEmitter(), stages=[STAGE_BY_NAME["report_exports"]])
    for name in ("financial_plan_v3.html", "financial_plan_v3.xlsx"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_code_blocks_wrap_instead_of_running_off_the_page():
    # A 300-character `dvc exp run` command (the solver's proposal) in a fenced block: the
    # stylesheet makes <pre> wrap (pre-wrap) and breaks long unspaced tokens (anywhere), on
    # screen and in print, instead of a horizontal overflow past the page edge.
    command = "dvc exp run " + " ".join(f"-S inputs/operator/public_tap.yaml:key_{i}=1"
                                        for i in range(8))
    page = Page(report_html(f"# Plan\n\n```bash\n{command}\n```\n", {}))
    assert page.all("pre") == [{}]
    assert command in "".join(page.text)
    rules = {m[1].strip(): m[2] for m in re.finditer(r"(?m)^([a-z ,.]+)\{([^}]*)\}",
                                                     "".join(page.css))}
    assert "white-space: pre-wrap" in rules["pre"]
    assert "overflow-wrap: anywhere" in rules["pre"]
    assert "overflow-wrap: anywhere" in rules["code"]
