"""Words of the sponsor portal's idle devices and downloads (allocator.store.sponsor_idle,
allocator.store.sponsor_download), Vietnamese first, then English."""

from __future__ import annotations

SPONSOR_LABELS: dict[str, tuple[str, str]] = {
    "idle_why": ('Vì sao còn máy chưa dùng', 'Why devices are idle'),
    "idle_line": ('{quantity} máy, đã phân bổ {allocated}, chưa dùng {idle}',
                  '{quantity} devices, {allocated} allocated, {idle} idle'),
    "devices_unit": ('máy', 'devices'),
    "idle_withheld": ('Lý do không được nêu, để không ai suy ra được số liệu nhỏ.',
                      'The reasons are not given, so that no small count can be worked out.'),
    "idle_source_round": (
        'Lý do tính từ kết quả phân bổ của đợt: các hộ đủ điều kiện chưa được nhận máy, chỗ '
        'còn ở các điểm nhận và ngân sách còn lại.',
        "The reasons come from the round's result: the eligible households left unserved, "
        'the room left at the points and the budget left.'),
    "idle_source_analysis": ('Lý do lấy từ phân tích điểm nghẽn của đợt.',
                             "The reasons come from the round's bottleneck analysis."),
    "idle_source_none": (
        'Đợt này được tính trước khi hệ thống ghi lý do máy chưa dùng; lý do sẽ có khi đợt '
        'được phân tích điểm nghẽn.',
        'This round was solved before idle devices had their reasons kept; they will come '
        "with the round's bottleneck analysis."),
    "idle_hidden_lots": (
        'Các lô khác: mọi máy đã được phân bổ, hoặc số máy chưa dùng được ẩn.',
        'Other lots: every device is allocated, or the idle count is hidden.'),
    # The downloads: one table per sheet (XLSX) or per file (CSV).
    "sponsor_figures": ('Số liệu phân bổ máy của nhà tài trợ', "A sponsor's devices in a round"),
    "table_lots": ('Các lô máy', 'Lots'),
    "table_idle": ('Máy chưa dùng và lý do', 'Idle devices and why'),
    "table_communes": ('Theo xã, phường', 'By commune'),
    "table_groups": ('Theo nhóm hộ', 'By household group'),
    "commune_code": ('Mã xã, phường', 'Commune code'),
    "household_group": ('Nhóm hộ', 'Household group'),
    "issued_on": ('Ngày lập', 'Issued'),
    "download_xlsx": ('Tải Excel (mọi bảng)', 'Download Excel (every table)'),
    "download_table_csv": ('Tải một bảng (CSV)', 'Download one table (CSV)'),
    "download_every_csv": ('Mọi bảng (CSV, nén ZIP)', 'Every table (CSV, zipped)'),
    "csv_table": ('Bảng', 'Table'),
    "csv_separator": ('Dấu phân cách (Excel cài đặt tiếng Việt: chấm phẩy)',
                      'Separator (Excel set to Vietnamese: semicolon)'),
    "separator_comma": ('Dấu phẩy (,)', 'Comma (,)'),
    "separator_semicolon": ('Dấu chấm phẩy (;)', 'Semicolon (;)'),
    "no_sponsor_figures": ('Không có kết quả cho đợt này.', 'No results for this round.'),
}
