"""A typical receipt's data, importing nothing but the printout records (for the cold-start timing)."""
from datetime import date

from printouts.records import CaseSheet, MaterialLine

SHEET = CaseSheet(
    station_name="旧州镇石板村便民服务站", station_code="XX0101", station_phone="0851-33001234", number="XX0101-2026-000123",
    item_name="最低生活保障申请", item_code="MZ-001", department="县民政局", deciding_level="县", promised_days=15,
    resident_name="张秀英", resident_id="520402********001X", resident_phone="138****5678", resident_address="三组",
    received_on=date(2026, 11, 20), due_on=date(2026, 12, 11), due_estimated=False,
    received=(MaterialLine("申请人居民身份证", "原件及复印件", 1, False), MaterialLine("户口簿", "原件及复印件", 1, False)),
    missing=(MaterialLine("家庭成员收入证明", "证明", 1, True),), gap_promise=date(2026, 11, 27), owner_name="杨光明",
    proxy=None, home_visit=False, token="VS1:XX0101-2026-000123:20261211:" + "A" * 103, printed_on=date(2026, 11, 20))
