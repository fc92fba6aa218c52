"""Benchmark the finance inputs: AWS price-file import and FOCUS bill reading.

    python benchmarks/finance_io.py                         # 120,000-product offer file, 1M-row FOCUS CSV
    python benchmarks/finance_io.py --products 40000 --focus-rows 200000 --keep /tmp/bench

Generates (in a temporary folder, never committed) an EC2 offer file in the real JSON structure
(products across 20 regions and many instance types, On-Demand terms for every product and seven
Reserved offers for the Linux shared ones, the proportion of the real file) and its CSV form, and
a FOCUS 1.2 CSV in the AWS Data Exports column layout. Each measurement runs in a fresh process
and reports wall time, throughput and that process's own peak RSS (os.wait4). It also measures
`json.load` of the offer file (what streaming avoids) on a smaller file.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from placement.inputs.focus import FOCUS_1_2_AWS_COLUMNS  # noqa: E402

REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1",
    "ap-southeast-2", "ca-central-1", "sa-east-1", "me-south-1", "af-south-1", "ap-east-1", "eu-south-1",
]  # fmt: skip
FAMILIES = [
    "m5",
    "m6i",
    "m7i",
    "c5",
    "c6i",
    "c7g",
    "r5",
    "r6i",
    "t3",
    "i4i",
    "p4d",
    "p5",
    "g5",
    "g6",
    "inf2",
    "trn1",
]
SIZES = ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"]
SYSTEMS = [
    ("Linux", "RunInstances"),
    ("Windows", "RunInstances:0002"),
    ("RHEL", "RunInstances:0010"),
    ("SUSE", "RunInstances:000g"),
]
TENANCIES = ["Shared", "Dedicated", "Host"]
RI = [
    ("1yr", "standard", "No Upfront"),
    ("1yr", "standard", "Partial Upfront"),
    ("1yr", "standard", "All Upfront"),
    ("3yr", "standard", "No Upfront"),
    ("3yr", "standard", "Partial Upfront"),
    ("3yr", "standard", "All Upfront"),
    ("1yr", "convertible", "No Upfront"),
]


def products(count: int, seed: int) -> list[tuple[str, dict[str, object]]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        family, size = rng.choice(FAMILIES), rng.choice(SIZES)
        system, operation = rng.choice(SYSTEMS)
        region = rng.choice(REGIONS)
        sku = f"{i:08d}SKU{rng.randrange(16**5):05X}"
        attributes = {
            "enhancedNetworkingSupported": "Yes",
            "intelTurboAvailable": "Yes",
            "memory": "64 GiB",
            "dedicatedEbsThroughput": "Up to 10000 Mbps",
            "vcpu": "16",
            "capacitystatus": rng.choice(
                ["Used", "Used", "Used", "UnusedCapacityReservation", "AllocatedCapacityReservation"]
            ),
            "locationType": "AWS Region",
            "storage": "EBS only",
            "instanceFamily": "General purpose",
            "operatingSystem": system,
            "intelAvx2Available": "Yes",
            "regionCode": region,
            "physicalProcessor": "Intel Xeon Platinum 8375C (Ice Lake)",
            "clockSpeed": "3.5 GHz",
            "ecu": "NA",
            "networkPerformance": "Up to 12500 Megabit",
            "servicename": "Amazon Elastic Compute Cloud",
            "gpuMemory": "NA",
            "vpcnetworkingsupport": "true",
            "instanceType": f"{family}.{size}",
            "tenancy": rng.choice(TENANCIES),
            "usagetype": f"BoxUsage:{family}.{size}",
            "normalizationSizeFactor": "32",
            "intelAvxAvailable": "Yes",
            "processorFeatures": "Intel AVX512",
            "servicecode": "AmazonEC2",
            "licenseModel": "No License required",
            "currentGeneration": "Yes",
            "preInstalledSw": rng.choice(["NA", "NA", "SQL Std", "SQL Web"]),
            "location": region,
            "processorArchitecture": "64-bit",
            "marketoption": "OnDemand",
            "operation": operation,
            "availabilityzone": "NA",
        }
        out.append((sku, {"sku": sku, "productFamily": "Compute Instance", "attributes": attributes}))
    return out


def _dimension(sku: str, code: str, unit: str, price: float, text: str) -> tuple[str, dict[str, object]]:
    rate = f"{sku}.{code}.6YS6EN2CT7" if unit == "Hrs" else f"{sku}.{code}.2TG2D8R56U"
    return rate, {
        "rateCode": rate,
        "description": text,
        "beginRange": "0",
        "endRange": "Inf",
        "unit": unit,
        "pricePerUnit": {"USD": f"{price:.10f}"},
        "appliesTo": [],
    }


def write_offer_json(path: Path, items: list[tuple[str, dict[str, object]]], seed: int) -> None:
    rng = random.Random(seed)
    prices = {sku: round(rng.uniform(0.05, 98.0), 4) for sku, _ in items}
    with path.open("w") as out:
        out.write('{\n  "formatVersion" : "v1.0",\n  "disclaimer" : "synthetic benchmark file",\n')
        out.write('  "offerCode" : "AmazonEC2",\n  "version" : "20261101000000",\n')
        out.write('  "publicationDate" : "2026-11-01T00:00:00Z",\n  "products" : {\n')
        out.write(",\n".join(f"    {json.dumps(sku)} : {json.dumps(p, indent=1)}" for sku, p in items))
        out.write('\n  },\n  "terms" : {\n    "OnDemand" : {\n')
        parts = []
        for sku, _ in items:
            k, d = _dimension(sku, "JRTCKXETXF", "Hrs", prices[sku], "On Demand hourly")
            term = {
                "offerTermCode": "JRTCKXETXF",
                "sku": sku,
                "effectiveDate": "2026-11-01T00:00:00Z",
                "priceDimensions": {k: d},
                "termAttributes": {},
            }
            parts.append(
                f"      {json.dumps(sku)} : {{ {json.dumps(sku + '.JRTCKXETXF')} : {json.dumps(term)} }}"
            )
        out.write(",\n".join(parts))
        out.write('\n    },\n    "Reserved" : {\n')
        parts = []
        for sku, product in items:
            attributes = product["attributes"]
            assert isinstance(attributes, dict)
            if attributes["tenancy"] != "Shared":
                continue
            offers = {}
            for n, (length, offering, purchase) in enumerate(RI):
                code = f"RI{n:08d}"
                dims = dict([_dimension(sku, code, "Hrs", prices[sku] * 0.6, "Reserved hourly")])
                if purchase != "No Upfront":
                    dims.update([_dimension(sku, code, "Quantity", prices[sku] * 4000, "Upfront Fee")])
                offers[f"{sku}.{code}"] = {
                    "offerTermCode": code,
                    "sku": sku,
                    "effectiveDate": "2026-11-01T00:00:00Z",
                    "priceDimensions": dims,
                    "termAttributes": {
                        "LeaseContractLength": length,
                        "OfferingClass": offering,
                        "PurchaseOption": purchase,
                    },
                }
            parts.append(f"      {json.dumps(sku)} : {json.dumps(offers)}")
        out.write(",\n".join(parts))
        out.write("\n    }\n  }\n}\n")


def write_offer_csv(json_path: Path, csv_path: Path) -> None:
    """The CSV form of the same file (one row per price dimension), as the Price List service writes it."""
    import ijson

    header = [
        "SKU",
        "OfferTermCode",
        "RateCode",
        "TermType",
        "PriceDescription",
        "EffectiveDate",
        "StartingRange",
        "EndingRange",
        "Unit",
        "PricePerUnit",
        "Currency",
        "RelatedTo",
        "LeaseContractLength",
        "PurchaseOption",
        "OfferingClass",
        "Product Family",
        "serviceCode",
        "Location",
        "Location Type",
        "Instance Type",
        "Tenancy",
        "Operating System",
        "License Model",
        "usageType",
        "operation",
        "CapacityStatus",
        "Pre Installed S/W",
        "Region Code",
    ]
    with json_path.open("rb") as stream:
        attrs = {sku: p["attributes"] for sku, p in ijson.kvitems(stream, "products")}
    with csv_path.open("w", newline="") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for row in (
            ["FormatVersion", "v1.0"],
            ["Disclaimer", "synthetic"],
            ["Publication Date", "2026-11-01T00:00:00Z"],
            ["Version", "20261101000000"],
            ["OfferCode", "AmazonEC2"],
            header,
        ):
            writer.writerow(row)
        for term_type in ("OnDemand", "Reserved"):
            with json_path.open("rb") as stream:
                for sku, offers in ijson.kvitems(stream, f"terms.{term_type}"):
                    a = attrs[sku]
                    for offer in offers.values():
                        t = offer["termAttributes"]
                        for rate, d in offer["priceDimensions"].items():
                            writer.writerow(
                                [
                                    sku,
                                    offer["offerTermCode"],
                                    rate,
                                    term_type,
                                    d["description"],
                                    "2026-11-01",
                                    "0",
                                    "Inf",
                                    d["unit"],
                                    d["pricePerUnit"]["USD"],
                                    "USD",
                                    "",
                                    t.get("LeaseContractLength", ""),
                                    t.get("PurchaseOption", ""),
                                    t.get("OfferingClass", ""),
                                    "Compute Instance",
                                    "AmazonEC2",
                                    a["location"],
                                    "AWS Region",
                                    a["instanceType"],
                                    a["tenancy"],
                                    a["operatingSystem"],
                                    a["licenseModel"],
                                    a["usagetype"],
                                    a["operation"],
                                    a["capacitystatus"],
                                    a["preInstalledSw"],
                                    a["regionCode"],
                                ]
                            )


def write_focus(path: Path, rows: int, seed: int) -> None:
    """FOCUS 1.2 in the AWS layout: hourly rows over October 2026 for a mix of instance types."""
    rng = random.Random(seed)
    types = [f"{f}.{s}" for f in FAMILIES for s in ("xlarge", "12xlarge", "48xlarge")]
    template = dict.fromkeys(FOCUS_1_2_AWS_COLUMNS, "")
    template.update(
        BillingAccountId="123456789012",
        BillingAccountName="payer",
        BillingAccountType="Billing Account",
        BillingCurrency="USD",
        BillingPeriodStart="2026-10-01T00:00:00Z",
        BillingPeriodEnd="2026-11-01T00:00:00Z",
        ChargeCategory="Usage",
        ChargeFrequency="Usage-Based",
        ConsumedUnit="Hrs",
        PricingUnit="Hrs",
        ProviderName="AWS",
        PublisherName="Amazon Web Services, Inc.",
        InvoiceIssuerName="Amazon Web Services, Inc.",
        ServiceCategory="Compute",
        ServiceName="Amazon Elastic Compute Cloud",
        x_ServiceCode="AmazonEC2",
        x_Operation="RunInstances",
        Tags='{"team":"ml","env":"prod"}',
        SubAccountId="210987654321",
    )
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FOCUS_1_2_AWS_COLUMNS)
        columns = list(FOCUS_1_2_AWS_COLUMNS)
        for i in range(rows):
            hour = i % 744
            start = f"2026-10-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z"
            end_hour = hour + 1
            end = (
                f"2026-10-{1 + end_hour // 24:02d}T{end_hour % 24:02d}:00:00Z"
                if end_hour < 744
                else "2026-11-01T00:00:00Z"
            )
            instance = rng.choice(types)
            region = rng.choice(REGIONS[:4])
            cost = round(rng.uniform(0.1, 98.0), 6)
            committed = rng.random() < 0.3
            row = dict(template)
            row.update(
                ChargePeriodStart=start,
                ChargePeriodEnd=end,
                RegionId=region,
                ConsumedQuantity="1",
                PricingQuantity="1",
                BilledCost=f"{cost}",
                EffectiveCost=f"{cost * (0.6 if committed else 1):.6f}",
                ListCost=f"{cost}",
                ContractedCost=f"{cost}",
                SkuMeter=f"BoxUsage:{instance}",
                SkuPriceDetails=json.dumps({"InstanceType": instance}) if rng.random() < 0.5 else "",
                PricingCategory="Committed" if committed else "Standard",
                CommitmentDiscountId=f"arn:aws:ec2:{region}:123456789012:reserved-instances/{instance}"
                if committed
                else "",
                CommitmentDiscountType="Reserved Instance" if committed else "",
                CommitmentDiscountCategory="Usage" if committed else "",
                CommitmentDiscountStatus="Used" if committed else "",
                ResourceId=f"i-{rng.randrange(16**12):012x}",
                ResourceType="Instance",
            )
            writer.writerow([row[c] for c in columns])


def generate(folder: Path, count: int, focus_rows: int, seed: int) -> None:
    """Write the files that are not there yet (a kept folder is reused)."""
    if not (folder / "offer.json").exists():
        write_offer_json(folder / "offer.json", products(count, seed), seed)
    if not (folder / "offer.csv").exists():
        write_offer_csv(folder / "offer.json", folder / "offer.csv")
    if not (folder / "offer-small.json").exists():
        write_offer_json(folder / "offer-small.json", products(max(1, count // 6), seed), seed)
    if not (folder / "focus.csv").exists():
        write_focus(folder / "focus.csv", focus_rows, seed)


CPU: dict[str, float] = {}


def measured(code: str) -> tuple[float, float, str]:
    """Run Python `code` in a fresh process: (wall seconds, peak RSS MB, its stdout); its CPU seconds
    (user + system) go to CPU["last"], the figure to trust on a loaded machine."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    CPU["last"] = usage.ru_utime + usage.ru_stime
    if status != 0:
        raise SystemExit(f"benchmark child failed ({status}):\n{output}")
    return seconds, usage.ru_maxrss / 1024, output.strip()


