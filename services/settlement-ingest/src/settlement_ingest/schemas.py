"""Request and response bodies, in the national platform's field names (interfaces 3501–3507).

Unknown fields of the national interface are accepted and ignored (`extra="allow"` is not
needed: they are simply not read), so a vendor can send its full 3505 record unchanged.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from yibao.events.inventory import MovementType
from yibao.events.settlement import DecisionStatus, RuleHit
from yibao.requests import RequestModel

CODE_PATTERN = r"^[A-Z0-9]{6,32}$"
MAX_CODES_PER_SETTLEMENT = 1000


def _whole(value: Decimal) -> Decimal:
    if value != value.to_integral_value():
        raise ValueError("must count whole packs (trdn_flag 0) or whole smallest units (1)")
    return value


Count = Annotated[Decimal, Field(gt=0, le=100000), AfterValidator(_whole)]
"""A 数量 field: whole packs when trdn_flag is 0, whole smallest units when it is 1."""


class _Body(RequestModel):
    """Ingest's bodies (see `yibao.requests`)."""


class TraceCode(_Body):
    # No minimum: an empty scan is a settlement with a malformed code (a decision), not a 4xx.
    drug_trac_codg: str = Field(
        max_length=256, description="药品追溯码 (scanned trace code, as read)"
    )


class SaleLine(_Body):
    med_list_codg: str = Field(
        min_length=1,
        max_length=50,
        description="医疗目录编码 — 国家医保药品代码, 23 chars, e.g. XA01ABA014A001010101445",
    )
    drug_prod_barc: str | None = Field(
        default=None, max_length=20, description="药品条形码 (69 code / GTIN)"
    )
    trdn_flag: Literal[0, 1] = Field(
        default=0, description="拆零标志: 0 whole packs, 1 split sale of smallest units"
    )
    sel_retn_cnt: Count = Field(description="销售/退货数量")
    sel_retn_unt: str | None = Field(default=None, max_length=20, description="销售/退货单位")
    finl_trns_pric: Decimal | None = Field(default=None, ge=0, description="最终成交单价 (yuan)")
    days_supply: int | None = Field(default=None, ge=1, le=366, description="用药天数 (days)")
    drugtracinfo: list[TraceCode] = Field(
        default_factory=list, max_length=1000, description="追溯码信息 (one per pack scanned)"
    )


class SettlementIn(_Body):
    """A retail sale or outpatient settlement (3505-style)."""

    fixmedins_code: str = Field(
        pattern=CODE_PATTERN, description="定点医药机构编号 (designated institution code)"
    )
    psn_no: str | None = Field(default=None, max_length=64, description="人员编号")
    certno: str | None = Field(
        default=None, min_length=1, max_length=32, description="证件号码 (resident ID number)"
    )
    psn_name: str | None = Field(default=None, max_length=64, description="人员姓名")
    setl_time: AwareDatetime = Field(description="结算时间 (with time zone)")
    prsc_dr_certno: str | None = Field(default=None, max_length=32, description="开方医师证件号")
    phar_certno: str | None = Field(default=None, max_length=32, description="药师证件号")
    emergency: bool = Field(
        default=False,
        description="急诊标志: an emergency is settled even if the doctor is suspended",
    )
    lines: list[SaleLine] = Field(min_length=1, max_length=200, description="明细 (drug lines)")

    @model_validator(mode="after")
    def _person_identified(self) -> SettlementIn:
        if not (self.certno or self.psn_no):
            raise ValueError("one of certno or psn_no is required to identify the insured person")
        codes = sum(len(line.drugtracinfo) for line in self.lines)
        if codes > MAX_CODES_PER_SETTLEMENT:
            # Bounds the decision (one hit per bad code) well under Kafka's message size.
            raise ValueError(
                f"{codes} trace codes; at most {MAX_CODES_PER_SETTLEMENT} per settlement"
            )
        return self

    model_config = ConfigDict(
        extra="ignore",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "fixmedins_code": "P15030200007",
                    "psn_no": "15000000000000000001",
                    "certno": "150302199001011231",
                    "psn_name": "张三",
                    "setl_time": "2026-11-23T10:00:00+08:00",
                    "lines": [
                        {
                            "med_list_codg": "XA01ABA014A001010101445",
                            "drug_prod_barc": "6924561884074",
                            "trdn_flag": 0,
                            "sel_retn_cnt": 2,
                            "finl_trns_pric": 12.50,
                            "drugtracinfo": [
                                {"drug_trac_codg": "81234560000000010000"},
                                {"drug_trac_codg": "81234560000000020000"},
                            ],
                        }
                    ],
                }
            ]
        },
    )


