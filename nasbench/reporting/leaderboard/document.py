"""The leaderboard's document model and its two renderers, HTML and Markdown.

Sections add blocks (headings, paragraphs, bullets, tables, images, code, details) to a
:class:`Document`; :func:`render_html` writes them as one static page (figures embedded
as base64 PNG, no JavaScript, no external resources) and :func:`render_markdown` as
Markdown for a repository (figures linked in a folder beside it), so both documents say
the same thing.

The page is one column (``<main>``) that never scrolls sideways, from a phone's 390 px to
a desktop: long unbreakable cell text (architecture strings, checksums, paths) wraps
anywhere, code and tracebacks wrap, figures shrink to the column, and a table with more
columns than a narrow screen holds scrolls inside its own box.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from nasbench.reporting import markdown

__all__ = [
    "Block",
    "Bullets",
    "Code",
    "Details",
    "Document",
    "Heading",
    "Image",
    "Paragraph",
    "Table",
    "render_html",
    "render_markdown",
]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]  # right-aligned columns


@dataclass(frozen=True)
class Image:
    file_name: str
    alt: str
    caption: str
    png: bytes
    plot: str  # kind of plot: anytime, critical-difference, pareto, weights


@dataclass(frozen=True)
class Code:
    text: str
    language: str


@dataclass(frozen=True)
class Details:
    """A collapsed block: ``text`` (code in ``language``) under a one-line ``summary``."""

    summary: str
    text: str
    language: str = "text"


Block = Heading | Paragraph | Bullets | Table | Image | Code | Details


class Document:
    """Blocks shared by the HTML and Markdown renderers."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._anchors: set[str] = set()

    def heading(self, level: int, text: str) -> None:
        """A heading with an anchor made from its text, unique in the document."""
        base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
        anchor, number = base, 2
        while anchor in self._anchors:
            anchor, number = f"{base}-{number}", number + 1
        self._anchors.add(anchor)
        self.blocks.append(Heading(level, text, anchor))

    def paragraph(self, text: str) -> None:
        self.blocks.append(Paragraph(text))

    def bullets(self, items: Sequence[str]) -> None:
        """A bullet list; nothing when ``items`` is empty."""
        if items:
            self.blocks.append(Bullets(tuple(items)))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]) -> None:
        self.blocks.append(Table(tuple(header), tuple(tuple(row) for row in rows), tuple(numeric)))

    def image(self, stem: str, alt: str, caption: str, png: bytes, plot: str) -> None:
        """A figure; its file name is its number in the document and a slug of ``stem``."""
        number = sum(isinstance(block, Image) for block in self.blocks) + 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower()
        self.blocks.append(Image(f"{number:02d}-{slug}.png", alt, caption, png, plot))

    def code(self, text: str, language: str = "") -> None:
        self.blocks.append(Code(text, language))

    def details(self, summary: str, text: str, language: str = "text") -> None:
        self.blocks.append(Details(summary, text, language))

    def retitle(self, text: str) -> None:
        """Replace the text of the first level-1 heading (add one first when there is none);
        runs of whitespace, line breaks included, become one space."""
        text = " ".join(text.split())
        for index, block in enumerate(self.blocks):
            if isinstance(block, Heading) and block.level == 1:
                self.blocks[index] = Heading(1, text, block.anchor)
                return
        self.blocks.insert(0, Heading(1, text, "title"))
        self._anchors.add("title")

    @property
    def title(self) -> str:
        """The text of the first level-1 heading ('' without one)."""
        return next((b.text for b in self.blocks if isinstance(b, Heading) and b.level == 1), "")

    @property
    def images(self) -> list[Image]:
        return [block for block in self.blocks if isinstance(block, Image)]


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1b1b1b;line-height:1.45}
main{max-width:1100px;margin:2em auto;padding:0 1em;overflow-wrap:break-word}
h1,h2,h3{line-height:1.2}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ccc;padding:.25em .6em;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.wrap,td.code{overflow-wrap:anywhere}
td.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
figure{margin:1em 0}figure img{max-width:100%;height:auto}figcaption{font-size:.9em;color:#444}
pre{background:#f6f6f6;padding:.6em;font-size:.85em;white-space:pre-wrap;overflow-wrap:anywhere}
nav ul{columns:2}details{margin:.3em 0}summary{cursor:pointer}
@media (max-width:600px){main{margin:1em auto;padding:0 .6em}nav ul{columns:1}th,td{padding:.2em .35em}}
""".strip()

#: A cell holding a word longer than this wraps anywhere, so it cannot widen its table.
LONG_WORD = 24
#: Cells set as code: an architecture string (``|op~0|+|...``) or a checksum.
_CODE_CELL = re.compile(r"\|[^|\s]+~\d+\|.*|(sha256:)?[0-9a-f]{32,}", re.DOTALL)


def _cell_class(cell: str, numeric: bool) -> str:
    """The class of a table cell: num (right-aligned), code, wrap (a long word), or none."""
    if numeric:
        return "num"
    if _CODE_CELL.fullmatch(cell):
        return "code"
    if any(len(word) > LONG_WORD for word in cell.split()):
        return "wrap"
    return ""


def _html_table(block: Table) -> str:
    escape = html.escape
    head = "".join(f"<th>{escape(cell)}</th>" for cell in block.header)
    rows = []
    for row in block.rows:
        cells = []
        for cell, numeric in zip(row, block.numeric, strict=True):
            kind = _cell_class(cell, numeric)
            cells.append(f'<td class="{kind}">{escape(cell)}</td>' if kind else f"<td>{escape(cell)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(document: Document, title: str) -> str:
    """One static page; level-2 headings are linked from a contents list under the title."""
    escape = html.escape
    body: list[str] = []
    contents = [block for block in document.blocks if isinstance(block, Heading) and block.level == 2]
    for block in document.blocks:
        if isinstance(block, Heading):
            body.append(f'<h{block.level} id="{block.anchor}">{escape(block.text)}</h{block.level}>')
            if block.level == 1 and contents:
                links = "".join(f'<li><a href="#{h.anchor}">{escape(h.text)}</a></li>' for h in contents)
                body.append(f"<nav><ul>{links}</ul></nav>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{escape(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            body.append(_html_table(block))
        elif isinstance(block, Image):
            data = base64.b64encode(block.png).decode("ascii")
            body.append(
                f'<figure><img id="{escape(block.file_name[:-4])}" data-plot="{block.plot}" '
                f'alt="{escape(block.alt)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{escape(block.caption)}</figcaption></figure>"
            )
        elif isinstance(block, Code):
            body.append(f"<pre><code>{escape(block.text)}</code></pre>")
        else:
            body.append(
                f"<details><summary>{escape(block.summary)}</summary><pre><code>{escape(block.text)}</code></pre>"
                "</details>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<link rel="icon" href="data:,">\n<title>{escape(title)}</title>\n<style>\n{_CSS}\n</style>\n'
        "</head>\n<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


def render_markdown(document: Document, files_link: str) -> str:
    """Markdown; figures are linked as ``files_link/<file name>`` (a URL-quoted folder).

    Every block holds plain text, much of it from outside (table and strategy names,
    architecture strings, error messages): it is escaped here, the one place text becomes
    Markdown, with :func:`markdown.text` (:func:`markdown.line` where a block begins), and
    code and tracebacks go in fences they cannot close (:func:`markdown.fence`)."""
    text, line = markdown.text, markdown.line
    parts: list[str] = []
    for block in document.blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {text(block.text)}")
        elif isinstance(block, Paragraph):
            parts.append(line(block.text))
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {line(item)}" for item in block.items))
        elif isinstance(block, Table):
            parts.append(markdown.table(block.header, block.rows, numeric=block.numeric))
        elif isinstance(block, Image):
            alt = text(block.alt.replace("[", "(").replace("]", ")"))
            parts.append(f"![{alt}]({files_link}/{quote(block.file_name)})\n\n*{text(block.caption)}*")
        elif isinstance(block, Code):
            parts.append(markdown.fence(block.text, block.language))
        else:
            parts.append(
                f"<details><summary>{html.escape(' '.join(block.summary.split()))}</summary>\n\n"
                f"{markdown.fence(block.text, block.language)}\n\n</details>"
            )
    return "\n\n".join(parts) + "\n"
