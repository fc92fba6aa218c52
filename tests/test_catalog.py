"""The shipped catalog (catalogs/aws.yaml): two regions, each option sold where and how AWS sells it.

The loader already refuses a number without a source; these checks pin the facts the catalog
models (trn2 only as Ohio Capacity Blocks, blocks-only options priced at their block rate, the
Capacity Block terms of the EC2 User Guide) so that an edit that breaks one fails here by name.
"""

from __future__ import annotations

import pytest

from placement.engine.timeline import BLOCK_TERMS
from placement.inputs.loading import load_catalog
from placement.inputs.models import Catalog, Option


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(None)


def instance_type(option: Option) -> str:
    return option.id.split("@")[0]


def test_the_shipped_catalog_covers_us_east_1_and_us_east_2(catalog: Catalog) -> None:
    assert catalog.name == "aws" and catalog.region == "us-east-1"
    assert catalog.regions == ("us-east-1", "us-east-2")
    in_ohio = {instance_type(o) for o in catalog.options if o.region == "us-east-2"}
    # the main on-demand options have an Ohio copy, with the blocks-only trn2 and p5e
    assert {"trn1.32xlarge", "inf2.48xlarge", "p5.48xlarge", "p5en.48xlarge", "p6-b200.48xlarge"} <= in_ohio
    assert {"trn2.48xlarge", "p5e.48xlarge"} <= in_ohio


def test_an_option_id_is_its_instance_type_with_the_region_when_not_the_default(catalog: Catalog) -> None:
    for o in catalog.options:
        if o.region == catalog.region:
            assert "@" not in o.id, o.id
        else:
            assert o.id == f"{instance_type(o)}@{o.region}", o.id


def test_trn2_is_not_sold_in_us_east_1_only_as_ohio_capacity_blocks(catalog: Catalog) -> None:
    trn2 = [o for o in catalog.options if o.accelerator == "Trainium2"]
    assert [o.id for o in trn2] == ["trn2.48xlarge@us-east-2"]
    (option,) = trn2
    assert option.region == "us-east-2" and not option.on_demand
    # the AWS Capacity Block page: $35.7608 per instance-hour, $2.235 per chip-hour (rounded):
    # 35.7608 / 16 = 2.23505
    assert option.capacity_block_usd_per_hour == 35.7608
    assert option.capacity_block_usd_per_hour / option.chips == pytest.approx(2.235, abs=5e-4)
    assert option.price("on-demand") is None and option.price("1-year") is None


def test_every_blocks_only_option_has_a_block_price_it_is_referenced_at(catalog: Catalog) -> None:
    blocks_only = [o for o in catalog.options if not o.on_demand]
    assert {o.id for o in blocks_only} == {
        "trn2.48xlarge@us-east-2",
        "p5e.48xlarge@us-east-2",
        "p6-b300.48xlarge",
    }
    for o in blocks_only:
        assert o.capacity_block_usd_per_hour is not None, o.id
        assert o.usd_per_hour == o.capacity_block_usd_per_hour, o.id  # the reference price
        assert "NOT an on-demand price" in o.notes["usd_per_hour"], o.id
        # no commitment is offered where nothing is sold on demand
        assert o.one_year_usd_per_hour is None and o.three_year_usd_per_hour is None, o.id
        assert [o.price(i) for i in ("on-demand", "1-year", "3-year")] == [None, None, None]


def test_p5e_and_p5en_blocks_follow_the_pricing_page(catalog: Catalog) -> None:
    # p5e: blocks in Ohio only, no on-demand anywhere; p5en: blocks in both regions (the pricing
    # page lists us-east-1, newer than the user-guide copies that say Ohio only), on demand in both
    assert [o.id for o in catalog.options if o.id.startswith("p5e.")] == ["p5e.48xlarge@us-east-2"]
    for region_id in ("p5en.48xlarge", "p5en.48xlarge@us-east-2"):
        p5en = catalog.option(region_id)
        assert p5en.on_demand and p5en.capacity_block_usd_per_hour == 54.92


def test_ohio_copies_carry_the_same_list_prices_and_no_unsourced_commitment(catalog: Catalog) -> None:
    for o in catalog.options:
        if o.region != "us-east-2" or not o.on_demand:
            continue
        virginia = catalog.option(instance_type(o))
        assert o.usd_per_hour == pytest.approx(virginia.usd_per_hour, abs=1e-5), o.id
        assert o.hardware == virginia.hardware and o.chips == virginia.chips, o.id
        # Savings Plan rates were found for us-east-1 only: no 3-year price in Ohio
        assert o.three_year_usd_per_hour is None, o.id


def test_capacity_block_settings_are_the_user_guide_terms_and_sourced(catalog: Catalog) -> None:
    settings = catalog.settings
    assert {name: getattr(settings, name) for name in BLOCK_TERMS} == BLOCK_TERMS
    assert BLOCK_TERMS == {
        "capacity_block_max_instances": 64,
        "capacity_block_account_instances": 256,
        "capacity_block_max_days": 182,
        "capacity_block_lead_weeks": 8,
    }
    for name in BLOCK_TERMS:
        source = catalog.sources[settings.sources[name]]
        assert source.address.startswith("https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/"), name
        assert name in settings.notes, name


def test_every_commitment_price_names_its_instrument(catalog: Catalog) -> None:
    for o in catalog.options:
        for field in ("one_year_usd_per_hour", "three_year_usd_per_hour"):
            if getattr(o, field) is None:
                continue
            text = o.notes.get(field, "") + o.estimates.get(field, "")
            assert "Reserved Instance" in text or "Savings Plan" in text, (o.id, field)


def test_trn3_appears_from_month_4_as_an_estimate(catalog: Catalog) -> None:
    trn3 = catalog.option("trn3-ultraserver-gen1")
    assert [trn3.capacity_in(m) for m in range(1, 7)] == [0, 0, 0, 2, 2, 2]
    assert trn3.is_estimate("capacity_instances") and "ESTIMATE" in trn3.notes["capacity_by_month"]
