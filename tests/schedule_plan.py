"""A small time-phased Plan built by hand, for the renderers' tests (tests/test_schedule.py).

Three months of 730 hours; two options in two regions; no portfolio or catalog behind it. The figures
are chosen so that every rendered number can be checked by hand:

- `chat` (inference) on inf2.xlarge in us-east-1 from M2, after its port to Inferentia (6 engineer-weeks,
  2 engineers: ⌈6 / (2 · 730/168)⌉ = 1 month, ready in M2): 10 instances in M2, 14 in M3.
  A 1-year commitment to 12 instances from M2 at $0.50/h: 12 · 730 = 8,760 h paid each month,
  $4,380 a month. M2 uses 10 · 730 = 7,300 h of it (83.3%); M3 uses all 8,760 h and holds 2 more
  on demand: 2 · 730 = 1,460 h at $0.76 = $1,109.60. Horizon-only rule: inside the horizon 2 months,
  12 · 1,460 · 0.50 = $8,760; the other 10 months, 12 · 7,300 · 0.50 = $43,800, are not in the total.
- `pretrain` (training) on p5.48xlarge in us-east-2, window M1..M3, 4 instances at once: M2 in a
  Capacity Block of 4 instances for 21 days (4 · 24 · 21 = 2,016 h at $30 = $60,480), M3 on demand
  for 7 days (4 · 24 · 7 = 672 h at $55 = $36,960).

Compute = 8,760 + 1,109.60 + 60,480 + 36,960 = $107,309.60 (us-east-1 $9,869.60, us-east-2 $97,440).
Commitment utilisation over the horizon: (7,300 + 8,760) / 17,520 = 91.67%.
"""

from __future__ import annotations

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
    RunSchedule,
    SolverReport,
    WorkloadResult,
)
from placement.inputs.models import Source

INF2, P5 = "inf2.xlarge", "p5.48xlarge"
EAST1, EAST2 = "us-east-1", "us-east-2"


def _month(period: int, option: str, **values: float) -> MonthUse:
    inf2 = option == INF2
    fields: dict[str, float] = {
        "inference_instances": 0,
        "training_instances": 0,
        "training_hours": 0.0,
        "committed_instances": 0,
        "committed_hours": 0.0,
        "committed_hours_used": 0.0,
        "on_demand_hours": 0.0,
        "block_instances": 0,
        "block_hours": 0.0,
        "capacity": (20 if period < 3 else 14) if inf2 else 8,
        "usd": 0.0,
    }
    fields.update(values)
    return MonthUse(
        period=period,
        option=option,
        region=EAST1 if inf2 else EAST2,
        family="inferentia" if inf2 else "gpu",
        **fields,  # type: ignore[arg-type]
    )


MONTHLY = (
    _month(1, INF2),
    _month(1, P5),
    _month(
        2, INF2, inference_instances=10, committed_instances=12, committed_hours=8760.0,
        committed_hours_used=7300.0, usd=4380.0,
    ),
    _month(
        2, P5, training_instances=4, training_hours=2016.0, block_instances=4, block_hours=2016.0,
        usd=60480.0,
    ),
    _month(
        3, INF2, inference_instances=14, committed_instances=12, committed_hours=8760.0,
        committed_hours_used=8760.0, on_demand_hours=1460.0, usd=5489.6,
    ),
    _month(3, P5, training_instances=4, training_hours=672.0, on_demand_hours=672.0, usd=36960.0),
)  # fmt: skip

PURCHASES = (
    Purchase(2, INF2, EAST1, "1-year", 12, 2, 17520.0, 8760.0, 43800.0, "term ends after month 13"),
    Purchase(
        2, P5, EAST2, "capacity-block", 4, 1, 2016.0, 60480.0, 0.0, "book no earlier than 8 weeks ahead"
    ),
    Purchase(3, INF2, EAST1, "on-demand", 2, 1, 1460.0, 1109.6, 0.0, ""),
    Purchase(3, P5, EAST2, "on-demand", 4, 1, 672.0, 36960.0, 0.0, ""),
)

SOURCE = Source(title="A test source", address="tests/schedule_plan.py", date_read="2026-11-23")


def schedule_plan(beyond_horizon: str = "horizon-only") -> Plan:
    """The plan above; `charge-full-term` puts the commitment's 10 later months in the total."""
    full = beyond_horizon == "charge-full-term"
    commit = 8760.0 + (43800.0 if full else 0.0)
    purchases = PURCHASES
    if full:
        purchases = (
            Purchase(2, INF2, EAST1, "1-year", 12, 2, 17520.0, 52560.0, 0.0, "term ends after month 13"),
            *PURCHASES[1:],
        )
    compute = commit + 1109.6 + 60480.0 + 36960.0
    chat = Placement("chat", INF2, "inferentia", "inference", 1.0, 14, commit + 1109.6, "sourced", EAST1)
    pretrain = Placement("pretrain", P5, "gpu", "training", 1.0, 4, 97440.0, "sourced", EAST2)
    return Plan(
        portfolio="schedule.yaml",
        catalog="test",
        horizon_months=3,
        hours_per_month=730,
        max_family_share=None,
        compute_usd=compute,
        migration_usd=60000.0,
        workloads=(
            WorkloadResult("chat", "inference", "chat", (chat,), chat.compute_usd, 1.25, None, 6, None),
            WorkloadResult("pretrain", "training", "pretrain", (pretrain,), 97440.0, None, 97440.0, 0, None),
        ),
        migrations=(MigrationCharge("chat", "inferentia", 6, 60000.0, ("pytorch",)),),
        capacity=(CapacityUse(INF2, "inferentia", 14, 14), CapacityUse(P5, "gpu", 4, 8)),
        families=(
            FamilySpend("trainium", 0.0, 0.0, 0.0, 0.0),
            FamilySpend("inferentia", chat.compute_usd, 60000.0, chat.compute_usd / compute, 0.1),
            FamilySpend("gpu", 97440.0, 0.0, 97440.0 / compute, 0.9),
        ),
        baseline=Baseline(250000.0, 0.0, (("chat", P5), ("pretrain", P5)), ()),
        solver=SolverReport("HiGHS", "optimal", 1e-6, 0.0, 60.0, 40, 20, 30),
        estimates=(),
        measured=(),
        sources=(("test", SOURCE),),
        periods=(Period(1, "M1", 1.0, 730.0), Period(2, "M2", 1.0, 730.0), Period(3, "M3", 1.0, 730.0)),
        purchases=purchases,
        monthly=MONTHLY,
        runs=(RunSchedule("pretrain", P5, 1, 3, (RunMonth(2, 2016.0, 4), RunMonth(3, 672.0, 4))),),
        ports=(PortSchedule("chat", "inferentia", 6, 2, 1, 2),),
        beyond_horizon=beyond_horizon,
        committed_beyond_usd=0.0 if full else 43800.0,
        region_usd=((EAST1, commit + 1109.6), (EAST2, 97440.0)),
    )
