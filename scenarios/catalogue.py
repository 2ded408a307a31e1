"""What the generator draws from: device models, sponsors, names (all public or invented).

Prices are typical Vietnamese retail prices of entry-level models in 2025-2026
(1.0 to 3.5 million VND). Sponsor names are kinds the city names: telecom
operators, enterprises, unions, social organisations and individuals. The
enterprises and individuals are invented.
"""

from __future__ import annotations

# model, network, price (VND), features
DEVICES = (
    ("Itel A50", "4G", 1_490_000, ""),
    ("Itel A70", "4G", 1_690_000, "large_screen;long_battery"),
    ("Masstel Hapi 30", "4G", 1_090_000, "senior_mode"),
    ("Masstel Tango 4G", "4G", 1_190_000, "senior_mode;long_battery"),
    ("Tecno Spark Go 2024", "4G", 1_790_000, "large_screen;long_battery"),
    ("Xiaomi Redmi A3", "4G", 1_990_000, "large_screen;long_battery"),
    ("Xiaomi Redmi A5", "4G", 2_190_000, "large_screen;long_battery"),
    ("Nokia C32", "4G", 2_090_000, "large_screen;senior_mode"),
    ("Samsung Galaxy A05", "4G", 2_390_000, "large_screen;long_battery"),
    ("Samsung Galaxy A06", "4G", 2_690_000, "large_screen;senior_mode;long_battery"),
    ("TCL 505", "4G", 2_290_000, "large_screen"),
    ("Realme Note 50", "4G", 2_390_000, "large_screen;long_battery"),
    ("Xiaomi Redmi 13C 5G", "5G", 3_190_000, "large_screen;long_battery"),
    ("Samsung Galaxy A06 5G", "5G", 3_490_000, "large_screen;senior_mode;long_battery"),
)

NEEDS = ("large_screen", "senior_mode", "long_battery")

OPERATORS = ("Viettel", "VNPT VinaPhone", "MobiFone")
UNIONS = ("Liên đoàn Lao động Thành phố", "Thành Đoàn", "Hội Liên hiệp Phụ nữ Thành phố",
          "Hội Nông dân Thành phố", "Hội Cựu chiến binh Thành phố")
SOCIAL = ("Ủy ban Mặt trận Tổ quốc Việt Nam Thành phố", "Hội Chữ thập đỏ Thành phố",
          "Quỹ Vì người nghèo Thành phố", "Hội Bảo trợ người khuyết tật và trẻ mồ côi",
          "Hội Khuyến học Thành phố")
ENTERPRISE_STEMS = ("An Phát", "Bình Minh", "Đại Nam", "Gia Huy", "Hoàng Long", "Kim Ngân",
                    "Minh Khang", "Nam Việt", "Phú Thịnh", "Sao Mai", "Tân Tiến", "Thành Công",
                    "Trường Sơn", "Việt Á", "Vạn Xuân", "Hưng Thịnh", "Phương Đông", "Sài Gòn Xanh")
ENTERPRISE_FORMS = ("Công ty TNHH", "Công ty Cổ phần", "Tập đoàn")
ENTERPRISE_TRADES = ("Thương mại", "Xây dựng", "Dệt may", "Công nghệ", "Thực phẩm", "Logistics")

FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
                "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE_NAMES = ("Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Quốc", "Đức", "Thu", "Kim")
GIVEN_NAMES = ("An", "Bình", "Châu", "Dũng", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Hương", "Khoa",
               "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Phương", "Quân", "Sơn",
               "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Xuân", "Yến")
