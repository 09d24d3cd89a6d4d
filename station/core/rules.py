"""The rules the county sets (考核规则): deadline days for the 好差评 loop and the notice board, as data.

One versioned document, published by the township like the catalog and the calendar. The defaults
follow the national opinion (国办发〔2019〕51号: 一次一评, 差评 核实、整改、回访, 结果公开, 申诉复核) and
the most common local numbers (回访 within 1 working day, 整改 within 15 working days, 公示 7 days).

A deadline is computed from the rules in force when the event that opens it is recorded, and the
date is stored in that event's payload: changing the rules later never moves a deadline already set.
Pure: nothing here reads a store.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from station.core.workdays import DueDate, WorkCalendar
from station.errors import FieldError

NATIONAL_BASIS = "国办发〔2019〕51号"

# The reasons a resident may give for a bad rating (差评原因): the categories of the national opinion's
# 评价内容 (服务态度、办事效率、服务规范、政策落实), plus 其他 with free text.
BAD_REASON_CATEGORIES = ("服务态度差", "办理时间长", "材料多或反复跑", "政策不落实", "结果不满意", "其他")


class Rules(BaseModel):
    """One version of the rules; every number has a sane range so a typo cannot disable a deadline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1, max_length=40)
    published: date
    publisher: str = Field(min_length=1, max_length=60)
    basis: str = Field(default=NATIONAL_BASIS, max_length=200)
    revisit_workdays: int = Field(default=1, ge=1, le=30)  # 差评回访
    rectify_workdays: int = Field(default=15, ge=1, le=60)  # 差评整改
    objection_answer_workdays: int = Field(default=5, ge=1, le=30)  # 公示异议答复
    posting_min_days: int = Field(default=7, ge=1, le=60)  # 公示期 (calendar days, the day of posting counted)
    bad_rating_max: int = Field(default=2, ge=1, le=3)  # levels at or below this are 差评
    due_soon_workdays: int = Field(default=2, ge=0, le=10)  # "due soon" on 今日
    # Whether a delivered case nobody rated is closed after N days (None: never), counted how.
    unrated_close_days: int | None = Field(default=None, ge=1, le=90)
    unrated_close_counting: Literal["workdays", "calendar_days"] = "workdays"

    @model_validator(mode="after")
    def _consistent(self):
        if self.revisit_workdays > self.rectify_workdays:
            raise ValueError("回访时限不能长于整改时限")
        return self

    def is_bad(self, level: int) -> bool:
        return level <= self.bad_rating_max

    def revisit_due(self, on: date, cal: WorkCalendar) -> DueDate:
        return cal.add_workdays(on, self.revisit_workdays)

    def rectify_due(self, on: date, cal: WorkCalendar) -> DueDate:
        return cal.add_workdays(on, self.rectify_workdays)

    def objection_due(self, on: date, cal: WorkCalendar) -> DueDate:
        return cal.add_workdays(on, self.objection_answer_workdays)

    def posting_long_enough(self, start: date, end: date) -> bool:
        """A posting from ``start`` to ``end`` inclusive lasts at least the minimum period."""
        return (end - start).days + 1 >= self.posting_min_days

    def unrated_close_on(self, delivered_on: date, cal: WorkCalendar) -> date | None:
        if self.unrated_close_days is None:
            return None
        if self.unrated_close_counting == "workdays":
            return cal.add_workdays(delivered_on, self.unrated_close_days).due
        return delivered_on + timedelta(days=self.unrated_close_days)

    def lines(self) -> list[tuple[str, str]]:
        """Label and value of each rule, for the settings screen and the CLI."""
        close = "不自动结束" if self.unrated_close_days is None else \
            f"送达后 {self.unrated_close_days} 个{'工作日' if self.unrated_close_counting == 'workdays' else '自然日'}"
        return [("规则版本", self.version), ("发布", f"{self.publisher} {self.published.isoformat()}"), ("依据", self.basis),
                ("差评回访时限", f"{self.revisit_workdays} 个工作日"), ("差评整改时限", f"{self.rectify_workdays} 个工作日"),
                ("公示异议答复时限", f"{self.objection_answer_workdays} 个工作日"), ("公示期不少于", f"{self.posting_min_days} 天"),
                ("差评", "、".join(_LEVELS[i] for i in range(1, self.bad_rating_max + 1))),
                ("即将到期提醒", f"{self.due_soon_workdays} 个工作日内"), ("未评价件自动结束", close)]


_LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}

DEFAULT_RULES = Rules(version="国家默认", published=date(2019, 12, 3), publisher="国务院办公厅")


def parse_rules(doc: object) -> Rules | list[FieldError]:
    """A rules document checked field by field; the errors say which number is wrong, in Chinese."""
    if not isinstance(doc, dict):
        return [FieldError("rules", "not_object", "规则文件应为一个 JSON 对象")]
    try:
        return Rules.model_validate(doc)
    except ValidationError as exc:
        return [FieldError(".".join(str(p) for p in e["loc"]) or "rules", "rules_invalid", f"规则有误: {e['msg']}")
                for e in exc.errors()]
