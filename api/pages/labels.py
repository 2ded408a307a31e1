"""Words on the pages (beyond the dashboard's own, in allocator.report.labels):
Vietnamese first, then English."""

from __future__ import annotations

PAGE_LABELS: dict[str, tuple[str, str]] = {
    # Steps of a solve, as the progress bar names them.
    "step_queued": ("Đang chờ", "Queued"),
    "step_greedy": ("Lời giải ban đầu (tham lam)", "Greedy starting solution"),
    "step_fairness": ("Bước 0: mức sàn công bằng", "Stage 0: fairness floor"),
    "step_priority": ("Bước 1: ưu tiên hộ khó khăn nhất", "Stage 1: priority weight"),
    "step_cost": ("Bước 2: chi phí ngân sách", "Stage 2: public cost"),
    "step_distance": ("Bước 3: quãng đường", "Stage 3: distance"),
    "step_done": ("Xong", "Done"),
    "a_household_can_be_in_several_groups_e_g": (
        'Một hộ có thể thuộc nhiều nhóm (ví dụ hộ nghèo có người khuyết tật).',
        'A household can be in several groups (e.g. a poor household with a disabled member).'),
    "a_variant_of": ('Phương án so sánh của', 'A variant of'),
    "aggregates_only_no_household_s_name_phon": (
        'Chỉ có số liệu tổng hợp: không có tên, số điện thoại, số giấy tờ, địa chỉ hay toạ độ của'
        ' hộ nào. Số từ 1 đến 4 hiển thị “<5”; “*” là số được ẩn để không suy ra được số nhỏ; “–”'
        ' là số không công bố vì quá ít.',
        "Aggregates only: no household's name, phone, ID number, address or coordinates. Counts "
        'from 1 to 4 show as “<5”; “*” hides a count that would reveal a small one; “–” is not '
        'published, too few to show safely.'),
    "allocation_rounds": ('Các đợt phân bổ', 'Allocation rounds'),
    "approve_this_round": ('Phê duyệt đợt này', 'Approve this round'),
    "back_to_the_start": ('Về trang chính', 'Back to the start'),
    "budget_change": ('Thay đổi ngân sách (%)', 'Budget change (%)'),
    "budget_vnd": ('Ngân sách (đồng)', 'Budget (VND)'),
    "by_household_group": ('Theo nhóm hộ', 'By household group'),
    "change": ('Thay đổi', 'Change'),
    "choose_a_sponsor": ('Chọn một nhà tài trợ.', 'Choose a sponsor.'),
    "close_handovers_done": ('Đóng đợt (đã trao xong)', 'Close (handovers done)'),
    "compare": ('So sánh', 'Compare'),
    "compare_this_round_with_another_round_th": (
        'So sánh đợt này với một đợt khác đã có kết quả.',
        'Compare this round with another round that has results.'),
    "compare_two_rounds": ('So sánh hai đợt', 'Compare two rounds'),
    "compare_with_the_original": ('So sánh với đợt gốc', 'Compare with the original'),
    "coverage_change": ('Thay đổi độ phủ', 'Coverage change'),
    "create_round": ('Tạo đợt', 'Create round'),
    "created": ('Tạo lúc', 'Created'),
    "download_csv": ('Tải CSV', 'Download CSV'),
    "download_report_html_printable": (
        'Tải báo cáo (HTML, in được)',
        'Download report (HTML, printable)'),
    "from_a_zipped_contract_folder_households": (
        'Từ một thư mục dữ liệu nén (.zip: households.csv, lots.csv, points.csv, round.json).',
        'From a zipped contract folder (households.csv, lots.csv, points.csv, round.json).'),
    "from_the_current_registry_households_lot": (
        'Từ sổ đăng ký hiện tại (hộ, lô máy, điểm nhận đã nhập).',
        'From the current registry (households, lots and points imported).'),
    "handover_list_excel": ('Danh sách bàn giao (Excel)', 'Handover list (Excel)'),
    "inputs": ('dữ liệu', 'inputs'),
    "make_variant": ('Tạo phương án', 'Make variant'),
    "new_round": ('Tạo đợt mới', 'New round'),
    "no_round_with_results_holds_this_sponsor": (
        'Chưa có đợt phân bổ nào có kết quả cho nhà tài trợ này.',
        "No round with results holds this sponsor's lots yet."),
    "no_rounds_yet": ('Chưa có đợt nào.', 'No rounds yet.'),
    "none": ('không có máy', 'none'),
    "or_hidden": ('hoặc ẩn', 'or hidden'),
    "page_budget": ('Ngân sách', 'Budget'),
    "page_solving": ('Đang tính phân bổ…', 'Solving…'),
    # Signing in and setting a password (api/pages/auth.py).
    "sign_in_with_your_name_and_password": (
        'Đăng nhập bằng tên và mật khẩu của bạn (cán bộ lập kế hoạch hoặc nhà tài trợ).',
        'Sign in with your name and password (planner or sponsor).'),
    "user_name": ('Tên đăng nhập', 'Name'),
    "password": ('Mật khẩu', 'Password'),
    "no_password_yet": (
        'Chưa có mật khẩu hoặc quên mật khẩu? Sở sẽ gửi bạn một liên kết dùng một lần để đặt '
        'mật khẩu.',
        'No password yet, or forgotten it? The Department sends you a one-time link to set it.'),
    "wrong_name_or_password": ('Tên hoặc mật khẩu không đúng.', 'Wrong name or password.'),
    "too_many_failed_sign_ins": (
        'Quá nhiều lần đăng nhập sai. Vui lòng đợi vài phút rồi thử lại.',
        'Too many failed sign-ins. Please wait a few minutes and try again.'),
    "password_set": ('Đã đặt mật khẩu. Mời bạn đăng nhập.', 'Your password is set; sign in.'),
    "set_your_password": ('Đặt mật khẩu', 'Set your password'),
    "password_rules": (
        'Ít nhất 10 ký tự; không dùng tên của bạn hay mật khẩu dễ đoán.',
        'At least 10 characters; not your name nor an easy guess.'),
    "new_password": ('Mật khẩu mới', 'New password'),
    "repeat_the_password": ('Nhập lại mật khẩu', 'Repeat the password'),
    "save_password": ('Lưu mật khẩu', 'Save password'),
    "passwords_differ": ('Hai mật khẩu không giống nhau.', 'The two passwords differ.'),
    "password_too_short": ('Mật khẩu cần ít nhất 10 ký tự.',
                           'A password needs at least 10 characters.'),
    "password_too_long": ('Mật khẩu dài quá 256 ký tự.', 'A password has at most 256 characters.'),
    "password_too_easy": ('Mật khẩu này quá dễ đoán; hãy chọn mật khẩu khác.',
                          'This password is too easy to guess; choose another.'),
    "link_not_usable": (
        'Liên kết này không đúng, đã được dùng hoặc đã hết hạn. Hãy xin Sở một liên kết mới.',
        'This link is unknown, used or expired; ask the Department for a new one.'),
    "round": ('Đợt', 'Round'),
    "round_2": ('đợt', 'round'),
    "round_to_compare_with": ('Đợt để so sánh', 'Round to compare with'),
    "rounds": ('Các đợt', 'Rounds'),
    "see_as_a_sponsor": ('Xem như nhà tài trợ', 'See as a sponsor'),
    "show": ('Xem', 'Show'),
    "sign_in": ('Đăng nhập', 'Sign in'),
    "sign_out": ('Đăng xuất', 'Sign out'),
    "solve": ('Tính phân bổ', 'Solve'),
    "solve_again": ('Tính lại', 'Solve again'),
    "sponsor_portal": ('Cổng nhà tài trợ', 'Sponsor portal'),
    "the_same_inputs_with_the_budget_changed": (
        'Cùng dữ liệu, ngân sách thay đổi theo tỷ lệ; đợt mới ở trạng thái nháp để tính và so '
        'sánh.',
        'The same inputs with the budget changed by a percentage; the new round is a draft to '
        'solve and compare.'),
    "this_round_has_not_been_solved_yet_press": (
        'Đợt chưa được tính. Bấm “Tính phân bổ” để chạy bộ tối ưu.',
        'This round has not been solved yet. Press “Solve” to run the optimiser.'),
    "this_round_was_solved_before_dashboards": (
        'Đợt này được tính trước khi có bảng điều khiển; số liệu vẫn có qua API và tệp xuất.',
        'This round was solved before dashboards were kept; its figures are in the API and its '
        'export.'),
    "total": ('Tổng', 'Total'),
    "try_a_variant": ('Thử một phương án khác', 'Try a variant'),
    "two_rounds_side_by_side": ('So sánh hai đợt', 'Two rounds side by side'),
    "upload": ('Tải lên', 'Upload'),
    "variant_of": ('phương án của đợt', 'variant of'),
    "variants": ('Các phương án', 'Variants'),
    "where_your_devices_went": ('Máy của bạn đến những xã, phường nào', 'Where your devices went'),
    "your_lots": ('Các lô máy của bạn', 'Your lots'),
}
