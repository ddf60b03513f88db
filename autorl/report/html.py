"""Small HTML building blocks. Plain ``str`` is text and gets escaped; ``Html`` is markup."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

import plotly.graph_objects as go

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


class Html(str):
    """A string that is already safe markup: built here, from escaped pieces."""


Cell = str | Html


def esc(value: Any) -> Html:
    """Escape anything (str() of it) for use as HTML text or attribute."""
    return value if isinstance(value, Html) else Html(html.escape(str(value), quote=True))


def join(parts: Iterable[Cell], sep: str = "\n") -> Html:
    return Html(sep.join(esc(p) for p in parts))


def tag(name: str, content: Cell = "", **attrs: str) -> Html:
    """``<name attr="...">content</name>``; ``class_`` becomes ``class``."""
    rendered = "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return Html(f"<{name}{rendered}>{esc(content)}</{name}>")


def para(text: Cell, class_: str = "") -> Html:
    return tag("p", text, class_=class_) if class_ else tag("p", text)


def note(text: Cell) -> Html:
    """A sentence in place of something that could not be shown."""
    return para(text, class_="note")


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], class_: str = "") -> Html:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    cls = f' class="{esc(class_)}"' if class_ else ""
    return Html(f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def key_values(rows: Iterable[tuple[str, Cell]]) -> Html:
    """A two-column table of labels and values."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return Html(f'<table class="kv"><tbody>{body}</tbody></table>')


def compact_json(data: Any, width: int = 88, level: int = 0) -> str:
    """Indented JSON, but any list or object that fits on one line stays on one line."""
    flat = json.dumps(data, default=str)
    if not isinstance(data, (dict, list)) or not data or len(flat) + 2 * level <= width:
        return flat
    pad = "  " * (level + 1)
    if isinstance(data, dict):
        items = [
            f"{pad}{json.dumps(str(k))}: {compact_json(v, width, level + 1)}"
            for k, v in data.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    items = [pad + compact_json(v, width, level + 1) for v in data]
    return "[\n" + ",\n".join(items) + "\n" + "  " * level + "]"


def pre_json(data: Any) -> Html:
    return Html(f'<pre class="json">{esc(compact_json(data))}</pre>')


def figure(fig: go.Figure, div_id: str) -> Html:
    """A figure's div and script; plotly.js itself is in the page head, once."""
    return Html(
        '<div class="figure">'
        + fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)
        + "</div>"
    )


def section(anchor: str, title: str, *body: Cell) -> Html:
    return Html(f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>\n{join(body)}\n</section>')
