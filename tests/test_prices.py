"""AWS price files → catalog: the real formats (trimmed excerpts in tests/fixtures/prices), the
filters, effective commitment rates worked by hand, the diff, and nothing dropped silently."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from placement.cli import app
from placement.errors import InputError
from placement.inputs.loading import load_catalog
from placement.inputs.price_update import base_document, update_catalog
from placement.inputs.prices import read_price_file, read_price_files
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "prices"
OFFER_JSON = FIXTURES / "ec2-offer-excerpt.json"
OFFER_CSV = FIXTURES / "ec2-offer-excerpt.csv"
SAVINGS = FIXTURES / "savings-plans-excerpt.json"
BLOCKS = FIXTURES / "capacity-blocks-excerpt.json"
EAST = {"us-east-1"}


def _by(quotes: list, **match: object) -> list:
    return [q for q in quotes if all(getattr(q, k) == v for k, v in match.items())]


@pytest.mark.parametrize("path", [OFFER_JSON, OFFER_CSV], ids=["json", "csv"])
def test_offer_file_keeps_linux_shared_used_in_region(path: Path) -> None:
    file, quotes, products = read_price_file(path, EAST, None)
    assert file.offer_code == "AmazonEC2" and file.publication_date == "2026-11-01"
    on_demand = _by(quotes, kind="on-demand")
    # p5 Linux (not Windows, not the unused-reservation rate, not Ohio), trn1, inf2, m5
    assert sorted((q.instance_type, q.usd_per_hour) for q in on_demand) == [
        ("inf2.xlarge", 0.7582),
        ("m5.large", 0.096),
        ("p5.48xlarge", 55.04),
        ("trn1.32xlarge", 21.5),
    ]
    assert products > 0


@pytest.mark.parametrize("path", [OFFER_JSON, OFFER_CSV], ids=["json", "csv"])
def test_reserved_rates_are_effective_hourly(path: Path) -> None:
    _, quotes, _ = read_price_file(path, EAST, {"p5.48xlarge"})
    reserved = {
        (q.term_years, q.offering, q.purchase_option): q.usd_per_hour for q in _by(quotes, kind="reserved")
    }
    assert reserved[(1, "standard", "No Upfront")] == 34.6752
    # All Upfront: $291,000 / 8,760 h = $33.219178/h
    assert reserved[(1, "standard", "All Upfront")] == pytest.approx(291000 / 8760, abs=1e-6)
    # Partial Upfront 3-year: $10.80/h + $340,000 / 26,280 h = $23.737595/h
    assert reserved[(3, "standard", "Partial Upfront")] == pytest.approx(10.8 + 340000 / 26280, abs=1e-6)
    assert reserved[(1, "convertible", "No Upfront")] == 39.9


def test_json_and_csv_give_the_same_quotes() -> None:
    def key(quotes: list) -> list:
        return sorted(
            (q.instance_type, q.kind, q.term_years, q.offering, q.purchase_option, q.usd_per_hour)
            for q in quotes
        )

    assert key(read_price_file(OFFER_JSON, EAST, None)[1]) == key(read_price_file(OFFER_CSV, EAST, None)[1])


def test_other_region_is_read_when_asked() -> None:
    _, quotes, _ = read_price_file(OFFER_JSON, {"us-east-2"}, None)
    assert [(q.instance_type, q.kind, q.usd_per_hour) for q in quotes] == [
        ("p5.48xlarge", "on-demand", 55.04),
        ("p5.48xlarge", "reserved", 33.0),
    ]


def test_savings_plans_keep_linux_rates_only() -> None:
    _, quotes, _ = read_price_file(SAVINGS, EAST, None)
    assert sorted((q.instance_type, q.offering, q.usd_per_hour) for q in quotes) == [
        ("inf2.xlarge", "ComputeSavingsPlans", 0.508),  # instance type from BoxUsage:inf2.xlarge
        ("p5.48xlarge", "ComputeSavingsPlans", 41.28),
        ("p5.48xlarge", "EC2InstanceSavingsPlans", 36.12),  # the Windows rate (RunInstances:0002) is not kept
    ]


def test_capacity_blocks_median_per_instance_hour() -> None:
    _, quotes, _ = read_price_file(BLOCKS, EAST, None, quoted_on="2026-11-20")
    # 27,907.20 / (4 × 168) = 41.528; 2,064 / (2 × 24) = 43.0; 1,080 / 24 = 45.0 → median 43.0
    assert [(q.instance_type, q.usd_per_hour, q.file.publication_date) for q in quotes] == [
        ("p5.48xlarge", 43.0, "2026-11-20")
    ]


def test_gzipped_offer_file(tmp_path: Path) -> None:
    target = tmp_path / "index.csv.gz"
    with gzip.open(target, "wb") as out:
        out.write(OFFER_CSV.read_bytes())
    assert len(read_price_file(target, EAST, None)[1]) == len(read_price_file(OFFER_CSV, EAST, None)[1])


def test_update_sets_prices_with_the_file_as_source_and_keeps_what_it_lacks() -> None:
    doc = base_document(None)
    book = read_price_files([OFFER_JSON, SAVINGS, BLOCKS], EAST, None, quoted_on="2026-11-20")
    update = update_catalog(doc, book)
    data = yaml.safe_load(update.text)
    options = {o["id"]: o for o in data["options"]}
    before = load_catalog(None)
    assert [o["id"] for o in data["options"]] == list(before.option_ids)  # nothing dropped
    p5 = options["p5.48xlarge"]
    assert p5["usd_per_hour"] == 55.04 and p5["one_year_usd_per_hour"] == 34.6752
    assert p5["capacity_block_usd_per_hour"] == 43.0
    assert p5["sources"]["one_year_usd_per_hour"] == "aws-price-list-AmazonEC2-2026-11-01"
    assert p5["sources"]["capacity_block_usd_per_hour"] == "aws-capacity-blocks-2026-11-20"
    assert "one_year_usd_per_hour" not in p5.get("estimates", {})  # the estimate gave way to the file
    source = data["sources"]["aws-price-list-AmazonEC2-2026-11-01"]
    assert source["date_read"] == "2026-11-01" and "20261101000000" in source["title"]
    trn2 = "trn2.48xlarge@us-east-2"
    assert options[trn2] == next(o for o in base_document(None).data["options"] if o["id"] == trn2)
    assert trn2 in update.missing and ("inf2.xlarge", "one_year_usd_per_hour") in update.partial


def test_savings_plan_commitment_and_upfront_choice() -> None:
    doc = base_document(None)
    book = read_price_files([OFFER_JSON, SAVINGS], EAST, None)
    sp = yaml.safe_load(update_catalog(doc, book, "instance-savings-plan").text)
    assert next(o for o in sp["options"] if o["id"] == "p5.48xlarge")["one_year_usd_per_hour"] == 36.12
    upfront = yaml.safe_load(update_catalog(doc, book, "reserved", "All Upfront").text)
    p5 = next(o for o in upfront["options"] if o["id"] == "p5.48xlarge")
    assert p5["one_year_usd_per_hour"] == pytest.approx(33.219178)


def test_cli_writes_catalog_prints_diff_and_the_result_plans(tmp_path: Path) -> None:
    out = tmp_path / "updated.yaml"
    runner = CliRunner()
    args = [
        "catalog",
        "import-prices",
        str(OFFER_CSV),
        str(SAVINGS),
        str(BLOCKS),
        "--quoted-on",
        "2026-11-20",
    ]
    result = runner.invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "~ trn1.32xlarge" in result.stdout
    assert "~ 1-year commitment        $13.2289/h → $13.5000/h" in result.stdout
    assert (
        "~ Capacity Block           $41.5280/h → $43.0000/h       (+3.5%, +$1,075/month per instance)"
        in result.stdout
    )
    not_priced = "! trn2.48xlarge@us-east-2: not priced for us-east-1 in these files; kept unchanged"
    assert not_priced in result.stdout
    assert "28 option(s) not in the files, kept (none removed)" in result.stdout
    first = out.read_bytes()
    assert runner.invoke(app, [*args, "-o", str(out)]).exit_code == 0
    assert out.read_bytes() == first  # deterministic
    plan = runner.invoke(app, ["plan", str(ROOT / "examples" / "startup.yaml"), "-c", str(out), "-f", "json"])
    assert plan.exit_code == 0, plan.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"\xff\xfe{\x00}\x00", "UTF-16 text"),
        (b"hello", "not an AWS price file"),
        (b'{"formatVersion": "v1.0", "offerCode": "AmazonEC2", "products": {', "publicationDate"),
        (
            b'{"offerCode": "AmazonEC2", "publicationDate": "2026-11-01T00:00:00Z", "products": {"A": ',
            "not valid JSON",
        ),
        (
            b'"FormatVersion","v1.0"\n"Publication Date","2026-11-01"\n"Version","1"\n'
            b'"OfferCode","x"\n"a","b"\n"SKU"\n',
            "header lacks",
        ),
    ],
)
def test_bad_price_files_are_located(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_price_file(path, EAST, None)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_bad_price_in_csv_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    text = OFFER_CSV.read_text().replace('"55.0400000000"', '"fifty"', 1)
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_price_file(path, EAST, None)
    assert "PricePerUnit (line 7): not a price: 'fifty'" in str(caught.value)


def test_cli_refuses_to_overwrite_the_base_catalog(tmp_path: Path) -> None:
    base = tmp_path / "catalog.yaml"
    shutil.copy(ROOT / "catalogs" / "aws.yaml", base)
    before = base.read_bytes()
    result = CliRunner().invoke(
        app, ["catalog", "import-prices", str(OFFER_JSON), "-c", str(base), "-o", str(base)]
    )
    assert result.exit_code == 2 and "refusing to overwrite an input file" in result.stderr
    assert base.read_bytes() == before


def test_cli_rejects_unknown_commitment() -> None:
    result = CliRunner().invoke(
        app, ["catalog", "import-prices", str(OFFER_JSON), "-o", "/tmp/x.yaml", "--commitment", "forever"]
    )
    assert result.exit_code == 2 and "--commitment: choose one of" in result.stderr


def test_fixture_has_the_real_top_level_keys() -> None:
    data = json.loads(OFFER_JSON.read_text())
    assert list(data)[:5] == ["formatVersion", "disclaimer", "offerCode", "version", "publicationDate"]
    assert set(data["terms"]) == {"OnDemand", "Reserved"}


def test_files_for_another_region_are_refused_with_the_regions_they_cover(tmp_path: Path) -> None:
    base = tmp_path / "eu.yaml"
    text = (
        (ROOT / "catalogs" / "aws.yaml")
        .read_text()
        .replace("region: us-east-1", "region: eu-west-1")
        .replace("region: us-east-2", "region: eu-west-1")
    )
    base.write_text(text)
    out = tmp_path / "new.yaml"
    result = CliRunner().invoke(
        app, ["catalog", "import-prices", str(OFFER_JSON), "-c", str(base), "-o", str(out)]
    )
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr == (
        f"{base}: region: the price files price no option of catalog 'aws' in its regions (eu-west-1); "
        "they price its instance types in: us-east-1, us-east-2\n"
    )


def test_ohio_catalog_takes_the_ohio_prices(tmp_path: Path) -> None:
    base = tmp_path / "ohio.yaml"
    # an Ohio catalog: its region us-east-2, trn2 named by its instance type alone (import-prices
    # matches an option's id to the instance type in the catalog's region)
    text = (
        (ROOT / "catalogs" / "aws.yaml")
        .read_text()
        .replace("region: us-east-1", "region: us-east-2")
        .replace("id: trn2.48xlarge@us-east-2", "id: trn2.48xlarge")
    )
    base.write_text(text)
    update = update_catalog(
        base_document(base), read_price_files([OFFER_JSON, BLOCKS], None, None, "2026-11-20")
    )
    # 2,880 / (4 × 24) = $30.00 per instance-hour for the Ohio trn2 block; trn2 is sold only as
    # blocks, so its reference price follows the block rate
    changes = [(c.option, c.field, c.new) for c in update.changes]
    assert ("p5.48xlarge", "usd_per_hour", 55.04) in changes
    assert ("p5.48xlarge", "one_year_usd_per_hour", 33.0) in changes
    assert ("trn2.48xlarge", "capacity_block_usd_per_hour", 30.0) in changes
    assert ("trn2.48xlarge", "usd_per_hour", 30.0) in changes
    # the published price replaces the estimate's range (Trn2's $35.76–41.12 would not hold $30)
    trn2 = next(o for o in yaml.safe_load(update.text)["options"] if o["id"] == "trn2.48xlarge")
    assert "usd_per_hour" not in trn2.get("ranges", {})
    assert "capacity_block_usd_per_hour" not in trn2.get("ranges", {})


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (
            '{"offerCode": "AmazonEC2", "publicationDate": "2026-11-01T00:00:00Z", '
            '"products": {"S": {"attributes": {"instanceType": "p5.48xlarge", '
            '"regionCode": "us-east-1", "operatingSystem": "Linux", "tenancy": "Shared"}}}, '
            '"terms": {"OnDemand": {"S": {"S.T": {"priceDimensions": [1, 2]}}}}}',
            "terms.OnDemand.S",
        ),
        (
            '{"publicationDate": "2026-11-01T00:00:00Z", '
            '"products": [{"sku": "A", "productFamily": "EC2InstanceSavingsPlans"}], '
            '"terms": {"savingsPlan": [{"sku": "A", "leaseContractLength": {"duration": 1}, "rates": 7}]}}',
            "terms.savingsPlan[0]",
        ),
        ('{"CapacityBlockOfferings": [1]}', "CapacityBlockOfferings[0]"),
    ],
)
def test_wrong_structure_is_located(tmp_path: Path, content: str, where: str) -> None:
    path = tmp_path / "odd.json"
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        read_price_file(path, None, None, "2026-11-20")
    assert str(caught.value) == f"{path}: {where}: not the structure of an AWS price file here"
