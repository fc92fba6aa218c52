"""The placement MILP over time, built with PuLP: where each workload runs, when, and how it is bought.

Sets
    T   training workloads;  I  inference workloads;  O  options;  G  families;  P  periods
    (months, or one period for the whole horizon: engine/timeline.py)
    A   feasible (workload, option) pairs (costing.estimate(...).ok, after `prune`)
    C   codebases; (c, g) where porting codebase c to family g costs something
    K   commitment terms allowed and sold on an option: 1-year (12 months), 3-year (36)

Parameters
    hours[p]    hours in period p;  cap[o,p] the capacity calendar (instances at once)
    q[i,o]      instances i needs on o at tokens_per_month (fractional);  f[i,p] i's demand factor
    E[t,o]      instance-hours of all of t's runs on o;  n[t,o] instances one run holds at once;
    R[t]        runs;  W[t] ⊆ P the periods of t's window (earliest_month..latest_month)
    od[o], cb[o], π[o,κ]   on-demand, Capacity Block and commitment prices per instance-hour
    Cost[o,κ,p] what one instance committed at the start of p pays: π·Σ hours of the periods it
                covers inside the horizon, plus (charge-full-term) π·hours_per_month·months beyond
    F[c,g]      port cost;  d[c,g] port duration in periods (timeline.port_months; 0: no team)
    S[o,p]      committed instances already bought (sunk: `bought`), paid whether used or not

Variables
    x[t,o] ∈ {0,1}          training t runs on o
    h[t,o,p] ≥ 0            instance-hours of t's runs on o in p that are bursts (p ∈ W[t])
    j[t,o,p] ∈ ℤ ≥ 0        runs of t busy on o for the whole of p (hours[p]·n each)
    r[t,o,p] ∈ ℤ, 0..R'     runs of t active at once on o in p (each holds n[t,o] instances);
                            R' = min(R[t], ⌈E / (hours[p]·n)⌉): more at once never helps
    s[i,o,p] ∈ [0,1]        share of i's traffic in p served by o;  k[i,o,p] ∈ ℤ whole instances
    b[o,κ,p] ∈ ℤ ≥ 0        instances committed for term κ from the start of p
    e[o,p] ≥ 0              on-demand instance-hours;  v[o,p] ≥ 0 Capacity Block instance-hours
    B[o,p] ∈ ℤ ≥ 0          instances booked in Capacity Blocks in p
    y[c,g] ∈ {0,1}          port done (no porting team: usable from period 1), or with a team
    z[c,g,p] ∈ {0,1}        port starts at p; usable from p + d[c,g]: Y[c,g,p] = Σ_{p' ≤ p−d} z[c,g,p']
    a[t,p] ∈ {0,1}          t active in p (only for workloads in an `after` relation)

Objective
    min  Σ od·e + Σ cb·v + Σ Cost·b + Σ F·y (or F·z) + the cost of what is already bought

Constraints
    assign          Σ_o x[t,o] = 1;   Σ_o s[i,o,p] = 1 for every p with f[i,p] > 0
    hours[t,o]      Σ_{p∈W} (h[t,o,p] + hours[p]·n·j[t,o,p]) = E[t,o]·x[t,o]   (all inside the window)
    pace[t,o,p]     h ≤ hours[p]·n·r (a run holds its n instances while it runs);  r + j ≤ R'·x
    held[t,o]       Σ_{p∈W} (r + j) ≥ x: a chosen run holds instances in some period (without it, a
                    run of seconds, E below the solver's tolerance, could hold none anywhere)
    throughput      k[i,o,p] ≥ q·f·s as the convex hull of its whole-instance points, and the
                    cover cuts Σ_o k/(q·f) ≥ 1 rounded (see `_throughput_rows`, `_cover_rows`)
    capacity[o,p]   Σ_i k[i,o,p] + Σ_t n·(r + j)[t,o,p] ≤ cap[o,p]
    bought[o,p]     hours[p]·(Σ_i k + Σ_t n·j) + Σ_t h ≤ hours[p]·(S + Σ_{κ, p' covering p} b[o,κ,p']) + e + v
    burst[o,p]      Σ_t h ≤ e + v   (a commitment's instances are there all period; a burst is not, so
                    bursts are bought on demand or in blocks)
                    (e exists only where o is sold on demand, b where a term is sold and allowed,
                    v and B where o has a Capacity Block price and blocks are allowed)
    block[o,p]      v ≤ hours[p]·B (blocks of ≤ 182 days may follow each other);
                    B ≤ Σ_i k + Σ_t n·(r + j) (no more booked at once than held);
                    Σ_o B[o,p] ≤ account cap (AWS: 256 instances across blocks)
    port            s[i,o,p] ≤ y (or Y[c,g,p]);  x[t,o] ≤ y (or r, j ≤ R'·Y[c,g,p]);  Σ_p z ≤ 1
    team[p]         Σ_{ports on the shared team} per_port · Σ_{p−d < p' ≤ p} z[c,g,p'] ≤ engineers
    after[t2,t1,p]  |P|·a[t2,p] + Σ_{p' ≥ p} a[t1,p'] ≤ |P|   with r[t,o,p] ≤ R·a[t,p]
    share[g]        U[g] ≤ φ · Σ U  (a family-share policy), with U[g] = the spend family g's traffic
                    uses, priced on demand before rounding: E·od·x for training, Σ_p q·f·od·hours·s
                    for inference (one defining row per family)
    region[ρ]       Σ_{o in ρ} (od·e + cb·v + Cost·b) + sunk in ρ ≤ max_region_usd[ρ]

A one-period portfolio (`periods: single`) bought on demand only is the model before the time
axis: h = E·x, r = x, e = the hours used, so the objective is Σ R·x + Σ H·k + Σ F·y as before.
Block bookings are sized in instance-hours per period (a run's exact days are not modelled), and at
monthly resolution a run's hours may fall in non-adjacent months of its window.
With `elastic=True` (diagnosis only) capacity, share, region and window rows get priced slack.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulp

from placement.engine import timeline
from placement.engine.costing import Estimate, port_weeks, whole
from placement.engine.plan import Purchase
from placement.inputs.models import FAMILIES, Catalog, Family, Option, Portfolio, Workload

Row = list[tuple[pulp.LpVariable, float]]
TERMS = ("1-year", "3-year")
IN_FORCE = "in-force"  # a commitment already bought (a bill's Reserved Instance): sunk, used first
COMMIT_CAT = pulp.LpInteger
SPEND_UNIT = 1e4  # U[g] in $10,000s: see share_rows


@dataclass
class Model:
    """A built model and the handles to read it back by domain ids."""

    problem: pulp.LpProblem
    pairs: dict[tuple[str, str], Estimate]
    periods: tuple[timeline.Span, ...]  # the model's periods: spans of identical months
    demand: dict[str, tuple[float, ...]]  # inference workload → factor per period
    windows: dict[str, tuple[int, int]]  # training workload → (first, last) period
    x: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    h: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)
    r: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)
    j: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)
    s: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)
    k: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)
    y: dict[tuple[str, Family], pulp.LpVariable] = field(default_factory=dict)
    z: dict[tuple[str, Family, int], pulp.LpVariable] = field(default_factory=dict)
    port_usd: dict[tuple[str, Family], float] = field(default_factory=dict)
    port_months: dict[tuple[str, Family], int] = field(default_factory=dict)
    commit: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)
    commitments: dict[tuple[str, str, int], timeline.Commitment] = field(default_factory=dict)
    commit_usd: dict[tuple[str, str, int], float] = field(default_factory=dict)  # per instance
    on_demand: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    block_hours: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    block_instances: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    sunk_hours: dict[tuple[str, int], float] = field(default_factory=dict)  # bought: committed or booked
    sunk_block_hours: dict[tuple[str, int], float] = field(default_factory=dict)  # bought blocks only
    sunk_usd: float = 0.0
    capacity_slack: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    share_slack: dict[Family, pulp.LpVariable] = field(default_factory=dict)
    window_slack: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    region_slack: dict[str, pulp.LpVariable] = field(default_factory=dict)
    spread_shares: bool = False  # see optimizer._inference
    elastic: bool = False  # the diagnosis's copy: coupling rows with priced slack (`build`)
    unit: float = 1.0  # h, e and v are in instance-months of this many hours (HiGHS solves it faster)
    run_units: dict[tuple[str, str], float] = field(default_factory=dict)  # E / unit per training pair
    capacity: dict[str, tuple[int, ...]] = field(default_factory=dict)  # option → per period
    codebase: dict[str, str] = field(default_factory=dict)  # workload → codebase
    active: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)  # a[t,p]
    after: tuple[tuple[str, str], ...] = ()  # (later, first): later starts once first is done
    share_cap: float | None = None  # max_family_share, when there is one
    first_fixed: bool = False  # commitments and ports fixed by a first stage (`FirstStage`)
    block_account: float = math.inf  # instances across Capacity Blocks at once (AWS: 256)
    twins: list[tuple[str, ...]] = field(default_factory=list)  # option ids, catalog order (twin rows)
    used: dict[Family, tuple[pulp.LpVariable, Row]] = field(default_factory=dict)  # U[g] and its terms
    beside: dict[Family, float] = field(default_factory=dict)  # spend U[g] counts from outside ($)
    integers: int = 0  # integer variables this model added (model_size counts its whole problem, slowly)
    prices: dict[str, dict[str, float]] = field(default_factory=dict)  # option → instrument → $/h; "list"


@dataclass(frozen=True)
class FirstStage:
    """The decisions signed before the future is known: commitments and ports.

    `fixed=True` (a plan's first stage, re-planned in a sampled future): exactly these commitments
    and ports are made, nothing else is signed, and the rest (on demand, Capacity Blocks, where
    each workload runs) is decided again.  `fixed=False` (one future of a stochastic model): the
    commitments listed are the ones that may be signed (any number of instances, linked across
    futures by the caller), ports are free, and no other commitment exists."""

    commits: tuple[tuple[str, str, int, int], ...] = ()  # (option, term, first month, instances)
    ports: tuple[tuple[str, Family, int], ...] = ()  # (codebase, family, start month)
    fixed: bool = True

    @property
    def months(self) -> tuple[int, ...]:
        """The months its decisions start in: the model's spans break there."""
        return tuple(sorted({c[2] for c in self.commits} | {p[2] for p in self.ports}))


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def _throughput_rows(
    share: pulp.LpVariable, count: pulp.LpVariable, q: float
) -> list[tuple[str, Row, float]]:
    """Rows making whole instances k cover share s of q: the convex hull of {k ≥ q·s, k ∈ ℤ}.

    Its lower edge runs through (s, k) = (j/q, j) for j ≤ ⌊q⌋ and ends at (1, ⌈q⌉).  k ≥ q·s is
    the first facet; for fractional q the last one is k ≥ ⌊q⌋ + (q·s − ⌊q⌋)/f with f = q − ⌊q⌋
    (for q < 1 simply k ≥ s: any traffic at all needs a whole instance).  Without it the LP
    relaxation buys 0.08 of an instance for a small service and the solver spends its time
    generating these cuts itself.
    """
    top = whole(q)
    if 0 < q and top <= 1:
        return [("throughput", [(count, 1.0), (share, -1.0)], 0.0)]
    rows: list[tuple[str, Row, float]] = [("throughput", [(count, 1.0), (share, -q)], 0.0)]
    fraction = q - (top - 1)
    if 1e-3 < fraction < 1 - 1e-9:
        rows.append(("last_instance", [(count, fraction), (share, -q)], (top - 1) * (fraction - 1)))
    return rows


def _cover_rows(terms: Row) -> list[tuple[Row, float]]:
    """Mixed-integer rounding cuts on one service's whole instances across its options.

    Shares add up to 1 and k[o] ≥ q[o]·s[o], so Σ_o k[o]/q[o] ≥ 1.  Scaled by q[p] for each
    option p with fractional q[p] > 1 this reads Σ_o a[o]·k[o] ≥ q[p] with a[o] = q[p]/q[o];
    MIR rounds it to Σ_o (⌊a[o]⌋ + min(1, frac(a[o])/f))·k[o] ≥ ⌈q[p]⌉ with f = frac(q[p]).
    It stops the LP relaxation from buying ⌊q⌋ whole instances of one option and a fraction of
    an instance of another for the rest.
    """
    rows = []
    for _, scale in terms:
        floor = whole(scale) - 1
        f = scale - floor
        if floor < 1 or not 1e-3 < f < 1 - 1e-3:
            continue
        row = []
        for count, q in terms:
            a = scale / q
            fa = a - math.floor(a)
            row.append((count, a if fa < 1e-9 else math.floor(a) + min(1.0, fa / f)))
        rows.append((row, float(floor + 1)))
    return rows


_PRICES = {
    "usd_per_hour",
    "on_demand",
    "one_year_usd_per_hour",
    "three_year_usd_per_hour",
    "capacity_block_usd_per_hour",
}


def _twin_key(portfolio: Portfolio, option: Option, capacity: tuple[int, ...]) -> tuple[object, ...]:
    """What must match for two options to be interchangeable: everything but id and region, and
    of the prices only those of the instruments the portfolio buys by (an on-demand plan does not
    care that one region sells a commitment the other does not)."""
    data = option.model_dump(exclude={"id", "region", "sources", "notes", "estimates", "ranges", *_PRICES})
    sold = tuple(sorted(instruments(portfolio, option).items()))
    return (tuple(sorted((k, repr(v)) for k, v in data.items())), sold, capacity)


def codebases(portfolio: Portfolio) -> dict[str, list[Workload]]:
    groups: dict[str, list[Workload]] = defaultdict(list)
    for w in portfolio.workloads:
        groups[w.codebase_name].append(w)
    return dict(groups)


def port_costs(
    portfolio: Portfolio, catalog: Catalog
) -> dict[tuple[str, Family], tuple[float, tuple[str, ...]]]:
    """(codebase, family) → (weeks, items counted), for every pair."""
    out = {}
    for name, members in codebases(portfolio).items():
        for family in FAMILIES:
            out[(name, family)] = port_weeks(catalog, members, family)
    return out


def instruments(portfolio: Portfolio, option: Option) -> dict[str, float]:
    """The instruments the plan may buy this option by, with their price per instance-hour."""
    out: dict[str, float] = {}
    for instrument in portfolio.purchase.allow:
        price = option.price(instrument)
        if price is not None:
            out[instrument] = price
    return out


def usable(portfolio: Portfolio, option: Option) -> bool:
    """Whether the option can be bought at all under the portfolio's purchase options."""
    return bool(instruments(portfolio, option))


def run_hours(portfolio: Portfolio, est: Estimate) -> float:
    """E: the instance-hours of all of a training workload's runs on an option."""
    w = next(w for w in portfolio.workloads if w.name == est.workload)
    return est.instance_hours_per_run * w.run_count


class _Builder:
    """Adds the variables and rows of `Model` one concept at a time (see the module docstring)."""

    def __init__(
        self,
        portfolio: Portfolio,
        catalog: Catalog,
        pairs: dict[tuple[str, str], Estimate],
        elastic: bool,
        bought: tuple[Purchase, ...],
        first: FirstStage | None = None,
        breaks: tuple[int, ...] = (),
        tag: str = "",
    ) -> None:
        self.portfolio, self.catalog, self.elastic = portfolio, catalog, elastic
        self.first, self.tag = first, tag
        self.periods = timeline.spans(portfolio, catalog, (*breaks, *(first.months if first else ())))
        self.options = {o.id: o for o in catalog.options}
        self.workloads = {w.name: w for w in portfolio.workloads}
        self.capacity = {o.id: timeline.span_capacity(portfolio, o, self.periods) for o in catalog.options}
        share = portfolio.policy.max_family_share
        self.model = Model(
            pulp.LpProblem("placement", pulp.LpMinimize),
            pairs,
            self.periods,
            {
                w.name: timeline.span_demand(portfolio, w, self.periods)
                for w in portfolio.workloads
                if w.kind == "inference"
            },
            {
                w.name: timeline.span_window(portfolio, w, self.periods)
                for w in portfolio.workloads
                if w.kind == "training"
            },
            spread_shares=not elastic,
            elastic=elastic,
            share_cap=share if share is not None and share < 1 else None,
        )
        self.problem = self.model.problem
        self.unit = self.model.unit = catalog.settings.hours_per_month  # hours are modelled in months
        self.model.capacity = self.capacity
        self.model.first_fixed = first is not None and first.fixed
        self.model.codebase = {w.name: w.codebase_name for w in portfolio.workloads}
        self.objective: Row = []
        self.held: dict[tuple[str, int], Row] = defaultdict(list)  # instances at once
        self.hours: dict[tuple[str, int], Row] = defaultdict(list)  # instance-hours used
        self.burst: dict[tuple[str, int], Row] = defaultdict(list)  # training hours not all period
        self.used: dict[Family, Row] = defaultdict(list)  # spend the share policy counts
        self.region: dict[str, Row] = defaultdict(list)
        self.region_sunk: dict[str, float] = defaultdict(float)
        self.active: dict[str, list[tuple[int, pulp.LpVariable, float]]] = defaultdict(list)
        self.count = 0
        self.beside: Mapping[Family, float] = {}  # see share_rows
        self._sunk(bought)

    def var(
        self, prefix: str, low: float = 0, up: float | None = None, cat: str = pulp.LpContinuous
    ) -> pulp.LpVariable:
        self.count += 1
        if cat != pulp.LpContinuous:
            self.model.integers += 1
        return self.problem.add_variable(f"{self.tag}{prefix}_{self.count}", low, up, cat)

    def row(self, terms: Row, sense: str, rhs: float, name: str) -> None:
        expression = pulp.LpAffineExpression(terms)
        name = self.tag + name
        if sense == "<=":
            self.problem += expression <= rhs, name
        elif sense == ">=":
            self.problem += expression >= rhs, name
        else:
            self.problem += expression == rhs, name

    def _sunk(self, bought: tuple[Purchase, ...]) -> None:
        """Commitments and blocks already paid: fixed capacity to use first, and their cost."""
        model, hpm = self.model, self.catalog.settings.hours_per_month
        for p in bought:
            if p.instrument in (*TERMS, IN_FORCE):  # months p.period .. p.period + p.periods - 1
                for span in self.periods:
                    months = min(span.last, p.period + p.periods - 1) - max(span.first, p.period) + 1
                    if months > 0:
                        key = (p.option, span.index)
                        model.sunk_hours[key] = model.sunk_hours.get(key, 0.0) + p.instances * months * hpm
            elif p.instrument == "capacity-block":  # its hours spread over the months it covers
                last = p.period + max(1, p.periods) - 1
                for span in self.periods:
                    months = min(span.last, last) - max(span.first, p.period) + 1
                    if months > 0:
                        key = (p.option, span.index)
                        hours = p.instance_hours * months / max(1, p.periods)
                        model.sunk_hours[key] = model.sunk_hours.get(key, 0.0) + hours
                        model.sunk_block_hours[key] = model.sunk_block_hours.get(key, 0.0) + hours
            else:
                continue  # on-demand is bought as used: nothing is sunk
            model.sunk_usd += p.usd
            self.region_sunk[p.region] += p.usd

    # ------------------------------------------------------------------ workloads

    def training(self, wname: str, oid: str, est: Estimate) -> None:
        w, option = self.workloads[wname], self.options[oid]
        x = self.var(f"x_{_safe(wname)}", up=1, cat=pulp.LpBinary)
        self.model.x[(wname, oid)] = x
        total = est.instance_hours_per_run * w.run_count
        first, last = self.model.windows[wname]
        n = est.instances_at_once
        spread: Row = []
        holding: Row = []  # every run-count variable of the pair (r and j), coefficient 1
        for period in self.periods[first - 1 : last]:
            p = period.index
            # more runs at once than it takes to use all E hours inside this period never helps
            cap = self.capacity[oid][p - 1] if not self.elastic else w.run_count * n
            top = min(w.run_count, cap // n, whole(total / (period.hours * n))) if n else 0
            if top == 0:
                continue
            months = period.hours / self.unit
            h = self.var("h", up=months * n * top)
            r = self.var("r", up=top, cat=pulp.LpInteger)
            self.model.h[(wname, oid, p)], self.model.r[(wname, oid, p)] = h, r
            self.row([(h, 1.0), (r, -months * n)], "<=", 0, f"pace[{wname}@{oid}#{p}]")
            self.row([(r, 1.0), (x, -float(top))], "<=", 0, f"runs[{wname}@{oid}#{p}]")
            spread += [(h, 1.0)]
            held: Row = [(r, float(n))]
            steady = min(top, int(total / (period.hours * n) + 1e-9))
            if steady > 0:  # runs busy the whole period: their instances can be committed
                j = self.var("j", up=steady, cat=pulp.LpInteger)
                self.model.j[(wname, oid, p)] = j
                self.row([(j, 1.0), (r, 1.0), (x, -float(top))], "<=", 0, f"steady[{wname}@{oid}#{p}]")
                spread.append((j, months * n))
                held.append((j, float(n)))
                self.hours[(oid, p)].append((j, months * n))
            self.held[(oid, p)] += held
            holding += [(var, 1.0) for var, _ in held]
            self.hours[(oid, p)].append((h, 1.0))
            self.burst[(oid, p)].append((h, 1.0))
            for var, _ in held:
                self.active[wname].append((p, var, float(w.run_count)))
                if self.model.port_months.get((w.codebase_name, option.family)):
                    self.port_link(w, option, p, var, float(top))  # a port on a calendar: per period
        if not self.model.port_months.get((w.codebase_name, option.family)):
            self.port_link(w, option, 0, x, 1.0)  # x ≤ y: tighter than linking runs to the port
        spread.append((x, -total / self.unit))
        self.model.run_units[(wname, oid)] = total / self.unit
        if self.elastic:
            slack = self.var("u")
            self.model.window_slack[(wname, oid)] = slack
            spread.append((slack, 1.0))
            self.objective.append((slack, self.penalty_per_hour(option) * self.unit))
        self.row(spread, "=", 0, f"hours[{wname}@{oid}]")
        if not self.elastic:  # (the diagnosis lets window slack carry a run's hours instead)
            # a chosen run holds its instances in some period: a run of seconds (a 0.15B model on
            # a 64-chip UltraServer: 5e-7 instance-months) is below the solver's tolerance in
            # the hours row, which alone let such a run hold nothing anywhere
            self.row([*holding, (x, -1.0)], ">=", 0, f"held[{wname}@{oid}]")
        self.used[option.family].append((x, total * option.usd_per_hour))

    def inference(self, wname: str, oid: str, est: Estimate, assign: dict[tuple[str, int], Row]) -> None:
        w, option = self.workloads[wname], self.options[oid]
        q = est.instances_needed
        for period, factor in zip(self.periods, self.model.demand[wname], strict=True):
            p = period.index
            # (diagnosis: capacity is only in the capacity rows, whose slack says where it is short)
            cap = self.capacity[oid][p - 1] if not self.elastic else math.inf
            if factor <= 0 or cap == 0:
                continue
            need = q * factor
            s = self.var(f"s_{_safe(wname)}", up=1)
            k = self.var("k", up=min(cap, whole(need)), cat=pulp.LpInteger)
            self.model.s[(wname, oid, p)], self.model.k[(wname, oid, p)] = s, k
            for name, row, floor in _throughput_rows(s, k, need):
                self.row(row, ">=", floor, f"{name}[{wname}@{oid}#{p}]")
            assign[(wname, p)].append((s, 1.0))
            self.held[(oid, p)].append((k, 1.0))
            self.hours[(oid, p)].append((k, period.hours / self.unit))
            self.used[option.family].append((s, need * option.usd_per_hour * period.hours))
            self.port_link(w, option, p, s, 1.0)

    def port_link(self, w: Workload, option: Option, p: int, var: pulp.LpVariable, scale: float) -> None:
        """var ≤ scale · (port done by period p), where the codebase needs a port to the family."""
        key = (w.codebase_name, option.family)
        if key not in self.model.port_usd:
            return
        if self.model.port_months[key] == 0:
            self.row(
                [(var, 1.0), (self.model.y[key], -scale)],
                "<=",
                0,
                f"port[{w.name}@{option.id}#{p}:{var.name}]",
            )
            return
        d, first = self.model.port_months[key], self.periods[p - 1].first
        ready = [
            (z, -scale)
            for (c, g, start), z in self.model.z.items()
            if (c, g) == key and self.periods[start - 1].first + d <= first
        ]
        self.row([(var, 1.0), *ready], "<=", 0, f"port[{w.name}@{option.id}#{p}:{var.name}]")

    # ------------------------------------------------------------------ ports

    def ports(self, costs: dict[tuple[str, Family], tuple[float, tuple[str, ...]]]) -> None:
        week_usd = self.catalog.migration.engineer_week_usd
        needed = {
            (self.workloads[w].codebase_name, est.family)
            for (w, _), est in self.model.pairs.items()
            if costs[(self.workloads[w].codebase_name, est.family)][0] > 0
        }
        team: dict[int, Row] = defaultdict(list)
        for key in sorted(needed):
            weeks = costs[key][0]
            usd = weeks * week_usd
            d = timeline.port_months(self.portfolio, self.catalog, key[0], weeks)
            self.model.port_usd[key], self.model.port_months[key] = usd, d
            if d == 0:
                y = self.var(f"y_{_safe(key[0])}_{key[1]}", up=1, cat=pulp.LpBinary)
                self.model.y[key] = y
                self.objective.append((y, usd))
                self.fix_port(key, y, 1)
                continue
            starts: Row = []
            shared = key[0] not in self.portfolio.porting.codebases
            per_port = timeline.port_engineers(self.portfolio.porting, key[0])
            for period in self.periods:
                if period.first + d > self.periods[-1].last:
                    break
                z = self.var(f"z_{_safe(key[0])}_{key[1]}", up=1, cat=pulp.LpBinary)
                self.model.z[(*key, period.index)] = z
                starts.append((z, 1.0))
                self.objective.append((z, usd))
                self.fix_port(key, z, period.first)
                if shared:  # busy in months first .. first + d - 1
                    for busy in self.periods:
                        if busy.first <= period.first + d - 1 and busy.last >= period.first:
                            team[busy.index].append((z, float(per_port)))
            if starts:
                self.row(starts, "<=", 1, f"port_once[{key[0]}@{key[1]}]")
        engineers = self.portfolio.porting.engineers
        if engineers is not None:
            for p, row in sorted(team.items()):
                self.row(row, "<=", engineers, f"team[{p}]")
        self.ports_paid_idle(costs)

    def fix_port(self, key: tuple[str, Family], var: pulp.LpVariable, month: int) -> None:
        """Under a fixed first stage a port is made exactly when the plan made it, and no other
        (one that takes no calendar time, whatever month it was listed in)."""
        if self.first is None or not self.first.fixed:
            return
        timed = self.model.port_months[key] > 0
        made = any((c, g) == key and (m == month or not timed) for c, g, m in self.first.ports)
        var.lowBound = var.upBound = 1 if made else 0

    def ports_paid_idle(self, costs: dict[tuple[str, Family], tuple[float, tuple[str, ...]]]) -> None:
        """A fixed first stage's ports that this future has no use for, or that start too late to
        finish inside the horizon: paid in full all the same."""
        if self.first is None or not self.first.fixed:
            return
        week_usd = self.catalog.migration.engineer_week_usd
        for codebase, family, _ in self.first.ports:
            key = (codebase, family)
            made = key in self.model.y or any(
                z.lowBound == 1 for (c, g, _), z in self.model.z.items() if (c, g) == key
            )
            if not made and key in costs:
                self.model.sunk_usd += costs[key][0] * week_usd

    # ------------------------------------------------------------------ purchases

    def purchases(self) -> None:
        """Per option: its commitments, then per period its on-demand and block channels and rows."""
        blocks_at_once: dict[int, Row] = defaultdict(list)
        first = self.first_commitments() if self.first is not None else {}
        for option in self.catalog.options:
            prices = instruments(self.portfolio, option)
            self.model.prices[option.id] = {**prices, "list": option.usd_per_hour}
            touched = [p.index for p in self.periods if self.held.get((option.id, p.index))]
            if not touched:
                continue
            if self.first is not None:
                in_force = first.get(option.id, defaultdict(list))
            else:
                in_force = self.commitments(option, prices, touched)
            for p in touched:
                self.channels(option, prices, self.periods[p - 1], in_force[p], blocks_at_once)
        account = timeline.block_term(self.catalog, "capacity_block_account_instances")
        self.model.block_account = float(account)
        for p, row in sorted(blocks_at_once.items()):
            self.row(row, "<=", account, f"block_account[{p}]")

    def commitments(self, option: Option, prices: dict[str, float], touched: list[int]) -> dict[int, Row]:
        """b[o,κ,p] for every term and start whose commitment could carry work; returns, per
        period, the committed instance-months in force."""
        most = {p: self.most_held(option.id, p) for p in touched}
        in_force: dict[int, Row] = defaultdict(list)
        for term in (t for t in TERMS if t in prices):
            for period in self.periods:
                plan = timeline.span_commitment(self.portfolio, term, period, self.periods)
                useful = [c for c in plan.covers if c in most] if plan else []
                if plan is None or not useful:
                    continue
                usd = self.commitment_usd(prices[term], plan)
                usable_hours = sum(self.periods[c - 1].hours for c in useful)
                if "on-demand" in prices and usd >= prices["on-demand"] * usable_hours:
                    continue  # on demand is never dearer for the hours it could carry
                top = max(most[c] for c in useful)  # more than is ever held carries nothing
                self.commit(option, term, period, plan, usd, top, in_force)
        return in_force

    def commitment_usd(self, price: float, plan: timeline.Commitment) -> float:
        """What one instance committed under `plan` pays (the beyond-horizon rule applied)."""
        charged = sum(self.periods[c - 1].hours for c in plan.covers)
        full = self.portfolio.purchase.beyond_horizon == "charge-full-term"
        return price * (
            charged + (plan.months_beyond * self.catalog.settings.hours_per_month if full else 0.0)
        )

    def commit(
        self,
        option: Option,
        term: str,
        period: timeline.Span,
        plan: timeline.Commitment,
        usd: float,
        top: float | None,
        in_force: dict[int, Row],
        low: float = 0,
    ) -> None:
        b = self.var(f"b_{_safe(option.id)}_{term}", low=low, up=top, cat=COMMIT_CAT)
        key = (option.id, term, period.index)
        self.model.commit[key], self.model.commitments[key] = b, plan
        self.model.commit_usd[key] = usd
        self.objective.append((b, usd))
        self.region[option.region].append((b, usd))
        for c in plan.covers:
            in_force[c].append((b, self.periods[c - 1].hours / self.unit))

    def first_commitments(self) -> dict[str, dict[int, Row]]:
        """Every commitment of the first stage, fixed to its count or free in number (linked across
        futures by the caller); returns, per option and period, the committed instance-months in
        force.  One on an option no workload can use in this future is paid all the same, idle."""
        assert self.first is not None
        in_force: dict[str, dict[int, Row]] = defaultdict(lambda: defaultdict(list))
        starts = {p.first: p for p in self.periods}
        for oid, term, month, count in self.first.commits:
            option, period = self.options.get(oid), starts.get(month)
            if option is None or period is None:
                continue
            price = option.price(term)  # type: ignore[arg-type]
            plan = timeline.span_commitment(self.portfolio, term, period, self.periods)
            if price is None or plan is None:
                continue
            fixed = float(count) if self.first.fixed else None
            usd = self.commitment_usd(price, plan)
            self.commit(option, term, period, plan, usd, fixed, in_force[oid], fixed or 0)
        return in_force

    def channels(
        self,
        option: Option,
        prices: dict[str, float],
        period: timeline.Span,
        in_force: Row,
        blocks_at_once: dict[int, Row],
    ) -> None:
        """On-demand hours e and Capacity Block hours v for one option and period, the bought row
        (use ≤ commitments + e + v + what is already bought) and the burst row."""
        p, cell = period.index, (option.id, period.index)
        cover = list(self.hours[cell]) + [(b, -months) for b, months in in_force]
        spot: Row = []
        if "on-demand" in prices:
            e = self.var(f"e_{_safe(option.id)}")
            self.model.on_demand[cell] = e
            spot.append((e, -1.0))
            self.objective.append((e, prices["on-demand"] * self.unit))
            self.region[option.region].append((e, prices["on-demand"] * self.unit))
        if "capacity-block" in prices:
            v = self.var(f"v_{_safe(option.id)}")
            held = self.var(f"B_{_safe(option.id)}", cat=pulp.LpInteger)
            self.model.block_hours[cell], self.model.block_instances[cell] = v, held
            spot.append((v, -1.0))
            self.objective.append((v, prices["capacity-block"] * self.unit))
            self.region[option.region].append((v, prices["capacity-block"] * self.unit))
            # blocks of at most max_days each may follow one another through the period
            self.row([(v, 1.0), (held, -period.hours / self.unit)], "<=", 0, f"block[{option.id}#{p}]")
            at_once = [(var, -c) for var, c in self.held[cell]]
            self.row([(held, 1.0), *at_once], "<=", 0, f"block_held[{option.id}#{p}]")
            blocks_at_once[p].append((held, 1.0))
        sunk = self.model.sunk_hours.get(cell, 0.0) / self.unit
        self.row(cover + spot, "<=", sunk, f"bought[{option.id}#{p}]")
        if self.burst[cell]:  # a commitment's instances are there all period, a burst is not
            booked = self.model.sunk_block_hours.get(cell, 0.0) / self.unit  # blocks already booked
            self.row([*self.burst[cell], *spot], "<=", booked, f"burst[{option.id}#{p}]")

    def most_held(self, oid: str, p: int) -> int:
        """The most instances of an option the workloads could hold at once in a period."""
        bound = sum((v.upBound or 0) * c for v, c in self.held[(oid, p)])
        return min(self.capacity[oid][p - 1], int(bound + 1e-9))

    # ------------------------------------------------------------------ coupling rows

    def capacity_rows(self, penalty: float) -> None:
        for option in self.catalog.options:
            for period in self.periods:
                row = list(self.held.get((option.id, period.index), []))
                if not row:
                    continue
                if self.elastic:
                    slack = self.var(f"c_{_safe(option.id)}")
                    self.model.capacity_slack[(option.id, period.index)] = slack
                    row.append((slack, -1.0))
                    self.objective.append((slack, penalty))
                cap = self.capacity[option.id][period.index - 1]
                self.row(row, "<=", cap, f"capacity[{option.id}#{period.index}]")

    def share_rows(self, penalty: float) -> None:
        share = self.model.share_cap
        if share is None:
            return
        # U[g] = the spend family g's traffic uses (one row each); share[g]: U[g] ≤ φ·Σ U, three
        # variables a row instead of every placement variable in every family's row.  U is in
        # SPEND_UNIT dollars: in dollars (coefficients to 1e8 beside U's 1), one root cut round of
        # HiGHS on 200 diverse workloads under a cap ran 60-110 s past a 15 s time limit; in
        # $10,000s the same 200-workload plans under a cap took 32-50 s for --time-limit 30, not
        # 53-86 s (seeds 2, 4, 6, 8; seed 8 also found a plan it did not find before).  The
        # enterprise example under a 75% cap takes 27.5 s instead of 25 s (benchmarks/README.md).
        # `beside`: the spend of workloads outside this model whose plan is fixed (a group of
        # engine/neighbourhoods.py), in each family: a constant in its U[g]
        spend = {}
        self.model.beside = dict(self.beside)
        for family in sorted(set(self.used) | set(self.beside)):
            total = self.var(f"U_{family}")
            spend[family] = total
            terms = [(v, c / SPEND_UNIT) for v, c in self.used[family]]
            self.model.used[family] = (total, terms)
            beside = self.beside.get(family, 0.0) / SPEND_UNIT
            self.row([(total, 1.0), *((v, -c) for v, c in terms)], "=", beside, f"used[{family}]")
        for family in sorted(spend):
            row = [(u, (1 - share) if g == family else -share) for g, u in spend.items()]
            if self.elastic:
                slack = self.var(f"f_{family}")
                self.model.share_slack[family] = slack
                row.append((slack, -1.0))
                self.objective.append((slack, penalty / 1e3 * SPEND_UNIT))  # per dollar, as before
            self.row(row, "<=", 0, f"share[{family}]")

    def region_rows(self, penalty: float) -> None:
        for region, cap in sorted(self.portfolio.policy.max_region_usd.items()):
            row = list(self.region.get(region, []))
            if self.elastic:
                slack = self.var(f"g_{_safe(region)}")
                self.model.region_slack[region] = slack
                row.append((slack, -1.0))
                self.objective.append((slack, penalty / 1e3))
            if row:
                self.row(row, "<=", cap - self.region_sunk.get(region, 0.0), f"region[{region}]")

    def after_rows(self) -> None:
        """A training workload with `after` starts only once the named ones are done."""
        pairs = [(w.name, first) for w in self.portfolio.workloads for first in w.after]
        self.model.after = tuple(pairs)
        involved = sorted({name for pair in pairs for name in pair})
        active = self.model.active
        for name in involved:
            for period in self.periods:
                a = self.var(f"a_{_safe(name)}", up=1, cat=pulp.LpBinary)
                active[(name, period.index)] = a
            for index, (p, r, runs) in enumerate(self.active[name]):
                self.row([(r, 1.0), (active[(name, p)], -runs)], "<=", 0, f"active_{index}[{name}#{p}]")
        count = float(len(self.periods))
        for later, first in pairs:
            for period in self.periods:
                p = period.index
                row = [(active[(later, p)], count)]
                row += [(active[(first, q.index)], 1.0) for q in self.periods if q.index >= p]
                self.row(row, "<=", count, f"after[{later}>{first}#{p}]")

    def twin_rows(self) -> None:
        """Symmetry: the same instance type sold alike in two regions (same prices, sale channels and
        capacity calendar) is interchangeable unless a pin, a region cap or a purchase already made
        tells them apart; any plan can swap the two everywhere, so the earlier one in the catalog may
        be asked to hold at least as many instance-months as the later one."""
        if self.portfolio.policy.max_region_usd or any(w.regions for w in self.portfolio.workloads):
            return
        groups: dict[tuple[object, ...], list[Option]] = defaultdict(list)
        for option in self.catalog.options:
            if any(key[0] == option.id for key in self.model.sunk_hours):
                continue
            groups[_twin_key(self.portfolio, option, self.capacity[option.id])].append(option)
        for twins in groups.values():
            if len(twins) > 1:
                self.model.twins.append(tuple(o.id for o in twins))
            for first, second in zip(twins, twins[1:], strict=False):
                row = [
                    (v, c * period.months)
                    for period in self.periods
                    for v, c in self.held.get((first.id, period.index), [])
                ]
                row += [
                    (v, -c * period.months)
                    for period in self.periods
                    for v, c in self.held.get((second.id, period.index), [])
                ]
                if row:
                    self.row(row, ">=", 0, f"twins[{first.id}>{second.id}]")

    def penalty_per_hour(self, option: Option) -> float:
        return 1e3 * max(option.usd_per_hour, 1.0)


def build(
    portfolio: Portfolio,
    catalog: Catalog,
    pairs: dict[tuple[str, str], Estimate],
    elastic: bool = False,
    bought: tuple[Purchase, ...] = (),
    first: FirstStage | None = None,
    breaks: tuple[int, ...] = (),
    beside: Mapping[Family, float] | None = None,
) -> Model:
    """The model for these (already pruned) pairs; pairs an estimate rules out are left out.
    `first`: the first stage this model is one future of (see `FirstStage`); `breaks`: months
    where its spans must break (so that several futures share their periods); `beside`: the
    spend per family that a family-share policy counts beside this model's (workloads outside
    it whose plan is fixed)."""
    builder = _Builder(
        portfolio, catalog, {k: e for k, e in pairs.items() if e.ok}, elastic, bought, first, breaks
    )
    builder.beside = beside or {}
    builder.problem += _fill(builder) + builder.model.sunk_usd
    return builder.model


def build_future(
    problem: pulp.LpProblem,
    tag: str,
    portfolio: Portfolio,
    catalog: Catalog,
    pairs: dict[tuple[str, str], Estimate],
    first: FirstStage,
    breaks: tuple[int, ...],
) -> tuple[Model, pulp.LpAffineExpression]:
    """One future of a stochastic model, its variables and rows added to `problem` under names
    starting with `tag`; returns the model's handles and its cost (objective) expression."""
    builder = _Builder(
        portfolio, catalog, {k: e for k, e in pairs.items() if e.ok}, False, (), first, breaks, tag
    )
    builder.model.problem = problem
    builder.problem = problem
    cost = _fill(builder)
    return builder.model, cost + builder.model.sunk_usd


def _fill(builder: _Builder) -> pulp.LpAffineExpression:
    """Every variable and row of the model; returns the objective without what is already sunk."""
    portfolio, pairs, model = builder.portfolio, builder.model.pairs, builder.model
    builder.ports(port_costs(portfolio, builder.catalog))
    assign: dict[tuple[str, int], Row] = defaultdict(list)
    training: dict[str, Row] = defaultdict(list)
    for (wname, oid), est in pairs.items():
        if builder.workloads[wname].kind == "training":
            builder.training(wname, oid, est)
            training[wname].append((model.x[(wname, oid)], 1.0))
        else:
            builder.inference(wname, oid, est, assign)
    for w in portfolio.workloads:  # a workload with no pair left makes the model infeasible
        if (
            w.kind == "training"
            and w.name not in training
            or w.kind == "inference"
            and not any(key[0] == w.name for key in assign)
        ):
            training[w.name] = [(builder.var("none", up=0), 1.0)]
    for wname, row in training.items():
        builder.row(row, "=", 1, f"assign[{wname}]")
    for (wname, p), row in assign.items():
        builder.row(row, "=", 1, f"assign[{wname}#{p}]")
    counts: dict[tuple[str, int], Row] = defaultdict(list)
    for (wname, oid, p), k in model.k.items():
        counts[(wname, p)].append((k, pairs[(wname, oid)].instances_needed * model.demand[wname][p - 1]))
    for (wname, p), terms in counts.items():
        for index, (row, floor) in enumerate(_cover_rows(terms)):
            builder.row(row, ">=", floor, f"cover_{index}[{wname}#{p}]")
    builder.purchases()
    penalty = 1e3 * max([abs(c) for _, c in builder.objective] + [1.0])
    builder.capacity_rows(penalty)
    builder.share_rows(penalty)
    builder.region_rows(penalty)
    builder.after_rows()
    builder.twin_rows()
    return pulp.LpAffineExpression(builder.objective)
