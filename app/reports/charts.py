"""Report charts drawn server-side by matplotlib (Agg backend) as inline SVG.

Text is drawn as paths with matplotlib's bundled DejaVu Sans (it covers Vietnamese), so the
page needs no font, script or network to display. Each SVG's ids get a per-chart prefix
because several SVGs share one HTML document. Matplotlib's ``style`` attributes and its
``<style>`` element become SVG presentation attributes, so a page whose Content-Security-
Policy forbids inline styles (the staff console's) still shows the charts in colour.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from app.reports.labels import ORG_KINDS, RISKS
from app.reports.schemas import Figures, Report

PALETTE = ("#1f6feb", "#d9480f", "#2b8a3e", "#9c36b5", "#e67700", "#0b7285", "#868e96")
RISK_COLOURS = ("#adb5bd", "#fab005", "#fd7e14", "#e03131")
_SVG_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_STYLE_ATTRIBUTE = re.compile(r' style="([^"]*)"')
_STYLE_ELEMENT = re.compile(r"\s*<style[^>]*>.*?</style>", re.DOTALL)
# The CSS properties matplotlib writes that are also SVG presentation attributes.
PRESENTATION = frozenset(
    {
        "fill",
        "fill-opacity",
        "fill-rule",
        "opacity",
        "stroke",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-opacity",
        "stroke-width",
    }
)
# rcParams are process-global: charts are drawn one at a time, in whatever thread.
_LOCK = threading.Lock()

Series = dict[str, list[float]]


def _months(report: Report) -> list[str]:
    return [m.month[5:] for m in report.months]


def _per_month(report: Report, value: Callable[[Figures], float]) -> list[float]:
    # Floats: matplotlib cannot take an int past 64 bits, and a sum of VND can be one.
    return [float(value(m.figures)) for m in report.months]


def _thousands(value: float, _pos: float) -> str:
    return f"{value:,.0f}".replace(",", ".")  # Vietnamese digit grouping: 1.000.000


def _bars(ax: Axes, labels: Sequence[str], series: Series, *, stacked: bool) -> None:
    positions = list(range(len(labels)))
    width = 0.8 if stacked else 0.8 / max(len(series), 1)
    bottom = [0.0] * len(labels)
    for index, (name, values) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        if stacked:
            ax.bar(positions, values, width, bottom=bottom, label=name, color=colour)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        else:
            shifted = [p - 0.4 + width * (index + 0.5) for p in positions]
            ax.bar(shifted, values, width, label=name, color=colour)
    ax.set_xticks(positions, labels)
    _value_axis(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)
    if series:
        _legend(ax)


def _value_axis(axis: Any) -> None:
    """Whole numbers only (counts and VND), grouped the Vietnamese way."""
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(_thousands))


def _legend(ax: Axes, *extra: Axes, x: float = 1.01) -> None:
    handles, labels = ax.get_legend_handles_labels()
    for other in extra:
        more_handles, more_labels = other.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    # Outside the plot, on the right, so it never hides a bar.
    ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(x, 1.0))


def _svg(chart_id: str, title: str, draw: Callable[[Axes], None], height: float = 3.2) -> str:
    figure = Figure(figsize=(11, height), layout="constrained")
    ax = figure.subplots()
    draw(ax)
    ax.set_title(title, fontsize=11, loc="left")
    buffer = io.StringIO()
    with _LOCK, matplotlib.rc_context({"svg.hashsalt": chart_id, "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata=_SVG_METADATA)
    svg = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    svg = svg.replace('id="', f'id="{chart_id}-').replace('href="#', f'href="#{chart_id}-')
    svg = svg.replace("url(#", f"url(#{chart_id}-")
    svg = _presentation_attributes(svg)
    # matplotlib's own stylesheet, ``*{stroke-linejoin: round; stroke-linecap: butt}``,
    # as attributes of the root that every element inherits.
    root = f'<svg role="img" aria-label="{title}" stroke-linejoin="round" stroke-linecap="butt" '
    return svg.replace("<svg ", root, 1)


def _attributes(style: re.Match[str]) -> str:
    """``style="fill: #fff; stroke: #000"`` as `` fill="#fff" stroke="#000"``."""
    pairs = [part.split(":", 1) for part in style.group(1).split(";") if part.strip()]
    if any(len(pair) != 2 or pair[0].strip() not in PRESENTATION for pair in pairs):
        return style.group(0)  # a property with no attribute of its own: left as it was
    return "".join(f' {name.strip()}="{value.strip()}"' for name, value in pairs)


def _presentation_attributes(svg: str) -> str:
    svg = _STYLE_ELEMENT.sub("", svg, count=1)
    return _STYLE_ATTRIBUTE.sub(_attributes, svg)


def _month_axis(report: Report) -> str:
    return f"Tháng / Month ({report.period})"


def _by_kind(report: Report, counts: Callable[[Figures], dict[str, int]]) -> Series:
    """One series per organisation kind present in the period, labelled in both languages."""
    return {
        f"{vi} / {en}": [float(counts(m.figures).get(kind, 0)) for m in report.months]
        for kind, (vi, en) in ORG_KINDS.items()
        if kind in counts(report.totals)
    }


def flags_chart(report: Report) -> str:
    def draw(ax: Axes) -> None:
        series = _by_kind(report, lambda f: f.flags.by_organisation_kind)
        _bars(ax, _months(report), series, stacked=True)
        ax.set_xlabel(_month_axis(report))

    return _svg("flags", "Cờ mới theo tháng / New flags per month", draw)


def categories_chart(report: Report) -> str:
    counts = report.totals.flags.by_category

    def draw(ax: Axes) -> None:
        codes = list(reversed(counts))
        ax.barh(codes, [float(counts[c]) for c in codes], color=PALETTE[0])
        ax.tick_params(axis="y", labelsize=7)
        _value_axis(ax.xaxis)
        ax.grid(axis="x", alpha=0.3)

    title = "Cờ mới theo loại lừa đảo / New flags by category"
    return _svg("categories", title, draw, height=5.5)


def decisions_chart(report: Report) -> str:
    def draw(ax: Axes) -> None:
        series = {
            "Xác nhận / Confirmed": _per_month(report, lambda f: f.flags.confirmed),
            "Bác bỏ / Rejected": _per_month(report, lambda f: f.flags.rejected),
            "Hết hạn / Expired": _per_month(report, lambda f: f.flags.expired),
        }
        _bars(ax, _months(report), series, stacked=False)
        ax.set_xlabel(_month_axis(report))

    return _svg("decisions", "Quyết định về cờ / Flag decisions", draw)


def risk_chart(report: Report) -> str:
    levels = report.totals.risk.by_level

    def draw(ax: Axes) -> None:
        names = [f"{RISKS[k][0]}\n{RISKS[k][1]}" for k in levels]
        ax.bar(names, [float(n) for n in levels.values()], color=RISK_COLOURS[: len(levels)])
        ax.tick_params(axis="x", labelsize=8)
        _value_axis(ax.yaxis)
        ax.grid(axis="y", alpha=0.3)

    title = "Phân bố mức rủi ro cuối kỳ / Risk levels at period end"
    return _svg("risk", title, draw)


def disputes_chart(report: Report) -> str:
    def draw(ax: Axes) -> None:
        series = {
            "Mới / Opened": _per_month(report, lambda f: f.disputes.opened),
            "Chấp nhận / Upheld": _per_month(report, lambda f: f.disputes.upheld),
            "Bác / Rejected": _per_month(report, lambda f: f.disputes.rejected),
            "Quá hạn cuối tháng / Overdue at month end": _per_month(
                report, lambda f: f.disputes.overdue
            ),
        }
        _bars(ax, _months(report), series, stacked=False)
        ax.set_xlabel(_month_axis(report))

    return _svg("disputes", "Khiếu nại / Disputes", draw)


def recovery_chart(report: Report) -> str:
    def draw(ax: Axes) -> None:
        series = {
            "Phong tỏa / Frozen": _per_month(report, lambda f: f.recovery.frozen_vnd),
            "Giải tỏa / Released": _per_month(report, lambda f: f.recovery.released_vnd),
            "Trả lại / Returned": _per_month(report, lambda f: f.recovery.returned_vnd),
        }
        _bars(ax, _months(report), series, stacked=False)
        ax.set_xlabel(_month_axis(report))
        ax.set_ylabel("VND")

    return _svg("recovery", "Thu hồi tài sản / Asset recovery (VND)", draw)


def warnings_chart(report: Report) -> str:
    def draw(ax: Axes) -> None:
        series = {
            "Cảnh báo đã phát / Warnings issued": _per_month(report, lambda f: f.warnings.issued),
            "Giao dịch đã hủy / Transfers cancelled": _per_month(
                report, lambda f: f.warnings.cancelled
            ),
        }
        _bars(ax, _months(report), series, stacked=False)
        ax.set_xlabel(_month_axis(report))
        protected = ax.twinx()
        values = _per_month(report, lambda f: f.warnings.protected_vnd)
        label = "Số tiền được bảo vệ / VND protected"
        protected.plot(range(len(values)), values, color=PALETTE[2], marker="o", label=label)
        protected.set_ylabel("VND", fontsize=8)
        _value_axis(protected.yaxis)
        # Both axes' entries in one legend, placed beyond the right-hand VND axis.
        _legend(ax, protected, x=1.14)

    return _svg("warnings", "Cảnh báo và giao dịch đã hủy / Warnings and cancellations", draw)


def lookups_chart(report: Report) -> str:
    def draw(ax: Axes) -> None:
        series = _by_kind(report, lambda f: f.lookups.by_organisation_kind)
        _bars(ax, _months(report), series, stacked=True)
        ax.set_xlabel(_month_axis(report))

    return _svg("lookups", "Lượt tra cứu theo loại đơn vị / Lookups by organisation kind", draw)


CHARTS: tuple[Callable[[Report], str], ...] = (
    flags_chart,
    categories_chart,
    decisions_chart,
    risk_chart,
    disputes_chart,
    recovery_chart,
    warnings_chart,
    lookups_chart,
)


def draw_charts(report: Report) -> list[str]:
    """Every chart of the report, as SVG markup ready to inline."""
    return [chart(report) for chart in CHARTS]
