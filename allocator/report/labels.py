"""Words and numbers on the pages, in Vietnamese (the default) or English.

Vietnamese writes 1.234.567 and 12,5%; English writes 1,234,567 and 12.5%
(allocator.report.numbers holds the rules).
"""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup

from allocator.report import numbers
from allocator.report.map_labels import MAP_LABELS

LANGS = ("vi", "en")

LABELS: dict[str, tuple[str, str]] = {
    **MAP_LABELS,  # the maps' keys
    # KPIs
    "eligible": ("Hộ đủ điều kiện", "Eligible households"),
    "served": ("Hộ được nhận máy", "Households served"),
    "coverage_poor": ("Độ phủ hộ nghèo", "Coverage of poor households"),
    "coverage_near_poor": ("Độ phủ hộ cận nghèo", "Coverage of near-poor households"),
    "budget": ("Ngân sách đã dùng / tổng", "Budget used / total"),
    "devices_left": ("Máy còn lại trong kho", "Devices left in stock"),
    "status": ("Trạng thái", "Status"),
    "priority_weight": ("Tổng điểm ưu tiên của các hộ được nhận",
                        "Total priority points of the households served"),
    "distance": ("Tổng quãng đường (km)", "Total distance (km)"),
    # sections
    "coverage_by_commune": ("Độ phủ theo xã, phường", "Coverage by commune"),
    "unserved_by_reason": ("Hộ chưa được nhận, theo lý do", "Unserved households by reason"),
    "lot_use": ("Sử dụng từng lô máy", "Use of each lot"),
    "point_use": ("Sử dụng từng điểm nhận", "Use of each point"),
    "map_note": ("Kích thước chấm: số hộ đủ điều kiện.", "Dot size: eligible households."),
    "off_map": ("Ngoài bản đồ (đảo xa)", "Off the map (far islands)"),
    "sort_hint": ("Bấm tiêu đề cột để sắp xếp.", "Click a column heading to sort."),
    # columns
    "code": ("Mã", "Code"), "commune": ("Xã, phường", "Commune"),
    "coverage": ("Độ phủ", "Coverage"), "lot": ("Lô", "Lot"), "sponsor": ("Nhà tài trợ", "Sponsor"),
    "model": ("Mẫu máy", "Model"), "given": ("Đã phân bổ", "Allocated"),
    "quantity": ("Số lượng", "Quantity"), "point": ("Điểm nhận", "Point"),
    "name": ("Tên", "Name"), "handed": ("Đã phân bổ", "Allocated"),
    "capacity": ("Sức chứa", "Capacity"),
    "collected": ("Đã trao máy", "Handed over"), "pending": ("Chưa trao", "Pending"),
    "reason": ("Lý do", "Reason"), "households": ("Số hộ", "Households"),
    "devices": ("Số máy", "Devices"), "use": ("Tỷ lệ sử dụng", "Use rate"),
    "reason_code": ("Mã lý do", "Reason code"),
    # reasons
    "received_earlier": ("Đã nhận máy ở đợt trước", "Received a device earlier"),
    "duplicate_identity": ("Trùng số CCCD", "Duplicate citizen ID"),
    "not_eligible_status": ("Không thuộc diện", "Not an eligible status"),
    "no_2g_handset": ("Không dùng máy 2G", "No 2G-only handset"),
    "has_smartphone": ("Đã có điện thoại thông minh", "Already has a smartphone"),
    "no_compatible_lot": ("Không có máy phù hợp", "No compatible lot"),
    "no_point_in_reach": ("Không có điểm nhận trong tầm", "No point in reach"),
    "outranked": ("Đủ điều kiện, chưa được nhận vì ngân sách, máy hoặc chỗ không đủ",
                  "Eligible, not served: the budget, stock or room ran short"),
    # not eligible, and eligible but not served (allocator.report.reasons)
    "not_eligible_group": ("Không đủ điều kiện", "Not eligible"),
    "not_eligible_note": ("Các hộ này không được xét trong đợt, theo quy tắc nêu ở từng dòng.",
                          "These households were not considered, by the rule on each line."),
    "eligible_unserved_group": ("Đủ điều kiện nhưng chưa được nhận", "Eligible, not served"),
    "eligible_unserved_note": (
        "Điều đã chặn các hộ này: ngân sách, máy phù hợp còn trong kho, hoặc chỗ ở các điểm "
        "nhận trong tầm. Các hộ vẫn có tên để xét ở đợt sau.",
        "What stopped them: the budget, the stock of suitable lots, or the room at the points "
        "within reach. They stay on the list for the next round."),
    "rule": ("Quy tắc", "Rule"), "what_stopped_them": ("Điều đã chặn", "What stopped them"),
    "rule_not_eligible_status": ("Không thuộc diện của đợt (đợt dành cho {statuses})",
                                 "Not a status the round is for (it is for {statuses})"),
    "cause_budget": ("Ngân sách không đủ: chỉ còn {left}, mà máy phù hợp rẻ nhất cần ngân "
                     "sách chi {cost}", "Budget: {left} left, the cheapest suitable phone costs "
                     "the budget {cost}"),
    "cost_range": ("từ {low} đến {high}", "{low} to {high}"),
    "cause_stock": ("Hết máy phù hợp: mọi lô phù hợp đã phát hết",
                    "Stock: every suitable lot is given out"),
    "cause_capacity": ("Hết chỗ: mọi điểm nhận trong tầm đã kín",
                       "Capacity: every point within reach is full"),
    "cause_priority": ("Xếp sau theo thứ tự ưu tiên: ngân sách, máy và chỗ còn lại đã dành cho "
                       "hộ ưu tiên hơn", "Priority: the budget, stock and room left went to "
                       "households of higher priority"),
    "cause_no_compatible_lot": ("Không có lô máy nào phù hợp với diện, xã, phường và nhu cầu "
                                "của hộ", "No lot suits the household's status, commune and "
                                "needs"),
    "cause_no_point_in_reach": ("Không có điểm nhận ở xã, phường của hộ hoặc trong vòng {km} km",
                                "No point in the household's commune or within {km} km"),
    "common_details": ("Lý do chi tiết thường gặp (như cột detail của unserved.csv)",
                       "The most common details (as unserved.csv's detail column gives them)"),
    "more_details": ("Còn {n} lý do chi tiết khác trong unserved.csv.",
                     "{n} more details are in unserved.csv."),
    # statuses and groups
    "poor": ("Hộ nghèo", "Poor"), "near_poor": ("Hộ cận nghèo", "Near-poor"),
    "other": ("Hộ khác", "Other"), "merit_family": ("Gia đình có công", "Merit family"),
    "elderly_alone": ("Người cao tuổi sống một mình", "Elderly living alone"),
    "disability": ("Người khuyết tật", "Disability"),
    # round statuses
    "draft": ("Nháp", "Draft"), "solving": ("Đang tính", "Solving"),
    "solved": ("Đã tính, chờ duyệt", "Solved, awaiting approval"),
    "approved": ("Đã phê duyệt", "Approved"), "closed": ("Đã đóng", "Closed"),
    "failed": ("Lỗi khi tính", "Failed"),
    "pickup_over": ("Hết hạn nhận máy", "Pickup period over"),
    "superseded": ("Đã được thay bằng phương án mới", "Superseded by a re-plan"),
    "OPTIMAL": ("Tối ưu đã chứng minh", "Proven optimal"),
    "FEASIBLE": ("Khả thi (chưa chứng minh tối ưu)", "Feasible (optimality not proven)"),
    "INFEASIBLE": ("Không khả thi", "Infeasible"),
    "NO_SOLUTION": ("Chưa tìm được lời giải trong thời gian cho phép",
                    "No solution within the time limit"),
    "ERROR": ("Lỗi bộ giải", "Solver error"),
    # The technical details of a round, folded away under the report and the round page.
    "technical_details": ("Chi tiết kỹ thuật", "Technical details"),
    "kpis": ("Số liệu chính", "Key figures"),
    "engine_version": ("Phiên bản bộ phân bổ", "Allocator version"),
    "solver": ("Bộ giải", "Solver"),
    "method": ("Phương pháp", "Method"),
    "seed": ("Số khởi tạo ngẫu nhiên", "Random seed"),
    "inputs_hash": ("Mã kiểm tra dữ liệu đầu vào", "Inputs hash"),
    "report_made_by": ("Báo cáo do hệ thống Công dân số — Phân bổ điện thoại lập.",
                       "Report made by the Digital Citizen smartphone allocator."),
    # Units of amounts and changes (allocator.report.numbers).
    "unit_billion": ("tỷ đồng", "billion VND"), "unit_million": ("triệu đồng", "million VND"),
    "unit_thousand": ("nghìn đồng", "thousand VND"), "unit_dong": ("đồng", "VND"),
    "unit_points": ("điểm %", "pp"),
}

