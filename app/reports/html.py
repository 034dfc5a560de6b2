"""The report as one self-contained HTML page: inline CSS and SVG, nothing fetched.

Vietnamese first with the English label beside it. A Content-Security-Policy meta tag
forbids every network load, so even a saved copy opened from disk stays offline.
``render_body`` is the report itself (headline cards, charts, table, notes), which the
staff console shows inside its own page; ``render_html`` wraps it into the document.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from html import escape
from pathlib import Path

from app.reports.charts import draw_charts
from app.reports.labels import Cell, lines
from app.reports.periods import VIETNAM
from app.reports.schemas import Report

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# The report's stylesheet: inlined here, served as a file by the staff console.
STYLESHEET = Path(__file__).with_name("report.css")


@cache
def stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


# (Vietnamese, English, section, metric) of the headline cards.
CARDS = (
    ("Lượt gắn cờ mới", "New flags", "flags", "new"),
    ("Cảnh báo đã phát", "Warnings issued", "warnings", "issued"),
    ("Giao dịch đã hủy", "Transfers cancelled", "warnings", "cancelled"),
    ("Số tiền được bảo vệ (VND)", "VND protected", "warnings", "protected_vnd"),
    ("Tiền bị phong tỏa (VND)", "Money frozen (VND)", "recovery", "frozen_vnd"),
    ("Tiền trả lại nạn nhân (VND)", "Money returned (VND)", "recovery", "returned_vnd"),
    ("Khiếu nại mới", "Disputes opened", "disputes", "opened"),
    ("Đang bị liệt kê cuối kỳ", "Listed at end", "risk", "listed"),
    ("Lượt tra cứu", "Lookups", "lookups", "lookups"),
)

NOTES = (
    "Mọi số liệu được tính lại từ lịch sử thay đổi bất biến; báo cáo của một kỳ đã kết thúc "
    "không thay đổi khi tính lại sau này. / Every figure is rebuilt from the immutable change "
    "history; a report for an ended period does not change when computed again later.",
    "Kỳ báo cáo theo giờ Việt Nam (UTC+7), gồm thời điểm bắt đầu, không gồm thời điểm kết thúc. "
    "/ Periods are in Vietnam time (UTC+7), start included, end excluded.",
    "Kết quả sau cảnh báo được tính vào tháng báo kết quả (outcome_at). / Warning outcomes "
    "count in the month the outcome was reported (outcome_at).",
    "Mức rủi ro và khiếu nại quá hạn được đọc tại cuối kỳ (hoặc hiện tại nếu kỳ chưa kết thúc). "
    "/ Risk levels and overdue disputes are read at the period end (or now, while it is open).",
)


def number(value: Cell) -> str:
    """Vietnamese number style: ``1.234.567`` and ``2,5``; booleans as Có/Yes."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "Có / Yes" if value else "Chưa / No"
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    return escape(value)


def _when(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def _head(report: Report) -> str:
    status = (
        '<span class="status complete">Đã kết thúc / Complete</span>'
        if report.complete
        else '<span class="status partial">Chưa kết thúc, số liệu tạm thời / '
        "Not yet ended, partial figures</span>"
    )
    return (
        "<header><h1>Báo cáo định kỳ cơ sở dữ liệu tài khoản nghi vấn "
        '<span class="en">/ Suspicious-account registry report</span></h1>'
        f"<p>Kỳ / Period: <strong>{escape(report.period)}</strong> · "
        f"{_when(report.start)} → {_when(report.end)} (UTC+7) {status}</p></header>"
    )


def _cards(report: Report) -> str:
    cards = []
    for vi, en, section, metric in CARDS:
        value = getattr(getattr(report.totals, section), metric)
        cards.append(
            f'<div class="card"><div class="value">{number(value)}</div>'
            f'<div class="label">{escape(vi)} / {escape(en)}</div></div>'
        )
    return '<section class="cards">' + "".join(cards) + "</section>"


def _row(label: str, values: list[Cell], css: str = "") -> str:
    cells = "".join(f'<td class="num">{number(value)}</td>' for value in values)
    return f"<tr{css}><td>{label}</td>{cells}</tr>"


def _table(report: Report) -> str:
    """The full figure table: dict-valued metrics get a heading row, then one row per key."""
    head = "<tr><th>Chỉ số / Metric</th><th>Tổng / Total</th>"
    head += "".join(f"<th>{escape(m.month)}</th>" for m in report.months) + "</tr>"
    complete: list[Cell] = [report.complete, *(m.complete for m in report.months)]
    body = [_row("Số liệu đầy đủ / Complete", complete)]
    group: tuple[str, str] | None = None
    for line in lines(report):
        values: list[Cell] = [line.value(report.totals)]
        values += [line.value(m.figures) for m in report.months]
        if not line.key:
            body.append(_row(_bilingual(line.metric_vi, line.metric_en), values))
            continue
        if group != (line.section, line.metric):
            group = (line.section, line.metric)
            title = _bilingual(line.metric_vi, line.metric_en)
            body.append(f'<tr class="group"><td colspan="{len(values) + 1}">{title}</td></tr>')
        body.append(_row(_bilingual(line.key_vi, line.key_en), values, ' class="key"'))
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def _bilingual(vi: str, en: str) -> str:
    return f'{escape(vi)} <span class="en">/ {escape(en)}</span>'


def render_body(report: Report) -> str:
    """The report's markup, without the document around it: one ``<div class="report">``
    with no inline style or script (its charts are SVG with presentation attributes)."""
    charts = "".join(f'<figure class="chart">{svg}</figure>' for svg in draw_charts(report))
    notes = "".join(f"<p>{escape(note)}</p>" for note in NOTES)
    return (
        f'<div class="report">{_head(report)}'
        "<h2>Số liệu chính <span class='en'>/ Key figures</span></h2>"
        f"{_cards(report)}"
        "<h2>Biểu đồ <span class='en'>/ Charts</span></h2>"
        f"{charts}"
        "<h2>Bảng số liệu theo tháng <span class='en'>/ Figures by month</span></h2>"
        f"{_table(report)}<footer>{notes}</footer></div>"
    )


def render_html(report: Report) -> bytes:
    """The whole page, UTF-8; charts are inline SVG, so it renders with no network."""
    page = (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Báo cáo định kỳ / Periodic report {escape(report.period)}</title>"
        f'<style>{stylesheet()}</style></head><body class="report">{render_body(report)}'
        "</body></html>"
    )
    return page.encode("utf-8")
