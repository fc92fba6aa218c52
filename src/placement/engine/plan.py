"""Typed, frozen results: what a plan says, ready to render or verify."""

from __future__ import annotations

from dataclasses import dataclass

from placement.inputs.models import Family, Kind, Source

# The version of the plan's JSON form (README "JSON schema"); the verifier reads the same version.
SCHEMA_VERSION = "1"


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
class Placement:
    """One workload's share on one option."""

    workload: str
    option: str
    family: Family
    kind: Kind
    share: float
    instances: int
    compute_usd: float
    basis: str  # "measured", "estimate" (an estimated catalog figure is used) or "sourced"


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
    reservations: tuple[Reservation, ...] = ()
    calibration: tuple[tuple[str, str], ...] = ()  # (option used, how well its figures are calibrated)
    defaults: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (default assumed, workloads relying on it)
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
