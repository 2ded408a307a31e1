"""Words on the pages (beyond the dashboard's own, in allocator.report.labels):
Vietnamese first, then English."""

from __future__ import annotations

from api.pages.safeguard_labels import SAFEGUARD_LABELS
from api.pages.sponsor_labels import SPONSOR_LABELS

PAGE_LABELS: dict[str, tuple[str, str]] = {
    **SAFEGUARD_LABELS,  # confirming decisions, variants, refusals
    **SPONSOR_LABELS,  # the sponsor portal's idle devices and downloads
    # Steps of a solve, as the progress bar names them.
    "step_queued": ("Đang chờ", "Queued"),
    "step_greedy": ("Phương án ban đầu (chia nhanh)", "A first, quick allocation"),
    "step_fairness": ("Bước 0: mức sàn công bằng", "Stage 0: fairness floor"),
    "step_priority": ("Bước 1: ưu tiên hộ khó khăn nhất", "Stage 1: the neediest first"),
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
    "back_to_the_start": ('Về trang chính', 'Back to the start'),
    "budget_change": ('Thay đổi ngân sách (%)', 'Budget change (%)'),
    "budget_vnd": ('Ngân sách', 'Budget'),
    "budget_hint": ('Ví dụ: 3,5 tỷ · 3500 triệu · 3.500.000.000',
                    'For example: 3.5 billion · 3500 million · 3,500,000,000'),
    # A typed amount that is not one (allocator.report.numbers.parse_money).
    "money_unreadable": (
        'Không đọc được số tiền. Hãy gõ như: 3,5 tỷ, 3500 triệu hoặc 3.500.000.000.',
        'This is not an amount we can read. Type it like 3.5 billion, 3500 million or '
        '3,500,000,000.'),
    "money_negative": ('Số tiền không thể âm.', 'An amount cannot be negative.'),
    "money_fraction": ('Số tiền phải là số đồng chẵn (không có phần lẻ của một đồng).',
                       'An amount is a whole number of đồng.'),
    "money_too_large": ('Số tiền quá lớn.', 'This amount is too large.'),
    "money_required": ('Hãy nhập số tiền.', 'Type an amount.'),
    "by_household_group": ('Theo nhóm hộ', 'By household group'),
    "change": ('Thay đổi', 'Change'),
    "choose_a_sponsor": ('Chọn một nhà tài trợ.', 'Choose a sponsor.'),
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
    "handover_list_excel": ('Danh sách bàn giao theo điểm nhận (Excel)',
                            'Handover lists by point (Excel)'),
    "handover_list_by_commune": ('Danh sách bàn giao theo xã, phường (Excel)',
                                 'Handover lists by commune (Excel)'),
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
    # The sponsor sheet (api/pages/sponsor_sheet.py, allocator/store/sponsor_sheet.py).
    "sheet_title": ('Phiếu làm việc với nhà tài trợ', 'Sponsor meeting sheet'),
    "sheet_links_note": (
        'Cho cuộc làm việc với từng nhà tài trợ: sử dụng các lô máy, máy chưa dùng và lý do, '
        'thay đổi giúp dùng hết máy. Không có dữ liệu cá nhân.',
        "For the meeting with each sponsor: the use of its lots, idle devices and why, and "
        'the changes that would use them. No personal data.'),
    "sheet_html": ('Xem, in (HTML, A4)', 'View, print (HTML, A4)'),
    "sheet_xlsx": ('Tải Excel', 'Download Excel'),
    "sheet_other_language": ('English version', 'Bản tiếng Việt'),
    "sheet_issued": ('Ngày lập phiếu', 'Issued'),
    "sheet_approved_on": ('phê duyệt ngày', 'approved on'),
    "sheet_solved_on": ('tính ngày', 'solved on'),
    "sheet_print_note": ('In bằng lệnh In của trình duyệt: khổ A4, dọc.',
                         "Print with the browser's Print command: A4, portrait."),
    "sheet_use": ('Sử dụng các lô máy', 'Use of the lots'),
    "sheet_idle_why": ('Máy chưa dùng và lý do', 'Idle devices and why'),
    "sheet_changes": ('Thay đổi giúp dùng máy', 'Changes that would use them'),
    "sheet_network": ('Mạng', 'Network'),
    "sheet_unit_price": ('Giá máy', 'Device price'),
    "sheet_subsidy": ('Nhà tài trợ chi mỗi máy', 'Sponsor pays per device'),
    "sheet_use_rate": ('Tỷ lệ sử dụng', 'Use rate'),
    "sheet_idle": ('Máy chưa dùng', 'Idle devices'),
    "sheet_sponsored_value": ('Giá trị tài trợ đã phân bổ', 'Sponsorship allocated'),
    "sheet_change": ('Thay đổi đề xuất', 'Change'),
    "sheet_devices_used": ('Máy của lô được dùng thêm', "The lot's devices it would use"),
    "sheet_households_more": ('Số hộ được nhận thêm', 'More households served'),
    "sheet_weight_more": ('Điểm ưu tiên thêm', 'More priority points'),
    "sheet_reason_communes_exhausted": (
        'Không còn hộ đủ điều kiện nào chưa được nhận máy ở các xã, phường mà lô được phép phát',
        'No eligible household is left unserved in the communes the lot is kept to'),
    "sheet_reason_statuses": (
        'Các hộ còn lại không thuộc diện mà lô được phép phát',
        'The households left are not of the statuses the lot is kept to'),
    "sheet_reason_features_unneeded": (
        'Các hộ còn lại cần tính năng mà máy của lô này không có',
        "The households left need features this lot's device lacks"),
    "sheet_reason_points_full": (
        'Các hộ còn lại có thể nhận máy này không có điểm nhận nào còn chỗ trong tầm',
        'The households left who could take it have no point with room in reach'),
    "sheet_reason_budget": ('Ngân sách còn lại không đủ chi phần nhà nước của máy',
                            'The budget left does not pay the public share of the device'),
    "sheet_reason_other": (
        'Ngân sách và chỗ còn lại ở các điểm đã dành cho các hộ ưu tiên hơn, với lô khác',
        'The budget and room left went to households of higher priority, with other lots'),
    "sheet_no_analysis": (
        'Lý do máy chưa dùng và thay đổi đề xuất lấy từ phân tích điểm nghẽn của đợt; đợt này '
        'chưa có phân tích đó (hoặc chưa chạy xong).',
        "The reasons for idle devices and the changes come from the round's bottleneck "
        'analysis, which this round does not have yet (or which has not finished).'),
    "sheet_run_analysis": ('Chạy phân tích điểm nghẽn', 'Run the bottleneck analysis'),
    "sheet_analysis_running": (
        'Phân tích điểm nghẽn của đợt đang chạy; tải lại trang này sau ít phút.',
        "The round's bottleneck analysis is running; reload this page in a few minutes."),
    "sheet_all_used": ('Mọi máy của nhà tài trợ trong đợt này đều đã được phân bổ.',
                       "Every device of this sponsor's lots in this round is allocated."),
    "sheet_no_change": (
        'Trong các thay đổi đã thử, phân tích không tìm thấy thay đổi nào giúp dùng số máy '
        'còn lại.',
        'Among the changes it tried, the analysis found none that would put the idle devices '
        'to use.'),
    "sheet_change_note": (
        'Mỗi thay đổi được tính lại chính xác trên toàn đợt; số hộ và điểm ưu tiên là phần '
        'tăng thêm so với kết quả hiện nay.',
        'Each change was solved again exactly over the whole round; households and priority '
        'weight are what it adds to the present result.'),
    # The campaign page (api/pages/campaign.py).
    "campaign": ('Chiến dịch', 'Campaign'),
    "campaign_progress": ('Tiến độ chiến dịch', 'Campaign progress'),
    "campaign_goal": (
        'Mục tiêu: mọi hộ đủ điều kiện (hộ nghèo, cận nghèo) đang dùng máy 2G và chưa có điện '
        'thoại thông minh đều có một chiếc.',
        'Goal: every eligible household (poor or near-poor) on a 2G-only handset and without '
        'a smartphone has one.'),
    "households_surveyed": ('Hộ đã khảo sát', 'Households surveyed'),
    "handed_a_phone": ('Đã nhận máy', 'Handed a phone'),
    "of_eligible": ('số hộ đủ điều kiện', 'of eligible'),
    "holding_a_reservation": ('Đang được giữ máy', 'Holding a reservation'),
    "no_shows": ('Không đến nhận (chưa được phục vụ lại)', 'No-shows (not served since)'),
    "not_yet_reached": ('Chưa được tiếp cận', 'Not yet reached'),
    "handed_over_not_eligible_note": (
        'Hộ đã nhận máy nhưng theo số liệu khảo sát hiện nay không còn thuộc diện (không tính '
        'vào tiến độ)',
        'Households handed a phone whose survey row no longer meets the rules (not counted '
        'in the progress)'),
    "days_left_and_pace": ('Thời gian còn lại và tốc độ', 'Days left and pace'),
    "days_left": ('Số ngày còn lại', 'Days left'),
    "goal_passed": ('Đã qua ngày mục tiêu', 'Goal date passed'),
    "today_is_after_the_goal_date": ('Hôm nay đã qua ngày mục tiêu',
                                     'Today is after the goal date'),
    "days": ('ngày', 'days'),
    "until": ('đến', 'until'),
    "eligible_not_yet_handed_over": ('Hộ đủ điều kiện chưa nhận máy',
                                     'Eligible households not yet handed a phone'),
    "per_day": ('máy/ngày', 'a day'),
    "pace_needed": ('Tốc độ cần để kịp hạn', 'Pace needed'),
    "pace_achieved": ('Tốc độ đạt được', 'Pace achieved'),
    "over_the_last": ('trong', 'over the last'),
    "days_recent": ('ngày qua', 'days'),
    "pace_since_first": ('Tốc độ từ lần trao đầu tiên', 'Pace since the first handover'),
    "since": ('từ', 'since'),
    "handovers_per_day": ('Số máy trao mỗi ngày', 'Handovers per day'),
    "highest": ('cao nhất', 'highest'),
    "no_handovers_yet": ('Chưa có máy nào được trao.', 'No phone handed over yet.'),
    "progress_by_commune": ('Tiến độ theo xã, phường', 'Progress by commune'),
    "campaign_map": ('Bản đồ tiến độ theo xã, phường', 'Map of progress by commune'),
    "campaign_map_note": ('Kích thước chấm: số hộ đủ điều kiện.', 'Dot size: eligible households.'),
    "eligible_short": ('Đủ điều kiện', 'Eligible'),
    "handed_short": ('Đã nhận', 'Handed over'),
    "reserved_short": ('Đang giữ', 'Reserved'),
    "no_show_short": ('Không đến', 'No-show'),
    "not_reached_short": ('Chưa tiếp cận', 'Not reached'),
    "stock_by_sponsor": ('Kho máy theo nhà tài trợ', 'Stock by sponsor'),
    "lots": ('Số lô', 'Lots'),
    "pledged": ('Đã cam kết', 'Pledged'),
    "faulty": ('Hỏng, trả lại', 'Faulty'),
    "available": ('Còn sẵn', 'Available'),
    "no_lots_yet": ('Chưa có lô máy nào.', 'No lots yet.'),
    "pledge_note": ('Nhà tài trợ cam kết thêm máy cho một lô (được ghi vào nhật ký).',
                    'A sponsor pledges more devices to one of its lots (audited).'),
    "devices_to_add": ('Số máy cam kết thêm', 'Devices to add'),
    "record_pledge": ('Ghi cam kết', 'Record the pledge'),
    "pledge_saved": ('Đã ghi cam kết.', 'The pledge is recorded.'),
    "campaign_budget": ('Ngân sách chiến dịch', 'Campaign budget'),
    "budget_total": ('Tổng ngân sách', 'Total'),
    "budget_committed": ('Đã cam kết (máy đang giữ)', 'Committed (reserved phones)'),
    "budget_spent": ('Đã chi (máy đã trao)', 'Spent (phones handed over)'),
    "budget_remaining": ('Còn lại', 'Remaining'),
    "not_set": ('Chưa đặt', 'Not set'),
    "set_budget": ('Đặt ngân sách', 'Set the budget'),
    "budget_saved": ('Đã lưu ngân sách.', 'The budget is saved.'),
    # Pickup deadlines and re-plans on the round page (api/pages/replan.py).
    "pickup_deadline": ('Hạn nhận máy', 'Pickup deadline'),
    "passed": ('đã qua', 'passed'),
    "not_collected_yet": ('Máy chưa được nhận', 'Phones not collected yet'),
    "without_window": ('Hộ chưa có khung giờ nhận (điểm đã kín lịch; điểm sẽ báo giờ)',
                       'Households without a pickup window (the point is full; it will tell '
                       'them a time)'),
    "a_replan_of": ('Phương án điều chỉnh của', 'A re-plan of'),
    "superseded_by": ('Đã được thay bằng', 'Superseded by'),
    "replan": ('Điều chỉnh phương án', 'Re-plan'),
    "replan_note": (
        'Tạo một phiên bản mới (nháp) của đợt: hộ đã nhận máy giữ nguyên; các hộ khác giữ điểm '
        'nhận và máy nhiều nhất có thể. Các mã cách nhau bằng dấu phẩy.',
        'A new version of this round, as a draft: households already handed a phone stay as '
        'they are; the others keep their point and device wherever possible. Separate ids '
        'with commas.'),
    "points_to_close": ('Điểm nhận đóng cửa (mã điểm)', 'Points to close (ids)'),
    "lot_quantity_changes": ('Số máy mới của lô (LÔ=số máy)', 'Lot quantity changes (LOT=devices)'),
    "households_to_withdraw": ('Hộ rút khỏi đợt (mã hộ)', 'Households to withdraw (ids)'),
    "make_replan": ('Tạo phương án điều chỉnh', 'Make the re-plan'),
    "replan_difference": ('Thay đổi so với đợt cũ', 'Re-plan difference'),
    "replan_difference_note": (
        'Những gì phương án này thay đổi cho các hộ chưa nhận máy, so với',
        'What this re-plan changes for households not yet handed their phone, against'),
    "households_that_change": ('Các hộ có thay đổi', 'Households that change'),
    "change_keeps": ('Giữ nguyên điểm và máy', 'Keep point and device'),
    "change_changes_point": ('Đổi điểm nhận', 'Change point'),
    "change_changes_device": ('Đổi máy', 'Change device'),
    "change_changes_point_and_device": ('Đổi điểm nhận và máy', 'Change point and device'),
    "change_loses": ('Không còn được nhận', 'Lose their phone'),
    "change_newly_served": ('Mới được nhận', 'Newly served'),
    "change_handed_over_fixed": ('Đã nhận máy (giữ nguyên)', 'Already handed over (fixed)'),
    "withdrawn": ('Rút khỏi đợt', 'Withdrawn'),
    "household": ('Hộ', 'Household'),
    "before": ('trước', 'before'),
    "after": ('sau', 'after'),
    "first_rows": ('Hiển thị', 'Showing'),
    "download_all_csv": ('Tải tất cả (CSV)', 'Download all (CSV)'),
    "no_household_changes": ('Không hộ nào thay đổi.', 'No household changes.'),
    # Pickup slips (api/pages/slips.py); the slips themselves are always Vietnamese first.
    "pickup_slips": ('Phiếu hẹn nhận máy', 'Pickup slips'),
    "print_pickup_slips": ('In phiếu hẹn nhận máy (A6)', 'Print pickup slips (A6)'),
    "slips_at_this_point": ('phiếu tại điểm này', 'slips at this point'),
    "slips_page": ('trang', 'page'),
    "slips_print_note": (
        'In khổ A4, lề 0, tỉ lệ 100%; mỗi tờ 4 phiếu, cắt theo đường gạch.',
        'Print on A4, no margins, scale 100%; four slips a sheet, cut along the dashes.'),
    "slips_without_code": ('phiếu chưa có mã nhận máy: chưa nên phát.',
                           'slips have no pickup code yet: do not hand them out.'),
    "slips_without_window": ('phiếu chưa có giờ hẹn: ghi “Điểm nhận sẽ báo giờ”.',
                             'slips have no time window: they say the point will tell.'),
    "no_slips_at_your_points": ('Đợt này không có hộ nào nhận máy tại điểm của bạn.',
                                'No household of this round collects at your points.'),
    "no_round_open_for_pickup": ('Chưa có đợt nào đang phát máy.',
                                 'No round is open for pickup.'),
    # The sponsor portal over the whole campaign (api/pages/portal_campaign.py).
    "whole_campaign": ('Toàn chiến dịch', 'The whole campaign'),
    "whole_campaign_note": (
        'Mọi đợt cộng lại: máy đã trao, đang giữ chờ nhận, trả về kho khi hộ không đến nhận, '
        'và còn sẵn.',
        'Every round together: devices handed over, held for pickup, released when a '
        'household did not come, and available.'),
    "by_round": ('Theo từng đợt', 'Round by round'),
    "released_no_show": ('Trả về kho (không đến nhận)', 'Released (no-show)'),
    "campaign_not_by_commune": (
        'Số máy theo xã, phường xem ở từng đợt. Số nào có thể làm lộ một số nhỏ đã ẩn '
        'trong một đợt thì không công bố (–).',
        'Devices by commune are shown round by round. A figure that could give away a small '
        'count hidden in a round is not published (–).'),
    "no_lots_for_this_sponsor": ('Nhà tài trợ này chưa có lô máy nào trong sổ đăng ký.',
                                 'This sponsor has no lot in the registry yet.'),
    # Cases (api/pages/cases.py).
    "cases_nav": ('Khiếu nại / Vì sao tôi chưa được nhận', 'Cases / Why not me?'),
    "cases_title": ('Khiếu nại cần giải quyết', 'Cases to resolve'),
    "cases_intro": (
        'Hộ chưa được nhận máy hỏi "vì sao tôi chưa được nhận", và hộ báo chưa nhận được máy '
        'khi gọi điện theo dõi. Xem lý do của bộ phân bổ, sửa sổ hộ nếu sai, trả lời rồi đóng.',
        'Households not served asking "why not me?", and households that said on a follow-up '
        "call they never received their phone. See the engine's reason, correct the registry "
        'if it was wrong, answer, then close.'),
    "cases_intro_officer": (
        'Hồ sơ của các xã, phường có điểm nhận của bạn. Cán bộ lập kế hoạch trả lời tại đây.',
        'Cases of the communes of your points. A planner answers them here.'),
    "case_status_open": ('Đang mở', 'Open'),
    "case_status_answered": ('Đã trả lời', 'Answered'),
    "case_status_closed": ('Đã đóng', 'Closed'),
    "case_all": ('Tất cả', 'All'),
    "case_number": ('Hồ sơ', 'Case'),
    "case_kind": ('Loại', 'Kind'),
    "case_kind_why_not_me": ('Vì sao tôi chưa được nhận', 'Why not me?'),
    "case_kind_never_received": ('Chưa nhận được máy', 'Never received'),
    "case_opened": ('Mở ngày, người mở', 'Opened, by'),
    "case_none": ('Không có hồ sơ nào.', 'No cases.'),
    "case_open_new": ('Mở hồ sơ mới', 'Open a case'),
    "case_open_note": (
        'Cho một hộ chưa được nhận máy (theo mã hộ trong sổ hộ). Mỗi hộ chỉ có một hồ sơ '
        'đang mở mỗi loại.',
        'For a household that was not served (by its registry id). A household has one live '
        'case of each kind at a time.'),
    "case_note": ('Ghi chú', 'Note'),
    "case_open_button": ('Mở hồ sơ', 'Open case'),
    "case_opened_notice": ('Đã mở hồ sơ.', 'The case is open.'),
    "case_back": ('Danh sách hồ sơ', 'All cases'),
    "case_contact": ('Liên hệ', 'Contact'),
    "case_answer": ('Trả lời', 'Answer'),
    "case_answer_label": ('Câu trả lời cho hộ', 'The answer to give the household'),
    "case_answer_optional": ('không bắt buộc', 'optional'),
    "case_answer_button": ('Lưu câu trả lời', 'Save the answer'),
    "case_answer_saved": ('Đã lưu câu trả lời.', 'The answer is saved.'),
    "case_explanation": ('Lý do theo bộ phân bổ', "The engine's explanation"),
    "case_outcome": ('Kết quả', 'Outcome'),
    "case_outcome_served": ('Được nhận', 'Served'),
    "case_outcome_unserved": ('Chưa được nhận', 'Not served'),
    "case_outcome_not_in_round": ('Không có trong đợt', 'Not in the round'),
    "case_say": ('Nói với hộ', 'What to tell the household'),
    "case_detail": ('Chi tiết', 'Detail'),
    "case_check": ('Cần kiểm tra', 'Check'),
    "case_registry": ('Sổ hộ hiện nay', 'The registry now'),
    "case_not_in_registry": ('Hộ không có trong sổ hộ.', 'The household is not in the registry.'),
    "case_correction_note": (
        'Chỉ sửa trường sai; giá trị được kiểm tra như khi nhập tệp. Hồ sơ ghi lại thay đổi '
        '(kèm số nhật ký) và chuyển sang đã trả lời. Các đợt đã lập không đổi; thay đổi có '
        'hiệu lực từ đợt sau.',
        'Change only what is wrong; the values are checked as an import checks them. The '
        'case records the change (with its audit entry) and becomes answered. Rounds already '
        'made do not change; the correction counts from the next round.'),
    "case_correct_button": ('Sửa sổ hộ', 'Correct the registry'),
    "case_correction_made": ('Đã sửa sổ hộ', 'Registry corrected'),
    "case_correction_saved": ('Đã sửa sổ hộ và ghi vào hồ sơ.',
                              'The registry is corrected and the case records it.'),
    "case_close_button": ('Đóng hồ sơ', 'Close the case'),
    "case_closed_notice": ('Đã đóng hồ sơ.', 'The case is closed.'),
    "case_reopen": ('Mở lại', 'Reopen'),
    "case_reopen_reason": ('Lý do mở lại', 'Why reopen'),
    "case_reopened_notice": ('Đã mở lại hồ sơ.', 'The case is open again.'),
    "case_f_commune_code": ('Mã xã', 'Commune code'),
    "case_f_poverty_status": ('Hộ nghèo/cận nghèo', 'Poverty status'),
    "case_f_members": ('Số nhân khẩu', 'Members'),
    "case_f_twog_handsets": ('Số máy 2G', '2G-only handsets'),
    "case_f_smartphones": ('Số điện thoại thông minh', 'Smartphones'),
    "case_f_flags": ('Diện ưu tiên', 'Priority groups'),
    "case_f_needs": ('Nhu cầu', 'Needs'),
    "case_f_lat": ('Vĩ độ', 'Latitude'),
    "case_f_lon": ('Kinh độ', 'Longitude'),
    "case_f_national_id": ('Số CCCD', 'Citizen ID number'),
    # Follow-up calls 30 days after the handovers (api/pages/followup.py), and the share of
    # phones in use on the campaign page and the sponsor portal.
    "followup_nav": ('Gọi lại', 'Follow-up'),
    "followup_calls": ('Gọi lại sau bàn giao', 'Follow-up calls'),
    "followup_note": (
        'Sau 30 ngày kể từ ngày bàn giao cuối của một đợt, một mẫu ngẫu nhiên các hộ đã nhận '
        'máy (mặc định 5%, ít nhất 30 hộ) được gọi điện hỏi máy có đang được dùng không.',
        'Thirty days after a round\'s last day of handovers, a random sample of the '
        'households handed a phone (5% by default, at least 30) is called to ask whether '
        'the phone is in use.'),
    "followup_served": ('Hộ đã nhận máy', 'Households served'),
    "followup_due": ('Đến hạn gọi lại', 'Due'),
    "followup_is_due": ('đã đến hạn', 'due now'),
    "followup_listed": ('Trong danh sách', 'On the list'),
    "followup_answered": ('Đã trả lời', 'Answered'),
    "followup_open": ('Mở danh sách', 'Open the list'),
    "followup_none": ('Chưa có đợt nào có danh sách gọi lại.',
                      'No round has a follow-up list yet.'),
    "followup_drawn_notice": ('Đã rút danh sách gọi lại.', 'The follow-up list was drawn.'),
    "followup_drawn_on": ('Rút ngày', 'Drawn on'),
    "followup_seed": ('mã rút thăm', 'draw number'),
    "followup_listed_here": ('hộ trong danh sách', 'households on the list'),
    "followup_answered_here": ('đã trả lời', 'answered'),
    "followup_share_in_use": ('tỷ lệ máy đang dùng', 'share of phones in use'),
    "followup_due_on": ('Đợt này đến hạn gọi lại từ ngày', 'This round\'s follow-up is due on'),
    "followup_no_handovers": ('Đợt này chưa có hộ nào nhận máy.',
                              'No household of this round has been handed a phone yet.'),
    "followup_draw_note": (
        'Số hộ được gọi: lớn hơn trong hai số (tỷ lệ × số hộ đã nhận máy, làm tròn lên) và số '
        'tối thiểu, không quá số hộ đã nhận máy. Mã rút thăm được ghi lại để ai cũng rút lại được '
        'đúng danh sách; để trống thì chọn ngẫu nhiên. Mỗi đợt rút một lần.',
        'Households called: the larger of share × households served (rounded up) and the '
        'minimum, at most all of them. The draw number is kept so that anyone can redo the draw; '
        'left empty, one is chosen at random. A round is drawn once.'),
    "followup_share_percent": ('Tỷ lệ (%)', 'Share (%)'),
    "followup_minimum": ('Số hộ tối thiểu', 'Minimum households'),
    "followup_seed_optional": ('Mã rút thăm (không bắt buộc)', 'Draw number (optional)'),
    "followup_draw": ('Rút danh sách gọi lại', 'Draw the follow-up list'),
    "followup_not_drawn": ('Chưa rút danh sách gọi lại cho đợt này.',
                           'The follow-up list of this round has not been drawn yet.'),
    "followup_show": ('Hiển thị', 'Show'),
    "followup_show_all": ('Tất cả', 'All'),
    "followup_show_open": ('Chưa gọi được', 'Not answered yet'),
    "followup_handed_on": ('nhận máy', 'handed over'),
    "followup_answer_in_use": ('Đang dùng', 'In use'),
    "followup_answer_not_in_use": ('Không dùng', 'Not in use'),
    "followup_answer_never_received": ('Chưa nhận được máy', 'Never received'),
    "followup_reason_no_data_plan": ('Không có gói dữ liệu', 'No data plan'),
    "followup_reason_cannot_operate": ('Không biết sử dụng', 'Cannot operate it'),
    "followup_reason_broken": ('Máy hỏng', 'Broken'),
    "followup_reason_sold": ('Đã bán', 'Sold'),
    "followup_reason_if_not": ('Lý do (nếu không dùng)', 'Reason (if not in use)'),
    "followup_note_optional": ('Ghi chú (không bắt buộc)', 'Note (optional)'),
    "followup_nothing_to_show": ('Không có hộ nào để hiển thị.', 'No household to show.'),
    "followup_by_sponsor": ('Máy đang dùng sau 30 ngày', 'Phones in use after 30 days'),
    "followup_by_sponsor_note": (
        'Từ các cuộc gọi lại: tỷ lệ = số máy đang dùng / số cuộc gọi có trả lời (kể cả hộ nói '
        'chưa nhận được máy).',
        'From the follow-up calls: share = phones in use / calls answered (households that '
        'say they never received a phone included).'),
    "followup_overall": ('Toàn chiến dịch', 'Whole campaign'),
    "followup_not_in_use_short": ('Không dùng', 'Not in use'),
    "followup_never_short": ('Chưa nhận', 'Never received'),
    "followup_no_answers": ('Chưa có cuộc gọi lại nào được trả lời.',
                            'No follow-up call has been answered yet.'),
    "followup_portal_note": (
        'Từ các cuộc gọi lại 30 ngày sau bàn giao, với máy của các lô của bạn. “Không dùng” '
        'gồm cả hộ nói chưa nhận được máy. Tỷ lệ chỉ hiện khi các số tạo nên nó đều được công '
        'bố.',
        'From the follow-up calls 30 days after handover, about the phones of your lots. '
        '“Not in use” includes households that say they never received one. The share is '
        'shown only when the counts it is made of are published.'),
    # The handover page at the distribution point (api/pages/point.py).
    "desk_nav": ('Trao máy', 'Handover'),
    "desk_title": ('Trao máy tại điểm nhận', 'Handover at the point'),
    "desk_your_points": ('Điểm của bạn', 'Your points'),
    "desk_all_points": ('Tất cả các điểm nhận', 'Every distribution point'),
    "desk_search_label": ('Mã nhận máy, số điện thoại hoặc tên chủ hộ',
                          "Pickup code, phone number or the head's name"),
    "desk_search": ('Tìm', 'Find'),
    "desk_scan": ('Quét mã QR', 'Scan the QR code'),
    "desk_scan_help": ('Hướng camera vào mã QR trên phiếu nhận máy.',
                       'Point the camera at the QR code on the slip.'),
    "desk_scan_close": ('Đóng camera', 'Close the camera'),
    "desk_scan_failed": ('Không mở được camera. Hãy gõ mã nhận máy.',
                         'The camera could not be opened. Type the pickup code.'),
    "desk_results": ('Kết quả', 'Results'),
    "desk_no_results": ('Không tìm thấy hộ nào tại điểm của bạn.',
                        'No household found at your points.'),
    "desk_head": ('Chủ hộ', 'Head of household'),
    "desk_phone": ('Điện thoại', 'Phone'),
    "desk_code": ('Mã nhận máy', 'Pickup code'),
    "desk_window": ('Giờ hẹn nhận', 'Pickup window'),
    "desk_device": ('Máy', 'Device'),
    "desk_point": ('Điểm nhận', 'Point'),
    "desk_waiting": ('Chưa nhận', 'Not collected yet'),
    "desk_outcome_handed": ('Đã nhận máy', 'Handed over'),
    "desk_outcome_faulty": ('Máy lỗi', 'Faulty device'),
    "desk_outcome_refused": ('Hộ từ chối nhận', 'Refused by the household'),
    "desk_hand_over": ('Trao máy', 'Hand over'),
    "desk_id_last4": ('4 số cuối CCCD (đọc trên thẻ người nhận đưa)',
                      'Last 4 digits of the CCCD (read them from the card shown)'),
    "desk_authorised": ('Người nhà nhận thay, có giấy ủy quyền',
                        'A relative collects, with an authorisation letter'),
    "desk_authorised_note": ('Ghi chú về người nhận thay và giấy ủy quyền (bắt buộc)',
                             'Note on the relative and the authorisation letter (required)'),
    "desk_authorised_note_missing": ('Người nhà nhận thay: cần ghi chú về giấy ủy quyền.',
                                     'A relative collects: write a note on the letter.'),
    "desk_state": ('Tình trạng máy', 'Device state'),
    "desk_state_handed": ('Máy chạy tốt, có 4G', 'Works, with 4G'),
    "desk_state_faulty": ('Máy lỗi', 'Faulty'),
    "desk_state_refused": ('Hộ từ chối nhận', 'The household refuses it'),
    "desk_imei": ('IMEI của máy (15 số; bấm *#06# để xem)',
                  "The phone's IMEI (15 digits; dial *#06#)"),
    "desk_iccid": ('ICCID của SIM (không bắt buộc)', "The SIM's ICCID (optional)"),
    "desk_note": ('Ghi chú (không bắt buộc)', 'Note (optional)'),
    "desk_submit": ('Gửi', 'Send'),
    "desk_resend": ('Gửi lại', 'Send again'),
    "desk_sending": ('Đang gửi…', 'Sending…'),
    "desk_offline": ('Chưa gửi được — thông tin vẫn được giữ, bấm Gửi lại',
                     'Not sent yet — what you typed is kept; press Send again'),
    "desk_imei_luhn": ('Số IMEI có vẻ bị gõ sai (số kiểm tra cuối không khớp). Hãy đọc lại.',
                       'The IMEI looks mistyped (its check digit does not match). Read it again.'),
    "desk_imei_length": ('IMEI có đúng 15 chữ số.', 'An IMEI has exactly 15 digits.'),
    "desk_iccid_luhn": ('Số ICCID có vẻ bị gõ sai (số kiểm tra cuối không khớp).',
                        'The ICCID looks mistyped (its check digit does not match).'),
    "desk_recorded": ('Đã ghi nhận', 'Recorded'),
    "desk_recorded_by": ('Người ghi nhận', 'Recorded by'),
    "desk_recorded_at": ('Lúc', 'At'),
    "desk_undo": ('Hoàn tác', 'Undo'),
    "desk_undo_reason": ('Lý do hoàn tác (bắt buộc)', 'Why undo it (required)'),
    "desk_undo_same_day": (
        'Chỉ người đã ghi nhận (hoặc cán bộ lập kế hoạch) hoàn tác được, trong ngày ghi nhận.',
        'Only the officer who recorded it, or a planner, can undo it, on the day it was made.'),
    "desk_undone": ('Đã hoàn tác. Có thể ghi nhận lại.', 'Undone. You can record it again.'),
    "desk_record_changed": ('Bản ghi này đã thay đổi. Hãy tải lại trang.',
                            'This record has changed. Reload the page.'),
    "desk_find_another": ('Tìm hộ khác', 'Find another household'),
    "desk_other_tools": ('Công cụ khác', 'Other tools'),
    "desk_slips": ('Phiếu nhận máy', 'Pickup slips'),
    "desk_handover_list": ('Danh sách bàn giao (Excel)', 'Handover list (Excel)'),
    # A round's budget curve and bottlenecks: request buttons and progress.
    "analysis_about_curve": (
        'Giải lại đợt này ở khoảng 12 mức ngân sách để thấy mỗi khoản tiền thêm phục vụ thêm '
        'bao nhiêu hộ (có thể mất vài phút).',
        'Solves this round again at about 12 budgets to show what each extra amount of money '
        'would buy (may take a few minutes).'),
    "analysis_about_bottlenecks": (
        'Tìm điều đang giới hạn kết quả và tính lại với từng thay đổi: thêm 10% ngân sách, thêm '
        'máy cho một lô, thêm chỗ ở một điểm nhận, nới điều kiện của nhà tài trợ, thêm 1 km '
        '(có thể mất vài phút).',
        'Finds what binds and solves again with each change: 10% more budget, more devices in '
        "a lot, more room at a point, a sponsor's conditions loosened, 1 km more reach (may "
        'take a few minutes).'),
    "analysis_request_curve": ('Tính đường cong ngân sách', 'Compute the budget curve'),
    "analysis_request_bottlenecks": ('Tìm điểm nghẽn', 'Find the bottlenecks'),
    "analysis_again_curve": ('Tính lại đường cong', 'Compute the curve again'),
    "analysis_again_bottlenecks": ('Tìm lại điểm nghẽn', 'Find the bottlenecks again'),
    "analysis_running": ('Đang tính…', 'Working it out…'),
    "analysis_queued": ('Đang chờ đến lượt', 'Waiting for its turn'),
    "analysis_started": ('Đã bắt đầu', 'Started'),
    "analysis_done": ('Xong', 'Done'),
    "analysis_failed": ('Lần tính gần nhất bị lỗi', 'The last computation failed'),
    "analysis_curve_csv": ('Tải đường cong (CSV)', 'Download the curve (CSV)'),
    # The household look-up, "why not me?" (api/pages/households.py).
    "hl_nav": ('Tra cứu hộ', 'Household look-up'),
    "hl_title": ('Tra cứu hộ: vì sao chưa được nhận máy?', 'Household look-up: why not me?'),
    "hl_intro": (
        'Tìm theo mã hộ, số điện thoại hoặc số CCCD (chỉ so các chữ số). Mỗi lần tra cứu được '
        'ghi vào nhật ký.',
        'Search by household id, phone number or citizen ID number (only the digits are '
        'compared). Every look-up is recorded in the audit log.'),
    "hl_search_label": ('Mã hộ, số điện thoại hoặc số CCCD',
                        'Household id, phone number or citizen ID number'),
    "hl_search": ('Tìm', 'Search'),
    "hl_results": ('Kết quả', 'Results'),
    "hl_none": ('Không tìm thấy hộ nào.', 'No household found.'),
    "hl_more": ('Còn nhiều hộ khác khớp; hãy gõ đầy đủ hơn.',
                'More households match; type more of it.'),
    "hl_head": ('Chủ hộ', 'Head of household'),
    "hl_phone": ('Số điện thoại', 'Phone'),
    "hl_status": ('Diện', 'Status'),
    "hl_matched": ('Khớp theo', 'Matched by'),
    "hl_by_id": ('mã hộ', 'household id'),
    "hl_by_phone": ('số điện thoại', 'phone'),
    "hl_by_national_id": ('số CCCD', 'citizen ID number'),
    "hl_back": ('Tìm hộ khác', 'Find another household'),
    "hl_rounds": ('Qua từng đợt', 'Round by round'),
    "hl_no_rounds": ('Chưa có đợt phân bổ nào có kết quả.', 'No round has results yet.'),
    "hl_device": ('Máy', 'Phone'),
    "hl_code": ('Mã nhận máy', 'Pickup code'),
    "hl_code_issued": ('đã cấp', 'issued'),
    "hl_code_none": ('chưa cấp', 'not issued'),
    "hl_window": ('khung giờ nhận', 'pickup window'),
    "hl_handed_over": ('Đã trao máy', 'Handed over'),
    "hl_released": ('Máy trả về kho', 'Phone released to stock'),
    "hl_point_room": ('Điểm nhận gần nhất còn chỗ', 'Nearest point with room'),
    "hl_places_left": ('chỗ còn trống', 'places left'),
    "hl_in_reach": ('trong tầm của đợt', "within the round's reach"),
    "hl_out_of_reach": ('ngoài tầm của đợt', "beyond the round's reach"),
    "hl_no_room": ('không điểm nào còn chỗ', 'no point had room'),
    "hl_cheapest_lot": ('Lô máy phù hợp rẻ nhất', 'Cheapest suitable lot'),
    "hl_to_budget": ('từ ngân sách', 'to the budget'),
    "hl_devices_left": ('máy còn lại', 'devices left'),
    "hl_no_lot": ('không lô nào phù hợp', 'no lot suits it'),
    "hl_cutoff": ('Điểm ưu tiên thấp nhất được nhận ở xã, phường',
                  'Lowest priority points served in the commune'),
    "hl_nobody_served": ('chưa hộ nào được nhận', 'nobody served'),
    "hl_own_weight": ('hộ này', 'this household'),
    "hl_budget_left": ('Ngân sách còn lại của đợt', "The round's budget left"),
    "hl_engine_detail": ('Chi tiết của bộ phân bổ', "The engine's detail"),
    # A round made from the registry without a name (api/pages/planner.py).
    "new_round_name": ('Đợt mới', 'New round'),
    # The languages, each named in itself on the link that switches to it (layout.html).
    "language_vi": ('Tiếng Việt', 'Vietnamese'),
    "language_en": ('Tiếng Anh', 'English'),
    "first_round": ('Đợt thứ nhất', 'First round'),
    "second_round": ('Đợt thứ hai', 'Second round'),
    # The glossary (api/pages/glossary.py), linked from every page's footer.
    "glossary": ('Giải thích thuật ngữ', 'Glossary'),
    "glossary_intro": ('Những từ trên các trang này, nói bằng lời thường.',
                       'The words on these pages, in plain language.'),
    "glossary_optimal": ('Tối ưu đã chứng minh', 'Proven optimal'),
    "glossary_optimal_text": (
        'Bộ phân bổ đã tìm ra cách chia máy và chứng minh được rằng không có cách chia nào tốt '
        'hơn theo các tiêu chí của đợt, xét lần lượt: mức phục vụ tối thiểu ở mỗi xã, phường; '
        'tổng điểm ưu tiên của các hộ được nhận; phần ngân sách nhà nước phải chi; tổng quãng '
        'đường các hộ phải đi. Nếu trang ghi “Khả thi (chưa chứng minh tối ưu)” thì cách chia '
        'vẫn hợp lệ, nhưng hết thời gian trước khi chứng minh được là tốt nhất.',
        'The allocator found a way to share out the phones and proved that no other way is '
        "better by the round's aims, taken in turn: the least share served in every commune; "
        'the total priority points of the households served; the public money spent; the '
        'total distance households travel. When a page says “Feasible (optimality not '
        'proven)”, the allocation is valid, but time ran out before it was proven the best.'),
    "glossary_priority": ('Điểm ưu tiên', 'Priority points'),
    "glossary_priority_text": (
        'Mỗi hộ đủ điều kiện có một số điểm: theo diện (mặc định hộ nghèo 100, hộ cận nghèo '
        '60) cộng thêm điểm cho từng hoàn cảnh (gia đình có công, người cao tuổi sống một '
        'mình, người khuyết tật và các hoàn cảnh khác). Khi không đủ máy, ngân sách hoặc chỗ ở '
        'điểm nhận cho mọi hộ, đợt phân bổ chọn các hộ sao cho tổng điểm ưu tiên của các hộ '
        'được nhận là lớn nhất, nên hộ nhiều điểm hơn được nhận trước.',
        'Every eligible household has a number of points: by its status (by default 100 for '
        'a poor household, 60 for a near-poor one) plus points for each circumstance (a '
        'merit family, an elderly person living alone, a disability, and others). When '
        'phones, money or room at the points do not reach every household, the round '
        'serves the households whose priority points add up to the most, so households with '
        'more points are served first.'),
    "glossary_copay": ('Đồng chi trả', 'Co-payment'),
    "glossary_copay_text": (
        'Phần tiền hộ tự đóng khi nhận máy, đặt theo diện trong chính sách của đợt (mặc định '
        '0 đồng). Giá máy trừ phần nhà tài trợ chi và phần đồng chi trả là phần ngân sách '
        'nhà nước phải chi cho máy đó.',
        "What a household pays itself when it collects its phone, set by status in the "
        "round's policy (0 by default). The device's price, less what the sponsor pays and "
        'less the co-payment, is what the phone costs the public budget.'),
    "glossary_points": ('Điểm phần trăm (điểm %)', 'Percentage points (pp)'),
    "glossary_points_text": (
        'Chênh lệch giữa hai tỷ lệ phần trăm: từ 64,0% lên 66,7% là tăng 2,7 điểm %.',
        'The difference between two percentages: from 64.0% to 66.7% is a rise of 2.7 pp.'),
    "glossary_money": ('Số tiền', 'Amounts'),
    "glossary_money_text": (
        'Số tiền được viết gọn theo tỷ, triệu hoặc nghìn đồng (ví dụ 3,2 tỷ đồng); để chuột '
        'lên số tiền để xem số chính xác. Các tệp tải về ghi số chính xác. Ô nhập ngân sách '
        'nhận 3,5 tỷ, 3500 triệu hoặc 3.500.000.000.',
        'Amounts are written short, in billions, millions or thousands of VND (e.g. 3.2 '
        'billion VND); hover over an amount to see it exactly. Downloaded files hold exact '
        'amounts. Budget fields take 3.5 billion, 3500 million or 3,500,000,000.'),
    "glossary_time": ('Ngày giờ', 'Dates and times'),
    "glossary_time_text": (
        'Mọi ngày giờ là giờ Việt Nam (UTC+7), ngày viết theo dạng ngày/tháng/năm.',
        "Every date and time is Vietnam's (UTC+7), with dates written day/month/year."),
}
