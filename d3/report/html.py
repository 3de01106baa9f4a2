"""The Markdown report as one self-contained HTML page (issue 15 item 4).

``report_html(markdown_text, images)`` renders the report with markdown-it-py (CommonMark plus
tables) with raw HTML disabled, so every name that came from the inputs stays text
(``Llama <script>…`` is shown, never run). Every image is embedded as a ``data:image/png`` URI,
the page carries its stylesheet inline and a table of contents of the h2 sections, and no
``src``/``href``/``url()`` points outside the page: it reads the same offline, sent by e-mail or
printed. The same Markdown and images always give the same bytes.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A scheme ("http:", "mailto:", "data:") or a scheme-relative "//host": the page never links out.
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
# Cells shown right-aligned: numbers as the report prints them (1,234 / -5.2 % / 1.3× / n/m).
_NUMERIC_CELL = re.compile(r"^(?:[-+−]?(?:EUR\s?)?\d[\d,]*(?:\.\d+)?\s?(?:%|×|x)?|n/m)$")

STYLESHEET = """\
:root { --ink: #1b1f24; --muted: #57606a; --rule: #d0d7de; --band: #f6f8fa; --accent: #0b5394; }
* { box-sizing: border-box; }
html { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: var(--ink); background: #fff; }
body { margin: 0; }
.layout { display: grid; grid-template-columns: 15rem minmax(0, 1fr); gap: 2rem;
          max-width: 84rem; margin: 0 auto; padding: 1.5rem; }
nav.toc { position: sticky; top: 1rem; align-self: start; max-height: calc(100vh - 2rem);
          overflow-y: auto; font-size: .9rem; border-right: 1px solid var(--rule);
          padding-right: 1rem; }
nav.toc .toc-title { font-weight: 600; color: var(--muted); margin: 0 0 .5rem; }
nav.toc ol { list-style: none; padding: 0; margin: 0; }
nav.toc li { margin: .3rem 0; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
main { min-width: 0; }
h1 { font-size: 1.9rem; margin: 0 0 .5rem; }
h2 { font-size: 1.4rem; margin: 2.5rem 0 .75rem; padding-bottom: .25rem;
     border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.1rem; margin: 1.75rem 0 .5rem; }
p, li { max-width: 60rem; }
.table-wrap { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--rule); padding: .3rem .55rem; vertical-align: top; }
th { background: var(--band); text-align: left; }
td.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fbfcfd; }
img { display: block; max-width: 100%; height: auto; margin: 1rem 0 .25rem; }
code { font: .85em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: var(--band); padding: .05em .3em; border-radius: 3px;
       overflow-wrap: anywhere; }
pre { background: var(--band); padding: .6rem .8rem; border-radius: 3px; max-width: 60rem;
      white-space: pre-wrap; overflow-wrap: anywhere; }  /* long commands wrap */
pre code { padding: 0; }
@media (max-width: 60rem) {
  .layout { display: block; }
  nav.toc { position: static; max-height: none; border: 0; margin-bottom: 1rem; }
}
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  html { font-size: 10pt; }
  .layout { display: block; max-width: none; padding: 0; }
  nav.toc { display: none; }
  h2 { break-before: page; page-break-before: always; }
  main > h2:first-of-type { break-before: auto; page-break-before: auto; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  table, tr, img { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  .table-wrap { overflow: visible; }
  table { font-size: 8pt; }
  tbody tr:nth-child(even) { background: none; }
  a { color: inherit; text-decoration: none; }
}
"""
# The browser enforces what the page promises: nothing loads from outside, no script runs.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def markdown_parser() -> MarkdownIt:
    """CommonMark with tables, raw HTML off (inline and block HTML render as text), no
    linkify, and an ``id`` on every h2 for the table of contents."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    anchors_plugin(md, min_level=2, max_level=2)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    return md


def _table_open(self, tokens, idx, options, env) -> str:
    return '<div class="table-wrap">\n' + self.renderToken(tokens, idx, options, env)


def _table_close(self, tokens, idx, options, env) -> str:
    return self.renderToken(tokens, idx, options, env) + "</div>\n"


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,…`` of PNG bytes; ValueError if they are not a PNG."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file (no PNG signature)")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def embedded_image(token: Token, images: Mapping[str, bytes]) -> None:
    """Point an image token at its PNG as a data URI (the token is the parser's own)."""
    src = unquote(str(token.attrGet("src") or ""))
    if src not in images:
        raise ValueError(f"image {src!r}: no such chart — the report references a PNG "
                         f"the report stage did not write (known: {sorted(images)})")
    try:
        token.attrSet("src", png_data_uri(images[src]))
    except ValueError as err:
        raise ValueError(f"image {src!r}: {err} — embed PNG charts only") from None


def unlinked(children: Sequence[Token]) -> list[Token]:
    """Inline tokens with every link that leaves the page turned into text: the link's text,
    then its URL in brackets unless the text is the URL (an autolink)."""
    out: list[Token] = []
    # One entry per open link (links do not nest): None keeps it, else the text to print after.
    pending: list[str | None] = []
    for child in children:
        if child.type == "link_open":
            href = str(child.attrGet("href") or "")
            if not _EXTERNAL.match(href):
                pending.append(None)
                out.append(child)
            else:
                pending.append("" if child.markup in ("autolink", "linkify") else f" ({href})")
            continue
        if child.type == "link_close" and pending:
            after = pending.pop()
            if after is None:
                out.append(child)
            elif after:
                out.append(Token("text", "", 0, content=after))
            continue
        out.append(child)
    return out


def heading_text(inline: Token) -> str:
    """The plain text of a heading's inline token (markup stripped)."""
    return "".join(c.content for c in inline.children or () if c.type in ("text", "code_inline"))


def self_contained_tokens(tokens: list[Token], images: Mapping[str, bytes]) -> list[Token]:
    """The parsed report with images embedded, outbound links unlinked and numeric table
    cells marked ``class="num"`` (right-aligned)."""
    for i, token in enumerate(tokens):
        if token.type != "inline" or token.children is None:
            continue
        for child in token.children:
            if child.type == "image":
                embedded_image(child, images)
        token.children = unlinked(token.children)
        if i > 0 and tokens[i - 1].type == "td_open" and _NUMERIC_CELL.match(token.content):
            tokens[i - 1].attrJoin("class", "num")
    return tokens


def table_of_contents(tokens: Sequence[Token]) -> str:
    """``<nav>`` listing every h2 of the report, linked to its ``id``."""
    items = [f'<li><a href="#{html.escape(str(t.attrGet("id")))}">'
             f"{html.escape(heading_text(tokens[i + 1]))}</a></li>"
             for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
    return ('<nav class="toc" aria-label="Contents">\n<p class="toc-title">Contents</p>\n'
            "<ol>\n" + "\n".join(items) + "\n</ol>\n</nav>\n")


def document_title(tokens: Sequence[Token], default: str = "Financial plan") -> str:
    """The text of the first h1, else ``default``."""
    for i, t in enumerate(tokens):
        if t.type == "heading_open" and t.tag == "h1":
            return heading_text(tokens[i + 1]) or default
    return default


def report_html(markdown_text: str, images: Mapping[str, bytes]) -> str:
    """The report as one HTML document (UTF-8 text).

    ``images`` maps each image path as the Markdown writes it (``charts/revenue_fan.png``) to
    the PNG's bytes; raises ValueError naming the path when the Markdown references an image
    that is missing or not a PNG. Links that leave the page become text. Deterministic: the
    same arguments give the same string.
    """
    md = markdown_parser()
    env: dict = {}
    tokens = self_contained_tokens(md.parse(markdown_text, env), images)
    body = md.renderer.render(tokens, md.options, env)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        f"<title>{html.escape(document_title(tokens))}</title>\n"
        f"<style>\n{STYLESHEET}</style>\n</head>\n<body>\n<div class=\"layout\">\n"
        f"{table_of_contents(tokens)}<main>\n{body}</main>\n</div>\n</body>\n</html>\n"
    )