def import_code(path: Path) -> str:
    return (
        "import sys; sys.path.insert(0, 'src');"
        "from pathlib import Path; from placement.inputs.prices import read_price_files;"
        f"b = read_price_files([Path({str(path)!r})], {{'us-east-1'}}, None);"
        "print(b.products_read, len(b.quotes))"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=120_000)
    parser.add_argument("--focus-rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the generated files here (default: a temp folder)")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate is not None:  # in a child process, so the measuring parent stays small
        generate(args.generate, args.products, args.focus_rows, args.seed)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="placement-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    import ijson

    print(f"ijson {ijson.__version__ if hasattr(ijson, '__version__') else ''} backend {ijson.backend}")
    offer, csv_offer, small, focus = (
        folder / n for n in ("offer.json", "offer.csv", "offer-small.json", "focus.csv")
    )
    started = time.perf_counter()
    if not (offer.exists() and csv_offer.exists() and small.exists() and focus.exists()):
        command = [sys.executable, __file__, "--generate", str(folder), "--products", str(args.products)]
        command += ["--focus-rows", str(args.focus_rows), "--seed", str(args.seed)]
        subprocess.run(command, check=True)
    print(f"generated files in {time.perf_counter() - started:.0f} s")
    for path in (offer, csv_offer):
        mb = path.stat().st_size / 1e6
        seconds, rss, out = measured(import_code(path))
        read, quotes = (int(x) for x in out.split())
        print(
            f"import-prices {path.name}: {mb:,.0f} MB, {read:,} products/rows, {quotes:,} quotes kept; "
            f"{seconds:.1f} s, {mb / seconds:,.1f} MB/s, {read / seconds:,.0f} products-or-rows/s, "
            f"peak RSS {rss:,.0f} MB, CPU {CPU['last']:.1f} s"
        )
    mb = small.stat().st_size / 1e6
    code = f"import json; d = json.load(open({str(small)!r})); print(len(d['products']))"
    seconds, rss, _ = measured(code)
    print(
        f"json.load (whole file) {small.name}: {mb:,.0f} MB, {seconds:.1f} s, "
        f"peak RSS {rss:,.0f} MB, CPU {CPU['last']:.1f} s"
    )
    seconds, rss, _ = measured(import_code(small))
    print(
        f"ijson streaming        {small.name}: {mb:,.0f} MB, {seconds:.1f} s, "
        f"peak RSS {rss:,.0f} MB, CPU {CPU['last']:.1f} s"
    )
    mb = focus.stat().st_size / 1e6
    code = (
        "import sys; sys.path.insert(0, 'src'); from pathlib import Path;"
        f"from placement.inputs.focus import read_focus; b = read_focus(Path({str(focus)!r}));"
        "print(b.rows, len(b.spend), len(b.commitments))"
    )
    seconds, rss, out = measured(code)
    print(
        f"FOCUS read {focus.name}: {args.focus_rows:,} rows, {mb:,.0f} MB -> {out}; {seconds:.1f} s, "
        f"{args.focus_rows / seconds:,.0f} rows/s, peak RSS {rss:,.0f} MB, CPU {CPU['last']:.1f} s"
    )
    if args.keep is None:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