class SettlementOut(BaseModel):
    settlement_id: str
    status: DecisionStatus | Literal["deciding"]
    hits: list[RuleHit] = Field(default_factory=list)
    decided_at: datetime | None = None


class ReturnLineIn(_Body):
    line: int = Field(ge=0, description="原销售明细序号 (index of the original line)")
    sel_retn_cnt: Count = Field(description="退货数量")
    drugtracinfo: list[TraceCode] = Field(default_factory=list, max_length=1000)


class ReturnIn(_Body):
    """A return (3506-style) referencing the original sale's lines."""

    model_config = ConfigDict(
        extra="ignore",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "lines": [
                        {
                            "line": 0,
                            "sel_retn_cnt": 1,
                            "drugtracinfo": [{"drug_trac_codg": "81234560000000010000"}],
                        }
                    ]
                }
            ]
        },
    )

    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)


class ReturnOut(BaseModel):
    return_id: str
    status: Literal["accepted", "rejected"]
    hits: list[RuleHit] = Field(default_factory=list)


class MovementIn(_Body):
    """A stock movement (进销存: 3501 stock count, 3502 change, 3503 purchase, 3504 return)."""

    model_config = ConfigDict(
        extra="ignore",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "fixmedins_code": "P15030200007",
                    "movement_type": "purchase_in",
                    "med_list_codg": "XA01ABA014A001010101445",
                    "manu_lotnum": "L2026A",
                    "expy_end": "2027-06-30",
                    "drugtracinfo": [
                        {"drug_trac_codg": "81234560000000010000"},
                        {"drug_trac_codg": "81234560000000020000"},
                    ],
                }
            ]
        },
    )

    fixmedins_code: str = Field(pattern=CODE_PATTERN, description="定点医药机构编号")
    movement_type: MovementType = Field(description="movement kind")
    med_list_codg: str = Field(min_length=1, max_length=50, description="医疗目录编码")
    manu_lotnum: str | None = Field(default=None, max_length=64, description="生产批号")
    expy_end: date | None = Field(default=None, description="有效期止")
    counterparty_code: str | None = Field(
        default=None, pattern=CODE_PATTERN, description="调拨对方机构 (transfer counterparty)"
    )
    drugtracinfo: list[TraceCode] = Field(min_length=1, max_length=10000)


class MovementOut(BaseModel):
    movement_id: str


class DrgSettlementIn(_Body):
    """An inpatient DRG/DIP settlement (main fields of the 2303-style record)."""

    model_config = ConfigDict(
        extra="ignore",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "fixmedins_code": "H15030200001",
                    "mdtrt_id": "ZY2026110001",
                    "certno": "150302196505051233",
                    "drg_code": "ES23",
                    "weight": 1.23,
                    "los_days": 8,
                    "total_cost": 15600.50,
                    "fund_paid": 11000.00,
                    "discharge_status": "improved",
                    "discharge_date": "2026-11-20",
                }
            ]
        },
    )

    fixmedins_code: str = Field(pattern=CODE_PATTERN, description="定点医药机构编号")
    mdtrt_id: str = Field(min_length=1, max_length=64, description="就诊ID (visit id)")
    certno: str = Field(min_length=1, max_length=32, description="证件号码")
    drg_code: str | None = Field(default=None, max_length=16, description="DRG/DIP 分组编码")
    grouped: bool = Field(default=True, description="是否入组")
    excluded: bool = Field(default=False, description="是否排除病例")
    weight: Decimal | None = Field(default=None, ge=0, description="相对权重 RW")
    los_days: int = Field(ge=0, le=3650, description="住院天数 (length of stay)")
    total_cost: Decimal = Field(ge=0, description="医疗费总额 (yuan)")
    fund_paid: Decimal = Field(ge=0, description="基金支付 (yuan)")
    discharge_status: Literal["cured", "improved", "transferred", "died", "other"] = Field(
        description="离院方式"
    )
    discharge_date: date = Field(description="出院日期")


class DrgSettlementOut(BaseModel):
    drg_settlement_id: str


class InstitutionIn(_Body):
    fixmedins_code: str = Field(pattern=CODE_PATTERN, description="定点医药机构编号")
    name: str = Field(min_length=1, max_length=200, description="机构名称")
    kind: Literal["hospital", "pharmacy", "grassroots"]
    level: Literal["tertiary", "secondary", "primary", "retail", "village"]
    admdvs: str = Field(pattern=r"^\d{6,12}$", description="医保区划 (admin division code)")


class InstitutionOut(BaseModel):
    fixmedins_code: str
    api_key: str


def hit_dicts(hits: list[RuleHit]) -> list[dict[str, Any]]:
    """Hits as stored JSON."""
    return [h.model_dump(mode="json") for h in hits]
