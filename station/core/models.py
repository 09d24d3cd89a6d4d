"""Domain records: residents (群众) and catalog items (事项清单 / 办事指南).

Pydantic v2 models; the validating constructors return ``FieldError`` lists as data so one
bad field is reported beside the field rather than as a crash.
"""
from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from station.core.identity import IdentityInfo, check_phone, parse_id
from station.errors import FieldError


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Role(str, Enum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"

    @property
    def label(self) -> str:
        return {"clerk": "代办员", "supervisor": "站长"}[self.value]


class ResidentInput(Frozen):
    """What a clerk types to register a resident; checked by ``check_resident``."""

    id_number: str
    name: str
    phone: str | None = None
    address: str | None = None
    village_group: str | None = None


class Resident(Frozen):
    id: str
    id_number: str
    name: str
    birth_date: date
    sex: Literal["男", "女"]
    phone: str | None = None
    address: str | None = None
    village_group: str | None = None


def check_resident(raw: dict, today: date | None = None, prefix: str = "") -> tuple[ResidentInput | None, IdentityInfo | None, list[FieldError]]:
    """Validate a resident document; return the clean input, what the identity number tells, errors."""
    errors: list[FieldError] = []
    if not isinstance(raw, dict):
        return None, None, [FieldError(prefix or "resident", "not_object", "群众信息格式不正确")]
    name = str(raw.get("name") or "").strip()
    if not name:
        errors.append(FieldError(prefix + "name", "required", "姓名不能为空"))
    elif len(name) > 30:
        errors.append(FieldError(prefix + "name", "too_long", "姓名过长(最多30个字)"))
    info = None
    id_raw = str(raw.get("id_number") or "").strip()
    if not id_raw:
        errors.append(FieldError(prefix + "id_number", "required", "身份证号码不能为空"))
    else:
        parsed = parse_id(id_raw, prefix + "id_number", today)
        if isinstance(parsed, FieldError):
            errors.append(parsed)
        else:
            info = parsed
    phone = raw.get("phone")
    if phone:
        checked = check_phone(str(phone), prefix + "phone")
        if isinstance(checked, FieldError):
            errors.append(checked)
        else:
            phone = checked
    if errors:
        return None, info, errors
    clean = ResidentInput(
        id_number=info.number, name=name, phone=phone or None,
        address=(str(raw.get("address")).strip() or None) if raw.get("address") else None,
        village_group=(str(raw.get("village_group")).strip() or None) if raw.get("village_group") else None,
    )
    return clean, info, []


class Material(Frozen):
    """One required material (申请材料) of a catalog item."""

    name: str
    form: Literal["原件", "复印件", "原件及复印件", "证明", "表格"] = "原件"
    copies: int = Field(default=1, ge=1)
    # 容缺: the case may be accepted while this is missing, against a written promise.
    gap_allowed: bool = False
    note: str | None = None


class CatalogItem(Frozen):
    """One service item (事项) of the township's catalog."""

    code: str
    name: str
    category: Literal["行政许可", "行政确认", "行政给付", "公共服务", "其他行政权力"]
    department: str
    legal_basis: str
    conditions: str
    serves: str
    process: str
    materials: tuple[Material, ...]
    legal_days: int = Field(ge=1)
    promised_days: int = Field(ge=1)
    deciding_level: Literal["村", "乡镇", "县"]
    fee: str = "免费"
    result: str

    @field_validator("promised_days")
    @classmethod
    def _promised_within_legal(cls, v: int, info):
        legal = info.data.get("legal_days")
        if legal is not None and v > legal:
            raise ValueError("承诺时限不能长于法定时限")
        return v

    @property
    def allows_gaps(self) -> bool:
        return any(m.gap_allowed for m in self.materials)

    def material(self, name: str) -> Material | None:
        return next((m for m in self.materials if m.name == name), None)


class Catalog(Frozen):
    """A published version of the catalog; the township replaces it with a newer version."""

    version: str
    published: date
    publisher: str
    items: tuple[CatalogItem, ...]

    def item(self, code: str) -> CatalogItem | None:
        return next((i for i in self.items if i.code == code), None)


def parse_catalog(doc: dict) -> Catalog | list[FieldError]:
    try:
        catalog = Catalog.model_validate(doc)
    except ValidationError as exc:
        return [FieldError(".".join(str(p) for p in e["loc"]), "catalog_invalid", f"事项清单格式错误: {e['msg']}")
                for e in exc.errors()]
    codes = [i.code for i in catalog.items]
    if len(codes) != len(set(codes)):
        return [FieldError("items", "duplicate_code", "事项清单中有重复的事项编码")]
    return catalog
