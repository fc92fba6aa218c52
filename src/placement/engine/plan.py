"""Typed, frozen results: what a plan says, ready to render or verify."""

from __future__ import annotations

from dataclasses import dataclass

from placement.inputs.models import Family, Kind, Source

# The version of the plan's JSON form (README "JSON schema"); the verifier reads the same version.
SCHEMA_VERSION = "2"


@dataclass(frozen=True)
class Reservation:
    option: str
    family: Family
    term: str  # "3-year", "1-year" or "none"
    committed_instances: int
    on_demand_instances: int  # peak headroom for inference, on demand
    burst_instance_hours: float  # training hours beyond the committed instances
    burst_tier: str  # "Capacity Blocks" or "on-demand"
    on_demand_usd: float  # what the plan pays on the option, all on demand
    reserved_usd: float

    @property
    def saving_usd(self) -> float:
        return self.on_demand_usd - self.reserved_usd


@dataclass(frozen=True)
class Period:
    """One planning period: a month, or the whole horizon when the portfolio says `periods: single`."""

    index: int  # 1-based
    label: str  # "M1", or "2027-01" when the portfolio gives `start`
    months: float  # length: 1, a fractional last month, or the horizon
    hours: float  # months · hours_per_month


@dataclass(frozen=True)
class Purchase:
    """One line of the purchase schedule."""

    period: int  # the period it starts in
    option: str
    region: str
    instrument: str  # "1-year", "3-year" (commitments), "capacity-block", "on-demand"
    instances: int  # committed or booked instances (on-demand: the most held at once)
    periods: int  # periods it covers inside the horizon
    instance_hours: float  # hours bought inside the horizon (commitments: paid whether used or not)
    usd: float  # charged inside the plan's total
    usd_beyond_horizon: float  # committed after the horizon and not in the total (horizon-only rule)
    note: str  # e.g. "book no earlier than 8 weeks ahead", "term ends month 24"


@dataclass(frozen=True)
class MonthUse:
    """One option in one period: what runs on it, how it is bought, what it costs."""

    period: int
    option: str
    region: str
    family: Family
    inference_instances: int  # held all period (sized for the period's peak)
    training_instances: int  # held at once by the runs active in the period
    training_hours: float  # instance-hours the runs use in the period
    committed_instances: int  # commitments in force (all terms)
    committed_hours: float  # instance-hours the commitments in force pay for in the period
    committed_hours_used: float  # of those, the hours that carry work
    on_demand_hours: float
    block_instances: int
    block_hours: float
    capacity: int  # the capacity calendar's figure for the period
    usd: float  # charged on this option in this period (commitments, on-demand, blocks)

    @property
    def utilisation(self) -> float | None:
        """Share of the committed instance-hours that carry work (None without commitments)."""
        return None if self.committed_hours <= 0 else self.committed_hours_used / self.committed_hours


@dataclass(frozen=True)
class RunMonth:
    period: int
    instance_hours: float
    instances: int  # held at once in the period


def bursting(instances: int, instance_hours: float, month_hours: float) -> int:
    """Instances a training workload holds in a month for less than all of it: its runs there are
    bursts, bought on demand or in blocks even beside idle committed instances (the model never
    puts a burst on a commitment: engine/formulation.py, burst row).  Held all month: 0."""
    return instances if instance_hours < instances * month_hours - 0.01 else 0


def on_demand_at_once(held: int, bursting: int, committed: int) -> int:
    """Instances bought on demand (or in blocks) at once in a month: the bursts, and what the
    instances held all month need beyond the commitments in force."""
    return bursting + max(0, held - bursting - committed)


@dataclass(frozen=True)
class RunSchedule:
    """Where and when a training workload's runs happen."""

    workload: str
    option: str
    earliest: int  # the window, as periods
    latest: int
    months: tuple[RunMonth, ...]


@dataclass(frozen=True)
class PortSchedule:
    codebase: str
    family: Family
    weeks: float
    engineers: int  # 0: ports take no calendar time (no porting team given)
    start: int  # period the port starts in
    ready: int  # first period its workloads may use the family


@dataclass(frozen=True)
class Placement:
    """One workload's share on one option (over the horizon: its largest share in any period)."""

    workload: str
    option: str
    family: Family
    kind: Kind
    share: float
    instances: int  # the most held at once in any period
    compute_usd: float  # its part of what the option's purchases cost, by instance-hours used
    basis: str  # "measured", "estimate" (an estimated catalog figure is used) or "sourced"
    region: str = ""


@dataclass(frozen=True)
class RunnerUp:
    option: str
    extra_usd: float  # standalone cost on the runner-up (with any new port) minus the plan's cost
    note: str


