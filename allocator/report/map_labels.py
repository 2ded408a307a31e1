"""Words of the maps' keys and of the maps said in words (allocator.report.map_key),
Vietnamese first, then English."""

from __future__ import annotations

MAP_LABELS: dict[str, tuple[str, str]] = {
    "map_key_coverage": ("Màu chấm: tỷ lệ hộ đủ điều kiện đã được nhận máy",
                         "Dot colour: share of eligible households served"),
    "map_key_handed": ("Màu chấm: tỷ lệ hộ đủ điều kiện đã nhận máy tại điểm",
                       "Dot colour: share of eligible households handed a phone"),
    "map_key_devices": ("Màu và kích thước chấm: số máy của bạn ở xã, phường",
                        "Dot colour and size: your devices in the commune"),
    "map_step_0": ("dưới 20%", "under 20%"),
    "map_step_1": ("từ 20% đến dưới 40%", "20% to under 40%"),
    "map_step_2": ("từ 40% đến dưới 60%", "40% to under 60%"),
    "map_step_3": ("từ 60% đến dưới 80%", "60% to under 80%"),
    "map_step_4": ("từ 80% trở lên", "80% or more"),
    "map_hidden": ("hoặc ẩn", "or hidden"),
    "map_no_eligible": ("không có hộ đủ điều kiện", "no eligible household"),
    "map_no_devices": ("không có máy", "no devices"),
    "map_places": ("{n} xã, phường", "{n} communes"),
    "map_tap_hint": ("Chạm hoặc di chuột vào một chấm để xem tên xã, phường.",
                     "Tap or point at a dot to see the commune's name."),
}
