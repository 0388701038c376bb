from dataclasses import replace

from tracecode_validator.domain.catalogue import (
    Catalogue,
    PackLevel,
    Product,
    TracePrefix,
    validate_batch,
    validate_product,
)
from tracecode_validator.domain.codes import ParsedCode, parse_code

ASPIRIN = "XA01ABA014A001010101445"
INSULIN = "XA10ABA001B002020202020"
VALSARTAN = "XC09CAC007A001010101999"


def product(med_list_codg: str = ASPIRIN, **changes: object) -> Product:
    base = Product(
        med_list_codg=med_list_codg,
        name="阿司匹林肠溶片",
        units_per_pack=24,
        split_allowed=True,
        rx_flag=False,
        gtins=("6924561884074",),
        drug_std_codes=("86901234000012",),
        trace_prefixes=(TracePrefix("8123456", PackLevel.BOX),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def scan(text: str) -> ParsedCode:
    result = parse_code(text)
    assert isinstance(result, ParsedCode)
    return result


def fields(row: Product) -> list[str]:
    return [error.field for error in validate_product(row)]


def test_a_good_row_has_no_errors() -> None:
    assert validate_product(product()) == ()


def test_every_bad_field_is_named() -> None:
    row = product(
        med_list_codg="XA01",
        name=" ",
        units_per_pack=0,
        gtins=("6924561884074", "6924561884075"),
        drug_std_codes=("86901234000013",),
        trace_prefixes=(TracePrefix("812", PackLevel.BOX), TracePrefix("8123456", PackLevel.CASE)),
    )
    assert fields(row) == [
        "med_list_codg",
        "name",
        "units_per_pack",
        "gtins[1]",
        "drug_std_codes[0]",
        "trace_prefixes[0].prefix",
    ]
    assert all(e.message_zh and e.message_en for e in validate_product(row))


def test_the_same_gtin_twice_in_a_row_is_named_even_when_padded() -> None:
    row = product(gtins=("6924561884074", "06924561884074"))
    assert fields(row) == ["gtins[1]"]


def test_a_clean_batch_has_no_errors() -> None:
    rows = [product(), product(INSULIN, gtins=(), trace_prefixes=())]
    assert validate_batch(rows, Catalogue()) == {}


def test_a_batch_names_each_bad_row_by_index() -> None:
    rows = [product(), product(INSULIN, units_per_pack=0, gtins=(), trace_prefixes=()), product()]
    errors = validate_batch(rows, Catalogue())
    assert sorted(errors) == [1, 2]
    assert [e.reason for e in errors[1]] == ["bad_units_per_pack"]
    assert [e.reason for e in errors[2]] == ["duplicate_row"]


def test_a_prefix_owned_by_another_stored_product_is_refused() -> None:
    existing = Catalogue([product()])
    row = product(INSULIN, gtins=(), trace_prefixes=(TracePrefix("8123456", PackLevel.BOX),))
    errors = validate_batch([row], existing)
    assert [(e.field, e.reason) for e in errors[0]] == [
        ("trace_prefixes[0].prefix", "claimed_by_other_product")
    ]
    assert ASPIRIN in errors[0][0].message_en


def test_a_gtin_claimed_by_two_rows_of_one_batch_is_refused_on_both() -> None:
    rows = [product(), product(INSULIN, trace_prefixes=())]
    assert sorted(validate_batch(rows, Catalogue())) == [0, 1]


def test_moving_a_prefix_between_products_in_one_batch_is_fine() -> None:
    existing = Catalogue([product()])
    rows = [
        product(gtins=(), trace_prefixes=()),
        product(INSULIN, gtins=(), trace_prefixes=(TracePrefix("8123456", PackLevel.BOX),)),
    ]
    assert validate_batch(rows, existing) == {}


def test_lookups_by_code_gtin_and_prefix() -> None:
    catalogue = Catalogue(
        [
            product(
                trace_prefixes=(
                    TracePrefix("8123456", PackLevel.BOX),
                    TracePrefix("8123457", PackLevel.CASE),
                )
            )
        ]
    )
    aspirin = catalogue.by_med_list_code(ASPIRIN)
    assert aspirin is not None
    assert catalogue.by_gtin("6924561884074") is aspirin
    assert catalogue.by_gtin("06924561884074") is aspirin
    assert catalogue.by_med_list_code(INSULIN) is None
    case = catalogue.by_prefix("81234570000000010000")
    assert case is not None
    assert case.pack_level is PackLevel.CASE
    assert catalogue.by_prefix("81234590000000010000") is None
    assert catalogue.by_prefix("8123456") is None


def test_the_longest_prefix_wins() -> None:
    catalogue = Catalogue(
        [
            product(gtins=(), trace_prefixes=(TracePrefix("812345", PackLevel.BOX),)),
            product(INSULIN, gtins=(), trace_prefixes=(TracePrefix("8123456", PackLevel.BOX),)),
        ]
    )
    long_match = catalogue.by_prefix("81234560000000010000")
    short_match = catalogue.by_prefix("81234550000000010000")
    assert long_match is not None
    assert long_match.product.med_list_codg == INSULIN
    assert short_match is not None
    assert short_match.product.med_list_codg == ASPIRIN


def test_identify_each_family() -> None:
    catalogue = Catalogue(
        [
            product(),
            product(VALSARTAN, gtins=("4006381333931",), trace_prefixes=()),
            product(INSULIN, gtins=(), trace_prefixes=(TracePrefix("ZY2024A", PackLevel.BOX),)),
        ]
    )
    trace20 = catalogue.identify(scan("81234560000000010000"))
    gs1 = catalogue.identify(scan("(01)04006381333931(21)X1"))
    manufacturer = catalogue.identify(scan("ZY2024A00001234"))
    assert trace20 is not None
    assert trace20.product.med_list_codg == ASPIRIN
    assert gs1 is not None
    assert gs1.product.med_list_codg == VALSARTAN
    assert gs1.pack_level is PackLevel.BOX
    assert manufacturer is not None
    assert manufacturer.product.med_list_codg == INSULIN
    assert catalogue.identify(scan("(01)06912345678902(21)X1")) is None


def test_upserting_a_row_drops_its_old_identifiers() -> None:
    catalogue = Catalogue([product()]).with_products([product(gtins=(), trace_prefixes=())])
    assert catalogue.by_gtin("6924561884074") is None
    assert catalogue.by_prefix("81234560000000010000") is None
    assert len(catalogue.products) == 1


def test_a_batch_repeating_a_code_with_other_gtins_reports_rows_instead_of_crashing() -> None:
    """Two rows with one 医保 code: only the last survives the merge, yet both are checked."""
    first = Product("XA01ABA014A001010101445", "甲", 24, False, True, gtins=("not-a-gtin",))
    second = Product("XA01ABA014A001010101445", "乙", 24, False, True)
    errors = validate_batch([first, second], Catalogue())
    assert set(errors) == {0, 1}
