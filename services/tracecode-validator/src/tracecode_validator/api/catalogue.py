"""The bureau's catalogue API (三码合一 mapping) and the no-code list of legacy stock."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from yibao.auth import AdminPrincipal
from yibao.problems import ProblemError, json_path
from yibao.requests import RequestModel

from tracecode_validator import repository as repo
from tracecode_validator.api.deps import Context
from tracecode_validator.domain.catalogue import PackLevel, Product, TracePrefix, validate_batch

router = APIRouter(prefix="/v1", tags=["catalogue"])

CATALOGUE_LOCK = 7_130_001  # one catalogue load at a time, so clash checks hold


class TracePrefixIn(RequestModel):
    prefix: str = Field(
        description="药品标识码 (7-digit drug identification code) or registered prefix"
    )
    pack_level: Literal["box", "middle", "case"] = Field(description="包装层级")


class ProductIn(RequestModel):
    model_config = ConfigDict(
        extra="ignore",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "med_list_codg": "XA01ABA014A001010101445",
                    "name": "阿莫西林胶囊 0.25g*24粒",
                    "gtins": ["6924561884074"],
                    "trace_prefixes": [{"prefix": "8123456", "pack_level": "box"}],
                    "units_per_pack": 24,
                    "split_allowed": True,
                    "rx_flag": True,
                }
            ]
        },
    )

    med_list_codg: str = Field(description="国家医保药品代码 (23 characters)")
    name: str = Field(description="药品名称")
    gtins: list[str] = Field(default_factory=list, description="69码 / GTIN-13 or GTIN-14")
    drug_std_codes: list[str] = Field(default_factory=list, description="药品本位码 (86…)")
    trace_prefixes: list[TracePrefixIn] = Field(default_factory=list)
    units_per_pack: int = Field(
        ge=1, le=100_000, description="最小包装数量 (smallest units per pack)"
    )
    split_allowed: bool = Field(description="是否允许拆零")
    rx_flag: bool = Field(description="处方药标志")

    def to_domain(self) -> Product:
        return Product(
            med_list_codg=self.med_list_codg,
            name=self.name,
            units_per_pack=self.units_per_pack,
            split_allowed=self.split_allowed,
            rx_flag=self.rx_flag,
            gtins=tuple(self.gtins),
            drug_std_codes=tuple(self.drug_std_codes),
            trace_prefixes=tuple(
                TracePrefix(p.prefix, PackLevel(p.pack_level)) for p in self.trace_prefixes
            ),
        )


class Upserted(BaseModel):
    upserted: int


class ExemptionIn(RequestModel):
    fixmedins_code: str = Field(pattern=r"^[A-Z0-9]{6,32}$")
    med_list_codg: str = Field(min_length=1, max_length=50)


class ExemptionsIn(RequestModel):
    reason: str = Field(min_length=1, max_length=500, description="e.g. 切换日前库存")
    items: list[ExemptionIn] = Field(min_length=1, max_length=10_000)


_ROWS = TypeAdapter(list[ProductIn])
CSV_COLUMNS = (
    "med_list_codg",
    "name",
    "gtins",
    "drug_std_codes",
    "trace_prefixes",
    "units_per_pack",
    "split_allowed",
    "rx_flag",
)


async def _load(ctx: Context, rows: list[ProductIn]) -> Upserted:
    products = [row.to_domain() for row in rows]
    async with ctx.uow() as uow:
        await uow.conn.execute("SELECT pg_advisory_xact_lock($1)", CATALOGUE_LOCK)
        existing = await ctx.deps.catalogue.get(uow.conn)
        bad = validate_batch(products, existing)
        if bad:
            errors = [
                {
                    "row": index,
                    "field": f"$[{index}].{error.field}",
                    "reason": error.reason,
                    "message": error.message_en,
                    "message_zh": error.message_zh,
                }
                for index, found in sorted(bad.items())
                for error in found
            ]
            raise ProblemError(
                422,
                "invalid_catalogue_rows",
                "Catalogue rows failed validation",
                f"{len(bad)} of {len(products)} rows are invalid; nothing was loaded.",
                field=str(errors[0]["field"]),
                hint="Fix the listed rows and send the whole batch again.",
                extra={"errors": errors, "rows": sorted(bad)},
            )
        count = await repo.upsert_products(uow.conn, products)
        await uow.commit()
    return Upserted(upserted=count)


@router.post(
    "/admin/catalogue/products",
    response_model=Upserted,
    summary="Load or update catalogue rows (JSON array); all or nothing",
)
async def load_products(
    rows: Annotated[list[ProductIn], Body(max_length=50_000)],
    _admin: AdminPrincipal,
    ctx: Context,
) -> Upserted:
    return await _load(ctx, rows)


@router.post(
    "/admin/catalogue/products.csv",
    response_model=Upserted,
    summary="Load catalogue rows from CSV (lists `;`-separated, prefixes as prefix:level)",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def load_products_csv(request: Request, _admin: AdminPrincipal, ctx: Context) -> Upserted:
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProblemError(
            422,
            "invalid_csv_encoding",
            "CSV is not UTF-8",
            f"The file is not valid UTF-8 at byte {exc.start}.",
            hint="Save it as UTF-8 (Excel: 'CSV UTF-8'); GB18030 is not accepted.",
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ProblemError(
            422,
            "invalid_csv_header",
            "CSV header incomplete",
            f"Missing columns: {', '.join(missing)}.",
            hint="The header row must name: " + ",".join(CSV_COLUMNS),
        )

    def split(value: str | None) -> list[str]:
        return [v.strip() for v in (value or "").split(";") if v.strip()]

    raw = [
        {
            **row,
            "gtins": split(row["gtins"]),
            "drug_std_codes": split(row["drug_std_codes"]),
            "trace_prefixes": [
                dict(zip(("prefix", "pack_level"), item.split(":", 1), strict=False))
                for item in split(row["trace_prefixes"])
            ],
        }
        for row in reader
    ]
    try:
        rows = _ROWS.validate_python(raw)
    except ValidationError as exc:
        errors = [{"field": json_path(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        raise ProblemError(
            422,
            "invalid_catalogue_rows",
            "Catalogue rows failed validation",
            f"{len(errors)} field errors; nothing was loaded.",
            field=errors[0]["field"],
            extra={"errors": errors},
        ) from exc
    return await _load(ctx, rows)


@router.get("/catalogue/products/{med_list_codg}", response_model=ProductIn)
async def get_product(med_list_codg: str, ctx: Context) -> ProductIn:
    """One catalogue row (public reference data)."""
    async with ctx.uow() as uow:
        product = (await ctx.deps.catalogue.get(uow.conn)).by_med_list_code(med_list_codg)
    if product is None:
        raise ProblemError(
            404, "product_not_found", "Product not found", f"No catalogue row {med_list_codg}."
        )
    return ProductIn(
        med_list_codg=product.med_list_codg,
        name=product.name,
        gtins=list(product.gtins),
        drug_std_codes=list(product.drug_std_codes),
        trace_prefixes=[
            TracePrefixIn(prefix=t.prefix, pack_level=t.pack_level.value)
            for t in product.trace_prefixes
        ],
        units_per_pack=product.units_per_pack,
        split_allowed=product.split_allowed,
        rx_flag=product.rx_flag,
    )


@router.post(
    "/admin/catalogue/no-code-list",
    response_model=Upserted,
    summary="Exempt legacy stock bought before the cut-over (无码库) from missing_trace_code",
)
async def add_no_code(body: ExemptionsIn, _admin: AdminPrincipal, ctx: Context) -> Upserted:
    async with ctx.uow() as uow:
        count = await repo.add_exemptions(
            uow.conn, [(i.fixmedins_code, i.med_list_codg) for i in body.items], body.reason
        )
        await uow.commit()
    return Upserted(upserted=count)
