"""A time-phased plan written out by hand (3 months, 2 options, a 1-year commitment, a Capacity
Block, two training runs in order, a port), for the verifier's tests until the planner fills these
fields itself.  Every figure is worked out in the comments.

Catalog: gpu ($10/h on demand, 10 instances); trn (trainium, $8/h on demand, $5/h for 1 year, $6/h
in a Capacity Block; 4 instances, 6 from month 3).  Porting pytorch to trainium takes 4 weeks at
$1,000 a week.  730 hours a month.

Workloads (horizon 3 months, a porting team of 2):
- chat: inference, 9.9864e9 tokens/month = 3,800 tokens/s; 2,000 tokens/s per instance on either
  option, so q = 1.9 instances; grows 50% a month: demand 1, 1.5, 2.25 → 1.9, 2.85, 4.275 → 2, 3,
  5 whole instances, on gpu.
- pre: training, measured 1,000 tokens/s, 3.6e9 tokens → 1,000 instance-hours; a 25-day deadline
  (600 h) → 1.67 → 2 instances at once; month 1 only; on gpu.
- ft: training, 1.0512e10 tokens → 2,920 instance-hours, 61 days (1,464 h) → 1.99 → 2 at once;
  months 2-3, held all of both months (2 · 1,460 h), after pre; on trn, which needs lab's port
  to trainium: 4 weeks / (2 engineers · 730/168 weeks a month) = 0.46 → 1 month: started in M1,
  ready in M2.

Purchases:
- gpu on demand: M1 2 · 730 + 1,000 = 2,460 h ($24,600); M2 3 · 730 = 2,190 h ($21,900); M3 5 ·
  730 = 3,650 h ($36,500): $83,000.
- trn: 1 instance for 1 year from M2: covers M2, M3 ($5 · 730 = $3,650 a month) and 10 months past
  the horizon, charged in full: $5 · (1,460 + 7,300) = $43,800, of which $36,500 is unused
  commitment (no month carries it); ft's other instance, M2 in a Capacity Block of 1 instance
  ($6 · 730 = $4,380), M3 on demand ($8 · 730 = $5,840).  ft holds its instances all month, so
  the commitment may carry it (a run held for part of a month is a burst, bought on demand or in
  blocks only).  trn: $54,020 bought, months $8,030 + $9,490 = $17,520, all carried by ft.
Compute $137,020 = placements $100,520 + unused $36,500; migration (lab to trainium) $4,000; total
$141,020.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from placement.engine.plan import (
    Baseline,
    CapacityUse,
    FamilySpend,
    MigrationCharge,
    MonthUse,
    Period,
    Placement,
    Plan,
    PortSchedule,
    Purchase,
    RunMonth,
    RunnerUp,
    RunSchedule,
    SolverReport,
    WorkloadResult,
)
from placement.inputs.models import Catalog, Portfolio
from placement.render.report import plan_dict
from tests.conftest import inference, make_catalog, make_portfolio, option, training

HOURS = 730.0
UNUSED_USD = 36_500.0  # Plan.unused_commitment_usd (on main; not in this branch's Plan yet)
MEASURED = {"gpu": {"tokens_per_second": 1000}, "trn": {"tokens_per_second": 1000}}


def inputs() -> tuple[Portfolio, Catalog]:
    catalog = make_catalog(
        [
            option("gpu", "gpu", capacity_instances=10),
            option(
                "trn",
                "trainium",
                usd_per_hour=8.0,
                one_year_usd_per_hour=5.0,
                capacity_block_usd_per_hour=6.0,
                capacity_instances=4,
                capacity_by_month={3: 6},
            ),
        ],
        weeks={"pytorch": {"trainium": 4}},
    )
    portfolio = make_portfolio(
        [
            inference(
                "chat", codebase="app", tokens_per_month=9.9864e9, growth_per_month=0.5, regions=["test"]
            ),
            training(
                "pre", codebase="lab", tokens=3.6e9, deadline_days=25, latest_month=1, measured=MEASURED
            ),
            training(
                "ft",
                codebase="lab",
                tokens=1.0512e10,
                deadline_days=61,
                earliest_month=2,
                after=["pre"],
                measured=MEASURED,
            ),
        ],
        horizon_months=3,
        porting={"engineers": 2},
        policy={"max_region_usd": {"test": 200_000}},
    )
    return portfolio, catalog


def _use(option: str, family: Any, period: int, capacity: int, **figures: Any) -> MonthUse:
    zero: dict[str, Any] = {
        "inference_instances": 0,
        "training_instances": 0,
        "training_hours": 0.0,
        "committed_instances": 0,
        "committed_hours": 0.0,
        "committed_hours_used": 0.0,
        "on_demand_hours": 0.0,
        "block_instances": 0,
        "block_hours": 0.0,
    }
    return MonthUse(period, option, "test", family, capacity=capacity, **{**zero, **figures})


def plan() -> Plan:
    def on_demand(period: int, option: str, instances: int, hours: float, price: float) -> Purchase:
        return Purchase(period, option, "test", "on-demand", instances, 1, hours, hours * price, 0.0, "")

    # used spend before rounding: chat 1.9 · (1 + 1.5 + 2.25) · $10 · 730 = $65,882.50; pre
    # 1,000 h · $10 = $10,000; ft 2,920 h · $8 = $23,360 → gpu 75,882.5 / 99,242.5, trainium 23,360 / 99,242.5
    used = 99_242.5
    return Plan(
        portfolio="time.yaml",
        catalog="test",
        horizon_months=3,
        hours_per_month=HOURS,
        max_family_share=None,
        compute_usd=137_020.0,
        migration_usd=4_000.0,
        workloads=(
            # chat: $73,000 over 9.9864e9 · 4.75 = 4.74354e10 tokens; runner-up trn alone:
            # (2 + 3 + 5) · $8 · 730 + the app port (4 weeks, $4,000) = $62,400, $10,600 less
            WorkloadResult(
                "chat",
                "inference",
                "app",
                (Placement("chat", "gpu", "gpu", "inference", 1.0, 5, 73_000.0, "estimate", "test"),),
                73_000.0,
                73_000.0 / 47_435.4,
                None,
                0.0,
                RunnerUp("trn", -10_600.0, ""),
            ),
            # pre: M1's $24,600 split by hours, 1,000 of 2,460; runner-up trn: 1,000 h · $8 (lab is ported)
            WorkloadResult(
                "pre",
                "training",
                "lab",
                (Placement("pre", "gpu", "gpu", "training", 1.0, 2, 10_000.0, "measured", "test"),),
                10_000.0,
                None,
                10_000.0,
                0.0,
                RunnerUp("trn", -2_000.0, ""),
            ),
            # ft: trn's months, $17,520; runner-up gpu: 2,920 h · $10 = $29,200
            WorkloadResult(
                "ft",
                "training",
                "lab",
                (Placement("ft", "trn", "trainium", "training", 1.0, 2, 17_520.0, "measured", "test"),),
                17_520.0,
                None,
                17_520.0,
                4.0,
                RunnerUp("gpu", 11_680.0, ""),
            ),
        ),
        migrations=(MigrationCharge("lab", "trainium", 4.0, 4_000.0, ("pytorch",)),),
        # each option's tightest month: gpu M3 (5 of 10), trn M2 (2 of 4)
        capacity=(CapacityUse("gpu", "gpu", 5, 10), CapacityUse("trn", "trainium", 2, 4)),
        families=(
            FamilySpend("trainium", 54_020.0, 4_000.0, 54_020 / 137_020, 23_360 / used),
            FamilySpend("inferentia", 0.0, 0.0, 0.0, 0.0),
            FamilySpend("gpu", 83_000.0, 0.0, 83_000 / 137_020, 75_882.5 / used),
        ),
        # all on gpu on demand: chat $73,000, pre $10,000, ft $29,200; no GPU port
        baseline=Baseline(112_200.0, 0.0, (("chat", "gpu"), ("pre", "gpu"), ("ft", "gpu")), ()),
        solver=SolverReport("by hand", "optimal", 0.0, 0.0, 60.0, 1, 1, 1),
        estimates=(),
        measured=(("pre", "gpu"), ("ft", "trn")),
        sources=(),
        periods=tuple(Period(i, f"M{i}", 1.0, HOURS) for i in (1, 2, 3)),
        purchases=(
            on_demand(1, "gpu", 4, 2_460.0, 10.0),
            on_demand(2, "gpu", 3, 2_190.0, 10.0),
            on_demand(3, "gpu", 5, 3_650.0, 10.0),
            Purchase(2, "trn", "test", "1-year", 1, 2, 1_460.0, 43_800.0, 0.0, "term ends month 13"),
            Purchase(2, "trn", "test", "capacity-block", 1, 1, 730.0, 4_380.0, 0.0, ""),
            on_demand(3, "trn", 1, 730.0, 8.0),
        ),
        monthly=(
            _use(
                "gpu",
                "gpu",
                1,
                10,
                inference_instances=2,
                training_instances=2,
                training_hours=1_000.0,
                on_demand_hours=2_460.0,
                usd=24_600.0,
            ),
            _use("gpu", "gpu", 2, 10, inference_instances=3, on_demand_hours=2_190.0, usd=21_900.0),
            _use("gpu", "gpu", 3, 10, inference_instances=5, on_demand_hours=3_650.0, usd=36_500.0),
            _use(
                "trn",
                "trainium",
                2,
                4,
                training_instances=2,
                training_hours=1_460.0,
                committed_instances=1,
                committed_hours=HOURS,
                committed_hours_used=HOURS,
                block_instances=1,
                block_hours=730.0,
                usd=3_650.0 + 4_380.0,
            ),
            _use(
                "trn",
                "trainium",
                3,
                6,
                training_instances=2,
                training_hours=1_460.0,
                committed_instances=1,
                committed_hours=HOURS,
                committed_hours_used=HOURS,
                on_demand_hours=730.0,
                usd=3_650.0 + 5_840.0,
            ),
        ),
        runs=(
            RunSchedule("pre", "gpu", 1, 1, (RunMonth(1, 1_000.0, 2),)),
            RunSchedule("ft", "trn", 2, 3, (RunMonth(2, 1_460.0, 2), RunMonth(3, 1_460.0, 2))),
        ),
        ports=(PortSchedule("lab", "trainium", 4.0, 2, 1, 2),),
        region_usd=(("test", 137_020.0),),
        **(
            {"unused_commitment_usd": UNUSED_USD}
            if "unused_commitment_usd" in Plan.__dataclass_fields__
            else {}
        ),
    )


def plan_json(p: Plan) -> dict[str, Any]:
    """plan_dict plus the time-phased fields as verify_time.py reads them (the dataclasses' names,
    as render/schedule.py writes them), where plan_dict does not write them yet."""
    data = plan_dict(p)
    data.setdefault("unused_commitment_usd", UNUSED_USD)
    if "periods" in data:
        return data
    for row, placement in zip(data["placements"], p.placements, strict=True):
        row["region"] = placement.region
    data.update(
        periods=[dataclasses.asdict(x) for x in p.periods],
        purchases=[dataclasses.asdict(x) for x in p.purchases],
        monthly=[{**dataclasses.asdict(x), "utilisation": x.utilisation} for x in p.monthly],
        runs=[dataclasses.asdict(x) for x in p.runs],
        ports=[dataclasses.asdict(x) for x in p.ports],
        beyond_horizon=p.beyond_horizon,
        committed_beyond_usd=p.committed_beyond_usd,
        region_usd=[{"region": r, "compute_usd": usd} for r, usd in p.region_usd],
    )
    return data
