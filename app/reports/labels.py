"""Vietnamese and English labels of report figures; one table feeds CSV, XLSX and HTML."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from pydantic import BaseModel

from app.reference.catalogue import typologies
from app.reports.schemas import Figures, Report

ORG_KINDS = {
    "bank": ("Ngân hàng", "Bank"),
    "ewallet": ("Ví điện tử", "E-wallet"),
    "telecom": ("Nhà mạng", "Telecom"),
    "police": ("Công an", "Police"),
    "regulator": ("Cơ quan quản lý", "Regulator"),
    "auditor": ("Kiểm toán", "Auditor"),
    "operator": ("Vận hành", "Operator"),
}
IDENTIFIER_KINDS = {
    "bank_account": ("Tài khoản ngân hàng", "Bank account"),
    "ewallet": ("Ví điện tử", "E-wallet"),
    "phone": ("Số điện thoại", "Phone number"),
}
RISKS = {
    "none": ("Không còn rủi ro", "None (no longer listed)"),
    "low": ("Thấp", "Low"),
    "medium": ("Trung bình", "Medium"),
    "high": ("Cao", "High"),
}
ACTIONS = {"warn": ("Cảnh báo", "Warn"), "hold": ("Tạm giữ", "Hold")}

Value = int | float | bool | None


@dataclass(frozen=True, slots=True)
class Line:
    """One row of the figure table: a metric (and key) with its value in any ``Figures``."""

    section: str
    metric: str
    key: str
    metric_vi: str
    metric_en: str
    key_vi: str
    key_en: str
    value: Callable[[Figures], Value]

    @property
    def label_vi(self) -> str:
        return f"{self.metric_vi}: {self.key_vi}" if self.key else self.metric_vi

    @property
    def label_en(self) -> str:
        return f"{self.metric_en}: {self.key_en}" if self.key else self.metric_en


@cache
def _category_names() -> dict[str, tuple[str, str]]:
    return {t.code: (t.name_vi, t.name_en) for t in typologies()}


def _key_names(metric: str) -> dict[str, tuple[str, str]]:
    if metric == "by_category":
        return _category_names()
    if metric == "by_identifier_kind":
        return IDENTIFIER_KINDS
    if metric == "by_level":
        return RISKS
    if metric == "by_action":
        return ACTIONS
    return ORG_KINDS


# (section, metric, Vietnamese, English); dict-valued metrics expand to one line per key.
METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("flags", "new", "Lượt gắn cờ mới", "New flags"),
    ("flags", "by_category", "Cờ mới theo loại lừa đảo", "New flags by category"),
    ("flags", "by_identifier_kind", "Cờ mới theo loại định danh", "New flags by identifier"),
    ("flags", "by_organisation_kind", "Cờ mới theo đơn vị báo cáo", "New flags by reporter"),
    ("flags", "confirmed", "Cờ được xác nhận", "Confirmations"),
    ("flags", "rejected", "Cờ bị bác bỏ", "Rejections"),
    ("flags", "expired", "Cờ hết hạn", "Expiries"),
    ("flags", "withdrawn", "Cờ bị rút lại", "Withdrawals"),
    ("flags", "cleared", "Cờ gỡ do khiếu nại", "Cleared by disputes"),
    ("risk", "by_level", "Mức rủi ro cuối kỳ", "Risk level at end"),
    ("risk", "listed", "Đang bị liệt kê cuối kỳ", "Listed at end"),
    ("disputes", "opened", "Khiếu nại mới", "Disputes opened"),
    ("disputes", "upheld", "Khiếu nại được chấp nhận", "Disputes upheld"),
    ("disputes", "rejected", "Khiếu nại bị bác", "Disputes rejected"),
    ("disputes", "overdue", "Khiếu nại quá hạn cuối kỳ", "Disputes overdue at end"),
    ("disputes", "median_days_to_resolve", "Số ngày xử lý (trung vị)", "Median days to resolve"),
    ("recovery", "frozen_vnd", "Tiền bị phong tỏa (VND)", "Money frozen (VND)"),
    ("recovery", "released_vnd", "Tiền được giải tỏa (VND)", "Money released (VND)"),
    ("recovery", "returned_vnd", "Tiền trả lại nạn nhân (VND)", "Money returned (VND)"),
    ("recovery", "entries", "Bút toán thu hồi", "Recovery entries"),
    ("holds", "requested", "Yêu cầu tạm giữ", "Holds requested"),
    ("holds", "held", "Yêu cầu đã tạm giữ tiền", "Holds held"),
    ("holds", "declined", "Yêu cầu bị từ chối", "Holds declined"),
    ("holds", "confirmed", "Tạm giữ được công an xác nhận", "Holds confirmed"),
    ("holds", "lapsed", "Tạm giữ hết hạn", "Holds lapsed"),
    ("holds", "held_vnd", "Tiền tạm giữ (VND)", "Money held (VND)"),
    ("holds", "returned_vnd", "Tiền trả lại qua tạm giữ (VND)", "Returned through holds (VND)"),
    (
        "holds",
        "median_hours_to_respond",
        "Số giờ phản hồi (trung vị)",
        "Median hours to respond",
    ),
    ("warnings", "issued", "Cảnh báo đã phát", "Warnings issued"),
    ("warnings", "by_action", "Cảnh báo theo hành động", "Warnings by action"),
    ("warnings", "cancelled", "Giao dịch đã hủy", "Transfers cancelled"),
    ("warnings", "proceeded", "Giao dịch vẫn thực hiện", "Transfers proceeded"),
    ("warnings", "protected_vnd", "Số tiền được bảo vệ (VND)", "VND protected"),
    ("lookups", "lookups", "Lượt tra cứu", "Lookups"),
    ("lookups", "warned", "Tra cứu có cảnh báo", "Lookups warned"),
    ("lookups", "by_organisation_kind", "Tra cứu theo loại đơn vị", "Lookups by org kind"),
    (
        "lookups",
        "warned_by_organisation_kind",
        "Tra cứu có cảnh báo theo loại đơn vị",
        "Warned lookups by org kind",
    ),
    ("lookups", "public_checks", "Lượt kiểm tra của người dân", "Public checks"),
    (
        "lookups",
        "public_checks_listed",
        "Kiểm tra của người dân có báo cáo",
        "Public checks of reported accounts",
    ),
)


def _scalar(section: str, metric: str) -> Callable[[Figures], Value]:
    def value(figures: Figures) -> Value:
        part: BaseModel = getattr(figures, section)
        result: Value = getattr(part, metric)
        return result

    return value


def _keyed(section: str, metric: str, key: str) -> Callable[[Figures], Value]:
    def value(figures: Figures) -> Value:
        counts: dict[str, int] = getattr(getattr(figures, section), metric)
        return counts.get(key, 0)

    return value


def lines(report: Report) -> list[Line]:
    """Every figure of the report, in reading order, keys taken from the period totals."""
    out: list[Line] = []
    for section, metric, vi, en in METRICS:
        current = getattr(getattr(report.totals, section), metric)
        if not isinstance(current, dict):
            out.append(Line(section, metric, "", vi, en, "", "", _scalar(section, metric)))
            continue
        names = _key_names(metric)
        for key in current:
            key_vi, key_en = names.get(key, (key, key))
            value = _keyed(section, metric, key)
            out.append(Line(section, metric, key, vi, en, key_vi, key_en, value))
    return out


Cell = str | int | float | bool | None


def header(report: Report) -> list[str]:
    return ["section", "metric", "key", "label_vi", "label_en", "total"] + [
        m.month for m in report.months
    ]


def table(report: Report) -> list[list[Cell]]:
    """The figure table: one row per line, the period total, then one column per month."""
    complete: list[Cell] = ["report", "complete", "", "Số liệu đầy đủ", "Complete"]
    complete += [report.complete, *(m.complete for m in report.months)]
    rows = [complete]
    for line in lines(report):
        prefix: list[Cell] = [line.section, line.metric, line.key, line.label_vi, line.label_en]
        values: list[Cell] = [line.value(report.totals)]
        values += [line.value(m.figures) for m in report.months]
        rows.append(prefix + values)
    return rows