# Thresholds are drawn as ranges, never exact values, on maps shown to sponsors.
BINS = (("<5", 1, 4), ("5–19", 5, 19), ("20–49", 20, 49), ("50–99", 50, 99), ("≥100", 100, None))


class Text:
    """`t('served')` -> the label in this page's language (the key itself if unknown).

    Figures go through allocator.report.numbers, so every page rounds and groups alike.
    """

    def __init__(self, lang: str, more: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.lang = lang if lang in LANGS else "vi"
        self._index = LANGS.index(self.lang)
        self._more = more or {}

    def __call__(self, key: str) -> str:
        pair = LABELS.get(key) or self._more.get(key)
        return pair[self._index] if pair else key

    def number(self, value: float | int | None, decimals: int = 0) -> str:
        return numbers.decimal(value, self.lang, decimals)

    def figure(self, value: object) -> str:
        """A published count that may be withheld ("<5", "*", "–")."""
        return numbers.figure(value, self.lang)

    def percent(self, part: int | None, whole: int | None) -> str:
        return numbers.percent(part, whole, self.lang)

    def points(self, before: tuple[int, int] | None, after: tuple[int, int] | None) -> str:
        return numbers.points(before, after, self.lang)

    def money(self, vnd: int | None) -> str:
        """The exact amount ("3.197.890.000 ₫"), as tables of prices and exports show it."""
        return numbers.money_exact(vnd, self.lang)

    def money_words(self, vnd: int | None, sign: bool = False) -> str:
        """The amount in words ("3,2 tỷ đồng"), for text that cannot hold a hover title."""
        return numbers.money(vnd, self.lang, sign)

    def amount(self, vnd: int | None, sign: bool = False) -> Markup:
        """The amount in words, the exact amount on hover (title) and in data-vnd."""
        if vnd is None:
            return Markup(numbers.DASH)
        return Markup('<span class="money" title="{}" data-vnd="{}">{}</span>').format(
            numbers.money_exact(vnd, self.lang), int(vnd), numbers.money(vnd, self.lang, sign))
