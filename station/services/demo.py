"""A demonstration station full of realistic residents and cases in every state.

Everything goes through the real services (audit chain, outbox, projections), so the demo
is also a working example of the write path. Random but reproducible (``seed``).
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from station.core.cases import DELIVERY_METHODS, EventType
from station.core.identity import check_char
from station.core.models import Role
from station.services import cases, settings, users
from station.services.session import Session, StationHome

DEMO_CODE = "XX0101"
DEMO_NAME = "旧州镇石板村便民服务站"
DEMO_PASSPHRASE = "shiban-demo-2026"
DEMO_PHONE = "0851-33001234"
DEMO_SUPERVISOR = ("zhanzhang", "罗世芬")
DEMO_CLERK = ("daiban", "杨光明")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["秀英", "桂英", "秀兰", "玉兰", "桂兰", "建国", "建华", "国强", "志强", "春花", "德明", "明亮", "永福", "文华",
         "海燕", "红梅", "小红", "小明", "金凤", "正清", "世荣", "光荣", "家富", "开芬", "兴贵", "应芬", "光华", "德兰",
         "永红", "志刚", "丽", "敏", "军", "勇", "静", "芳", "强", "磊", "燕", "霞"]
GROUPS = ["一组", "二组", "三组", "四组", "五组", "六组", "七组", "八组"]
AREA = "520402"  # 贵州省安顺市西秀区


def _id_number(rng: random.Random, born: date, male: bool) -> str:
    seq = rng.randrange(0, 99) * 10 + rng.choice([1, 3, 5, 7, 9] if male else [0, 2, 4, 6, 8])
    first17 = f"{AREA}{born:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def _resident(rng: random.Random, today: date) -> dict:
    male = rng.random() < 0.5
    born = today - timedelta(days=rng.randrange(18 * 365, 92 * 365))
    return {"id_number": _id_number(rng, born, male), "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "phone": rng.choice(["138", "139", "150", "151", "158", "182", "187"]) + f"{rng.randrange(10**8):08d}",
            "village_group": rng.choice(GROUPS), "address": f"石板村{rng.choice(GROUPS)}{rng.randrange(1, 80)}号"}


# How far each demo case goes, and how often.
_PATHS = [
    ([], 10), (["submitted"], 12), (["submitted", "accepted_by_township"], 10),
    (["submitted", "returned_for_correction"], 4), (["submitted", "accepted_by_township", "decided"], 10),
    (["submitted", "accepted_by_township", "decided", "result_delivered"], 8),
    (["submitted", "accepted_by_township", "decided", "result_delivered", "rated"], 20),
    (["submitted", "withdrawn"], 3),
]


def _payload(etype: str, rng: random.Random) -> dict:
    return {
        "returned_for_correction": {"reason": "户口簿复印件不清晰,请重新提供"},
        "decided": rng.choice([{"outcome": "approved", "summary": "经审核符合条件,准予办理"},
                               {"outcome": "rejected", "summary": "家庭人均收入高于当地标准,不予办理"}]),
        # a 容缺 case whose materials never came is closed only with the clerk's confirmation
        "result_delivered": {"method": rng.choice(DELIVERY_METHODS), "gap_confirmed": True},
        # a reason goes with every 差评; the service drops it from a good rating
        "rated": {"level": rng.choice([5, 5, 5, 4, 4, 3, 2, 1]), "reason_category": "办理时间长", "reason": "等待时间较长"},
        "withdrawn": {"reason": "群众本人申请撤回", "gap_confirmed": True},
    }.get(etype, {})


def build(data_dir: Path, cases_count: int = 160, seed: int = 20261121, today: date | None = None) -> Session:
    """Create the demo station in ``data_dir`` and fill it; return an open supervisor session."""
    rng = random.Random(seed)
    real_today = today or date.today()
    clock = {"today": real_today}
    session, _ = StationHome(data_dir).init(DEMO_CODE, DEMO_NAME, DEMO_SUPERVISOR[0], DEMO_SUPERVISOR[1],
                                            DEMO_PASSPHRASE, today=lambda: clock["today"])
    users.add(session, DEMO_CLERK[0], DEMO_CLERK[1], Role.CLERK, DEMO_PASSPHRASE)
    settings.set_station_phone(session, DEMO_PHONE)
    clerk = StationHome(data_dir).unlock(DEMO_CLERK[0], DEMO_PASSPHRASE, today=lambda: clock["today"])
    try:
        _fill(session, clerk, clock, rng, real_today, cases_count)
    finally:
        clerk.close()
    clock["today"] = real_today
    return session


def _fill(supervisor: Session, clerk: Session, clock: dict, rng: random.Random, real_today: date, cases_count: int) -> None:
    session = supervisor
    people = [_resident(rng, real_today) for _ in range(max(10, cases_count // 2))]
    items = session.catalog.items
    plans = []
    for _ in range(cases_count):
        path = rng.choices([p for p, _ in _PATHS], [w for _, w in _PATHS])[0]
        received = real_today - timedelta(days=rng.randrange(0, 75) if path else rng.randrange(0, 8))
        plans.append((received, path))
    # Intake in date order, so case numbers follow the order cases came in, as at a real station.
    for received, path in sorted(plans, key=lambda p: p[0]):
        item = rng.choice(items)
        names = [m.name for m in item.materials]
        doc = {"resident": rng.choice(people), "item": item.code, "received_on": received.isoformat(),
               "materials_received": names, "home_visit": rng.random() < 0.1}
        gaps = [m.name for m in item.materials if m.gap_allowed]
        if gaps and rng.random() < 0.25:
            doc["materials_received"] = [n for n in names if n != gaps[0]]
            doc["accept_with_gaps"] = {"promised_date": (received + timedelta(days=7)).isoformat()}
        elif not path and rng.random() < 0.4:
            doc["materials_received"] = names[:2]  # waiting for the rest (one-time notice issued)
        if rng.random() < 0.08:
            doc["proxy"] = {"name": rng.choice(SURNAMES) + rng.choice(GIVEN), "relation": rng.choice(["儿子", "女儿", "配偶", "村民小组长"])}
        session = clerk if rng.random() < 0.7 else supervisor
        clock["today"] = received
        case = cases.intake(session, doc)
        day = received
        for step in path:
            day = min(real_today, day + timedelta(days=rng.randrange(0, 6)))
            clock["today"] = day
            cases.add_event(session, case["number"], step, _payload(step, rng))
            if step == "rated" and rng.random() < 0.5:
                state, _ = cases.load(session, case["number"])
                if state.follow_up == "open":
                    cases.add_event(session, case["number"], EventType.FOLLOW_UP_CLOSED, {
                        "verification": "电话联系群众,核实为办理等待时间较长", "rectification": "已提醒代办员及时告知办理进度",
                        "revisit": "回访群众,表示理解"})
