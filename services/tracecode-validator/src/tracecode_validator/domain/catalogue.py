"""The bureau's product catalogue: which product and pack level a scanned code belongs to.

Rows arrive in bulk from the bureau (the "三码合一" mapping), so validation reports every
problem of every row at once; a batch is loaded whole or not at all.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from tracecode_validator.domain.checkdigits import (
    is_valid_drug_standard_code,
    is_valid_gtin,
    is_valid_med_list_code,
    to_gtin14,
)
from tracecode_validator.domain.codes import CodeFamily, ParsedCode

# Six characters is the floor because a shorter prefix would claim codes of unrelated
# products; the 药品标识码 of a 20-digit code is seven digits.
_PREFIX = re.compile(r"[A-Za-z0-9]{6,39}")
_NAME_MAX = 200


class PackLevel(StrEnum):
    BOX = "box"
    MIDDLE = "middle"
    CASE = "case"


@dataclass(frozen=True, slots=True)
class TracePrefix:
    prefix: str
    pack_level: PackLevel


@dataclass(frozen=True, slots=True)
class Product:
    med_list_codg: str
    name: str
    units_per_pack: int
    split_allowed: bool
    rx_flag: bool
    gtins: tuple[str, ...] = ()
    drug_std_codes: tuple[str, ...] = ()
    trace_prefixes: tuple[TracePrefix, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem in one field; ``field`` is a JSON path inside the row, e.g. gtins[1]."""

    field: str
    reason: str
    message_zh: str
    message_en: str


@dataclass(frozen=True, slots=True)
class CodeMatch:
    product: Product
    pack_level: PackLevel


def validate_product(product: Product) -> tuple[FieldError, ...]:
    """List every field of one catalogue row that breaks the identifier rules."""
    errors: list[FieldError] = []
    if not is_valid_med_list_code(product.med_list_codg):
        errors.append(
            FieldError(
                "med_list_codg",
                "bad_med_list_code",
                "医保药品代码应为X或Z开头的23位大写字母数字",
                "med_list_codg must be 23 upper-case letters/digits starting with X or Z",
            )
        )
    if not product.name.strip() or len(product.name) > _NAME_MAX:
        errors.append(
            FieldError(
                "name",
                "bad_name",
                f"药品名称不能为空且不超过{_NAME_MAX}字",
                f"name must be non-empty and at most {_NAME_MAX} characters",
            )
        )
    if product.units_per_pack < 1:
        errors.append(
            FieldError(
                "units_per_pack",
                "bad_units_per_pack",
                "最小包装数量至少为1",
                "units_per_pack must be at least 1",
            )
        )
    for i, gtin in enumerate(product.gtins):
        if not is_valid_gtin(gtin):
            errors.append(
                FieldError(
                    f"gtins[{i}]",
                    "bad_gtin",
                    "商品条码不是有效的GTIN（长度或校验位错误）",
                    "not a valid GTIN (length or check digit)",
                )
            )
    for i, code in enumerate(product.drug_std_codes):
        if not is_valid_drug_standard_code(code):
            errors.append(
                FieldError(
                    f"drug_std_codes[{i}]",
                    "bad_drug_std_code",
                    "药品本位码应为86开头的14位数字且校验位正确",
                    "a drug standard code is 14 digits starting 86 with a valid check digit",
                )
            )
    for i, trace_prefix in enumerate(product.trace_prefixes):
        if _PREFIX.fullmatch(trace_prefix.prefix) is None:
            errors.append(
                FieldError(
                    f"trace_prefixes[{i}].prefix",
                    "bad_prefix",
                    "追溯码前缀应为6–39位字母数字（20位码的药品标识码为7位）",
                    "a trace prefix is 6–39 letters/digits (7 digits for a 20-digit code)",
                )
            )
    errors.extend(_repeats("gtins", [to_gtin14(g) for g in product.gtins]))
    errors.extend(_repeats("trace_prefixes", [p.prefix for p in product.trace_prefixes]))
    return tuple(errors)


