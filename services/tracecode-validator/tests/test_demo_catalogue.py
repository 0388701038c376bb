"""The generated catalogue is one the validator itself accepts, whole."""

from __future__ import annotations

from tracecode_validator.api.catalogue import ProductIn
from tracecode_validator.demo_catalogue import generate
from tracecode_validator.domain.catalogue import Catalogue, validate_batch


def test_a_generated_catalogue_passes_the_bureau_validation() -> None:
    products = [ProductIn.model_validate(row).to_domain() for row in generate(500)]
    assert validate_batch(products, Catalogue()) == {}
    assert len({p.med_list_codg for p in products}) == 500


def test_the_same_seed_gives_the_same_catalogue() -> None:
    assert generate(20, seed=3) == generate(20, seed=3)
    assert generate(20, seed=3) != generate(20, seed=4)
