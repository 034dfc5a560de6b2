"""The problem-type pages: plain, self-contained HTML (no script, no external asset).

Every text is escaped. Links are relative, so the pages work under any path prefix.
"""

from __future__ import annotations

from html import escape

from app.apidocs.catalogue import ProblemType
from app.errors import PROBLEM_BASE

STYLE = """
body { font: 1rem/1.5 system-ui, sans-serif; color: #1a1a1a; background: #fff;
  max-width: 46rem; margin: 0 auto; padding: 1rem; }
a { color: #0b4f9c; }
a:focus { outline: 3px solid #f0b400; outline-offset: 2px; }
code { font-family: ui-monospace, monospace; background: #f2f2f2; padding: 0 .2em; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; font-weight: bold; padding: .5rem 0; }
th, td { text-align: left; vertical-align: top; padding: .4rem .6rem;
  border-bottom: 1px solid #c8c8c8; }
dt { font-weight: bold; }
dd { margin: 0 0 .5rem 0; }
"""


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        '<link rel="icon" href="data:,">\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def problem_page(problem: ProblemType) -> str:
    """The page served at ``/problems/{slug}``."""
    variants = ""
    if problem.variants:
        items = "".join(f"<li>{escape(title)}</li>\n" for title in problem.variants)
        variants = (
            "<h2>Titles you may see</h2>\n"
            "<p>More specific errors of this type carry their own title:</p>\n"
            f"<ul>\n{items}</ul>\n"
        )
    body = (
        '<nav aria-label="Problem types"><p><a href="./">All problem types</a></p></nav>\n'
        f"<main>\n<h1>{escape(problem.title)}</h1>\n<dl>\n"
        f"<dt>Problem type</dt><dd><code>{escape(PROBLEM_BASE + problem.slug)}</code></dd>\n"
        f"<dt>HTTP status</dt><dd>{escape(problem.status_phrase)}</dd>\n</dl>\n"
        f"<h2>What it means</h2>\n<p>{escape(problem.description)}</p>\n"
        f"<h2>What to do</h2>\n<p>{escape(problem.remedy)}</p>\n{variants}"
        "<p>Every problem answer is <code>application/problem+json</code> (RFC 9457): "
        "<code>type</code> is this page, <code>detail</code> says what happened to your "
        "request. Quote the answer's <code>X-Request-ID</code> when you report it.</p>\n"
        "</main>\n"
    )
    return _document(f"{problem.title} ({problem.slug}) – registry problem type", body)


def index_page(problems: list[ProblemType]) -> str:
    """The page served at ``/problems/``: every problem type, by status."""
    rows = "".join(
        f'<tr><td><a href="{escape(p.slug)}">{escape(p.slug)}</a></td>'
        f"<td>{escape(p.status_phrase)}</td><td>{escape(p.title)}</td></tr>\n"
        for p in problems
    )
    body = (
        "<main>\n<h1>Problem types</h1>\n"
        "<p>Every error of the registry's API is <code>application/problem+json</code> "
        "(RFC 9457). Its <code>type</code> is one of these pages: what the problem means "
        "and what your system should do.</p>\n"
        "<table>\n<caption>Problem types, by HTTP status</caption>\n"
        '<thead><tr><th scope="col">Type</th><th scope="col">HTTP status</th>'
        '<th scope="col">Title</th></tr></thead>\n'
        f"<tbody>\n{rows}</tbody>\n</table>\n</main>\n"
    )
    return _document("Problem types – suspicious-account registry", body)