def validate_batch(
    rows: Sequence[Product], existing: "Catalogue"
) -> dict[int, tuple[FieldError, ...]]:
    """Map each bad row's index to its errors, including clashes with other products.

    A GTIN or prefix may belong to one product only, counted after the batch replaces the
    rows it names, so moving a prefix from one product to another in one batch is fine.
    """
    errors = {i: list(validate_product(row)) for i, row in enumerate(rows)}
    latest: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row.med_list_codg in latest:
            errors[i].append(
                FieldError(
                    "med_list_codg",
                    "duplicate_row",
                    f"同一批次中重复出现（第{latest[row.med_list_codg]}行）",
                    f"appears twice in the batch (row {latest[row.med_list_codg]})",
                )
            )
        latest[row.med_list_codg] = i
    merged = {p.med_list_codg: p for p in existing.products}
    merged.update((row.med_list_codg, row) for row in rows)
    gtin_owners = _owners((to_gtin14(g), p.med_list_codg) for p in merged.values() for g in p.gtins)
    prefix_owners = _owners(
        (t.prefix, p.med_list_codg) for p in merged.values() for t in p.trace_prefixes
    )
    for i, row in enumerate(rows):
        for j, gtin in enumerate(row.gtins):
            errors[i].extend(_clash(f"gtins[{j}]", row, gtin_owners.get(to_gtin14(gtin), set())))
        for j, trace_prefix in enumerate(row.trace_prefixes):
            owners = prefix_owners.get(trace_prefix.prefix, set())
            errors[i].extend(_clash(f"trace_prefixes[{j}].prefix", row, owners))
    return {i: tuple(found) for i, found in errors.items() if found}


def _repeats(field: str, values: list[str]) -> list[FieldError]:
    seen: set[str] = set()
    found: list[FieldError] = []
    for i, value in enumerate(values):
        if value in seen:
            found.append(
                FieldError(
                    f"{field}[{i}]", "duplicate_value", "同一行内重复", "repeated in the row"
                )
            )
        seen.add(value)
    return found


def _owners(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    owners: dict[str, set[str]] = {}
    for identifier, med_list_codg in pairs:
        owners.setdefault(identifier, set()).add(med_list_codg)
    return owners


def _clash(field: str, row: Product, owners: set[str]) -> list[FieldError]:
    others = sorted(owners - {row.med_list_codg})
    if not others:
        return []
    names = ", ".join(others)
    return [
        FieldError(
            field,
            "claimed_by_other_product",
            f"已属于其他药品：{names}",
            f"already belongs to another product: {names}",
        )
    ]


class Catalogue:
    """Read-only lookups the rules need, built once from the stored rows."""

    def __init__(self, products: Iterable[Product] = ()) -> None:
        self._by_code: dict[str, Product] = {}
        self._by_gtin: dict[str, Product] = {}
        self._by_prefix: dict[str, CodeMatch] = {}
        for product in products:
            self._by_code[product.med_list_codg] = product
        # Indexed after de-duplication by med_list_codg so a replaced row leaves no trace.
        for product in self._by_code.values():
            for gtin in product.gtins:
                self._by_gtin[to_gtin14(gtin)] = product
            for trace_prefix in product.trace_prefixes:
                self._by_prefix[trace_prefix.prefix] = CodeMatch(product, trace_prefix.pack_level)
        self._prefix_lengths = sorted({len(p) for p in self._by_prefix}, reverse=True)

    @property
    def products(self) -> tuple[Product, ...]:
        return tuple(self._by_code.values())

    def with_products(self, rows: Iterable[Product]) -> "Catalogue":
        """Return the catalogue after upserting rows by med_list_codg."""
        return Catalogue([*self._by_code.values(), *rows])

    def by_med_list_code(self, med_list_codg: str) -> Product | None:
        return self._by_code.get(med_list_codg)

    def by_gtin(self, gtin: str) -> Product | None:
        return self._by_gtin.get(to_gtin14(gtin))

    def by_prefix(self, code: str) -> CodeMatch | None:
        """Find the product whose longest registered prefix starts code."""
        for length in self._prefix_lengths:
            match = self._by_prefix.get(code[:length])
            if match is not None and len(code) > length:
                return match
        return None

    def identify(self, code: ParsedCode) -> CodeMatch | None:
        """Say which product and pack level a well-formed scan stands for.

        GS1 codes are identified by GTIN, which the catalogue does not tie to a pack level;
        a GS1 code is taken as the box because that is what a DataMatrix is printed on.
        """
        if code.family is CodeFamily.GS1 and code.gtin is not None:
            product = self.by_gtin(code.gtin)
            return None if product is None else CodeMatch(product, PackLevel.BOX)
        return self.by_prefix(code.key)