@dataclass(frozen=True)
class WorkloadResult:
    workload: str
    kind: Kind
    codebase: str
    placements: tuple[Placement, ...]
    compute_usd: float
    usd_per_million_tokens: float | None
    cost_per_run_usd: float | None
    migration_weeks: float
    runner_up: RunnerUp | None


@dataclass(frozen=True)
class MigrationCharge:
    codebase: str
    family: Family
    weeks: float
    usd: float
    items: tuple[str, ...]


@dataclass(frozen=True)
class CapacityUse:
    option: str
    family: Family
    used: int
    available: int

    @property
    def binding(self) -> bool:
        return self.available > 0 and self.used >= self.available


@dataclass(frozen=True)
class FamilySpend:
    family: Family
    compute_usd: float
    migration_usd: float
    share: float  # of total compute (whole instances)
    policy_share: float  # of the spend traffic uses, before rounding (what max_family_share caps)


@dataclass(frozen=True)
class Baseline:
    """Every workload on its cheapest feasible GPU option, alone (the CUDA status quo)."""

    compute_usd: float
    migration_usd: float
    choices: tuple[tuple[str, str], ...]  # (workload, option)
    missing: tuple[str, ...]  # workloads with no feasible GPU option

    @property
    def total_usd(self) -> float:
        return self.compute_usd + self.migration_usd


@dataclass(frozen=True)
class SolverReport:
    solver: str
    status: str
    gap_limit: float
    gap_proven: float
    time_limit_s: float
    variables: int
    integer_variables: int
    constraints: int


@dataclass(frozen=True)
class EstimateInUse:
    subject: str  # option id, or "migration: item → family"
    field: str
    reasoning: str


@dataclass(frozen=True)
class AlreadyOn:
    """One `already_on` entry and what it overrides (README "Rules")."""

    workload: str
    codebase: str
    family: Family
    waived_weeks: float  # the codebase's port to the family that is not charged
    unblocked: tuple[str, str] | None  # (item, reason) that would block this workload there


@dataclass(frozen=True)
class Plan:
    portfolio: str  # file name as given, never resolved to an absolute path
    catalog: str
    horizon_months: float
    hours_per_month: float
    max_family_share: float | None
    compute_usd: float
    migration_usd: float
    workloads: tuple[WorkloadResult, ...]
    migrations: tuple[MigrationCharge, ...]
    capacity: tuple[CapacityUse, ...]
    families: tuple[FamilySpend, ...]
    baseline: Baseline
    solver: SolverReport
    estimates: tuple[EstimateInUse, ...]
    measured: tuple[tuple[str, str], ...]  # (workload, option) pairs priced from measurements
    sources: tuple[tuple[str, Source], ...]
    reservations: tuple[Reservation, ...] = ()  # post-hoc advice (single-period, on-demand plans only)
    periods: tuple[Period, ...] = ()
    purchases: tuple[Purchase, ...] = ()
    monthly: tuple[MonthUse, ...] = ()
    runs: tuple[RunSchedule, ...] = ()
    ports: tuple[PortSchedule, ...] = ()
    beyond_horizon: str = "charge-full-term"
    committed_beyond_usd: float = 0.0  # commitments' spend after the horizon, not in the total
    unused_commitment_usd: float = 0.0  # in compute_usd: committed hours without work (and months
    # after the horizon under charge-full-term); placements' compute_usd plus this is compute_usd
    region_usd: tuple[tuple[str, float], ...] = ()  # (region, spend) for every region used
    calibration: tuple[tuple[str, str], ...] = ()  # (option used, how well its figures are calibrated)
    defaults: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (default assumed, workloads relying on it)
    # (workload, option, period, share, instances): each service's traffic split per period, which
    # the JSON leaves out; `placement plan` hands it to the serving check as its first witness
    split: tuple[tuple[str, str, int, float, int], ...] = ()
    already_on: tuple[AlreadyOn, ...] = ()

    @property
    def total_usd(self) -> float:
        return self.compute_usd + self.migration_usd

    @property
    def placements(self) -> tuple[Placement, ...]:
        return tuple(p for w in self.workloads for p in w.placements)

    @property
    def savings_usd(self) -> float:
        return self.baseline.total_usd - self.total_usd

    def main_options(self) -> dict[str, str]:
        """Each workload's option: the one carrying the largest share of it (the first by id on a
        tie), as `optimizer.main_options` reads a solution; a start for re-planning near inputs."""
        main: dict[str, Placement] = {}
        for p in sorted(self.placements, key=lambda p: (p.workload, p.option)):
            if p.workload not in main or p.share > main[p.workload].share:
                main[p.workload] = p
        return {w: p.option for w, p in main.items()}
