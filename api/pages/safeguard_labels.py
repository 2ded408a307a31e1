"""Words of the decisions' safeguards: confirming an approval or a close, variants beside
their base, and refusals said in the page's language. Vietnamese first, then English;
`{n}`-style fields are filled by the page."""

from __future__ import annotations

SAFEGUARD_LABELS: dict[str, tuple[str, str]] = {
    # The round page's buttons, which open a confirmation first (api/pages/decide.py).
    "approve_ask": ('Phê duyệt đợt này…', 'Approve this round…'),
    "approve_superseding_ask": ('Phê duyệt, thay cho đợt {n}…', 'Approve, superseding round {n}…'),
    "close_ask": ('Đóng đợt…', 'Close the round…'),
    "will_supersede_variant": (
        'Phê duyệt phương án này sẽ thay cho đợt {n}: đợt {n} chuyển sang “Đã được thay bằng '
        'phương án mới” và không thể phê duyệt nữa.',
        'Approving this variant supersedes round {n}: round {n} becomes superseded and can no '
        'longer be approved.'),
    "will_supersede_replan": (
        'Phê duyệt phương án điều chỉnh này sẽ thay cho đợt {n}.',
        'Approving this re-plan supersedes round {n}.'),
    "replaces_round": ('Được phê duyệt thay cho', 'Approved in place of'),
    # Confirming an approval.
    "confirm_approve_title": ('Xác nhận phê duyệt đợt {n}', 'Confirm the approval of round {n}'),
    "confirm_approve_lead": (
        'Phê duyệt là một quyết định chính thức. Khi bấm “Phê duyệt”:',
        'Approval is an official decision. When you press “Approve”:'),
    "commit_reserve": (
        '{phones} máy được giữ cho {phones} hộ đến hết ngày {deadline} (hạn nhận máy, '
        '{days} ngày).',
        '{phones} phones are reserved for {phones} households until the end of {deadline} '
        '(the pickup deadline, {days} days).'),
    "commit_notify": (
        '{n} hộ cần được báo điểm nhận, mã nhận máy và khung giờ (tin nhắn hoặc phiếu hẹn).',
        '{n} households are to be told their point, pickup code and window (text message or '
        'slip).'),
    "commit_budget": (
        'Ngân sách cam kết cho đợt: {cost}; ngân sách chiến dịch còn lại sau đó: {left}.',
        'Budget committed to the round: {cost}; the campaign budget left afterwards: {left}.'),
    "commit_budget_round": ('Ngân sách cam kết cho đợt: {cost}.',
                            'Budget committed to the round: {cost}.'),
    "commit_budget_over": (
        'Ngân sách chiến dịch không đủ (thiếu {short}): phê duyệt sẽ bị từ chối.',
        'The campaign budget is short by {short}: the approval will be refused.'),
    "commit_supersede": (
        'Đợt {n} ({name}) được thay bằng đợt này: {reserved} máy đang giữ cho đợt {n} được trả '
        'lại. So với đợt {n}: {keeps} hộ giữ nguyên điểm và máy, {changes} hộ đổi điểm hoặc '
        'máy, {loses} hộ không còn được nhận, {newly} hộ mới được nhận.',
        'Round {n} ({name}) is superseded by this one: the {reserved} phones held for round '
        '{n} are freed. Against round {n}: {keeps} households keep their point and phone, '
        '{changes} change point or phone, {loses} lose their phone, {newly} are newly '
        'served.'),
    "commit_supersede_solved": (
        'Đợt {n} ({name}), đang chờ duyệt, chuyển sang “Đã được thay bằng phương án mới” và '
        'không thể phê duyệt nữa.',
        'Round {n} ({name}), awaiting approval, becomes superseded and can no longer be '
        'approved.'),
    "commit_held_elsewhere": (
        'Không thể phê duyệt: {n} hộ của đợt này đã nhận hoặc đang được giữ máy ở một đợt '
        'khác. Hãy điều chỉnh phương án của đợt đang phát máy, hoặc tạo đợt mới từ sổ đăng ký.',
        'This cannot be approved: {n} households of this round already received or hold a '
        'phone in another round. Re-plan the round open for pickup, or create a round again '
        'from the registry.'),
    "confirm_approve_button": ('Phê duyệt', 'Approve'),
    "cancel_approve": ('Quay lại, chưa phê duyệt', 'Go back, do not approve'),
    # Confirming a close.
    "confirm_close_title": ('Xác nhận đóng đợt {n}', 'Confirm closing round {n}'),
    "confirm_close_lead": ('Đóng đợt không thể hoàn tác. Khi bấm “Đóng đợt”:',
                           'Closing cannot be undone. When you press “Close the round”:'),
    "commit_release": ('{n} máy chưa trao được trả về kho.',
                       '{n} phones not handed over go back to stock.'),
    "commit_no_shows": ('{n} hộ chưa đến nhận bị ghi là không đến nhận.',
                        '{n} households that did not come are recorded as no-shows.'),
    "commit_handed": ('{n} lượt trao máy đã ghi nhận được giữ nguyên.',
                      '{n} recorded handovers stay as they are.'),
    "commit_early": (
        'Hạn nhận máy là hết ngày {deadline}, chưa đến: các hộ có thể vẫn đang trên đường '
        'đến nhận.',
        'The pickup deadline, the end of {deadline}, has not come yet: households may still '
        'be on their way.'),
    "commit_deadline_passed": ('Hạn nhận máy đã qua (hết ngày {deadline}).',
                               'The pickup deadline has passed (the end of {deadline}).'),
    "confirm_close_button": ('Đóng đợt', 'Close the round'),
    "cancel_close": ('Quay lại, chưa đóng', 'Go back, do not close'),
    # What the round page says after a decision.
    "approved_notice": ('Đã phê duyệt đợt {n}.', 'Round {n} is approved.'),
    "approved_superseding_notice": ('Đã phê duyệt đợt {n}; đợt {old} đã được thay bằng đợt '
                                    'này.', 'Round {n} is approved; it supersedes round {old}.'),
    "closed_notice": ('Đã đóng đợt {n}.', 'Round {n} is closed.'),
    # Refusals.
    "no_round_n": ('Không có đợt {n}.', 'No round {n}.'),
    "no_results_n": ('Đợt {n} chưa có kết quả.', 'Round {n} has no results yet.'),
    "page_out_of_date": (
        'Trang bạn dùng đã cũ; trang dưới đây cho thấy đợt như hiện nay.',
        'The page you used was out of date; this one shows the round as it is now.'),
    "percent_unreadable": (
        'Không đọc được tỷ lệ thay đổi “{typed}”. Hãy gõ một số phần trăm, ví dụ 10 hoặc -20.',
        'The change “{typed}” is not a percentage we can read. Type a number such as 10 or '
        '-20.'),
    "open_round_n": ('Mở đợt {n}', 'Open round {n}'),
    # A variant beside its base (api/pages/variants.py).
    "variant_result_title": ('Kết quả phương án so với đợt gốc', 'This variant beside its base'),
    "variant_same_data": (
        'Cùng dữ liệu với đợt {n}: danh sách hộ, lô máy, điểm nhận và xã, phường giống hệt. '
        'Chỉ khác:',
        'The same data as round {n}: households, lots, points and communes are identical. '
        'Only this differs:'),
    "variant_other_data": ('Dữ liệu khác đợt {n} ở: {files}. Chính sách khác ở:',
                           'The data differs from round {n} in: {files}. The policy differs in:'),
    "variant_no_policy_change": ('chính sách giống hệt', 'the same policy'),
    "variant_hash_note": (
        'Mã dữ liệu của hai đợt khác nhau vì mã này tính cả chính sách.',
        "The two rounds' input hashes differ because the hash covers the policy too."),
    "file_households.csv": ('danh sách hộ', 'households'),
    "file_lots.csv": ('lô máy', 'lots'),
    "file_points.csv": ('điểm nhận', 'points'),
    "file_communes.csv": ('xã, phường', 'communes'),
    "file_keep.csv": ('phân bổ cần giữ', 'allocations to keep'),
    "figure": ('Chỉ số', 'Figure'),
    "base_round_n": ('Đợt gốc {n}', 'Round {n}'),
    "this_variant": ('Phương án này', 'This variant'),
    "difference": ('Chênh lệch', 'Difference'),
    "budget_used_short": ('Ngân sách đã dùng', 'Budget used'),
    "served_both": ('Hộ được nhận ở cả hai', 'Households served in both'),
    "served_only_base": ('Hộ chỉ được nhận ở đợt gốc', 'Served only in the base'),
    "served_only_variant": ('Hộ chỉ được nhận ở phương án này', 'Served only in this variant'),
    "next_steps": ('Bước tiếp theo', 'Next steps'),
    "step_compare": ('So sánh chi tiết với đợt {n}', 'Compare in detail with round {n}'),
    "step_discard": ('Không dùng phương án này: quay lại đợt {n}',
                     'Do not use this variant: back to round {n}'),
    "discard_note": (
        'Phương án chưa được phê duyệt không giữ máy nào; không dùng thì cứ để nguyên.',
        'A variant that is not approved reserves nothing; if it is not wanted, leave it.'),
    "variant_default_name": ('{name} (ngân sách {change})', '{name} (budget {change})'),
    "variant_percent_hint": (
        'Ví dụ: 10 (thêm 10%) hoặc -20 (bớt 20%). Ngân sách phải còn lớn hơn 0.',
        'For example 10 (10% more) or -20 (20% less). The budget must stay above zero.'),
}
