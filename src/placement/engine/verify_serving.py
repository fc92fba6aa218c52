"""Inference in a time-phased plan: can the instances it holds serve every month's demand?

The plan states, per option and period, the inference instances held (`monthly`), and per
workload and option the largest share and instances in any period and the compute charged
(`placements`); the split of each month's traffic is not written out.  The check asks whether a
split exists that agrees with every one of those figures, as a small mixed-integer program over
the placements only (it shares no code with the optimizer's model):

    s[i,o,p] ∈ [0, 1]  only where i is placed on o, has demand in p and its port is ready
    k[i,o,p] ∈ ℤ ∩ [0, instances(i,o)],  k ≥ q[i,o]·f[i,p]·s      (whole instances per workload)
    Σ_o s[i,o,p] = 1                    every month with demand is served
    Σ_i k[i,o,p] = monthly inference_instances
    share(i,o) = Σ_p s·f[i,p]·months[p] / Σ_p f[i,p]·months[p]   (its part of the horizon's traffic)
    some p attains instances(i,o)       (the most held in any month)
    compute(i,o) = Σ_p k·hours[p] · the month's charge carried per instance-hour (verify_purchases)
    max_family_share and each family's policy_share on the spend traffic uses (q·f·od·hours·s)

Each row has a priced slack; the slacks left after minimising them name the figures that disagree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import highspy
import pulp

from placement.engine import timeline
from placement.engine.highs_start import StartedHiGHS
from placement.engine.verify_common import CENT, Tally
from placement.engine.verify_purchases import Purchases
from placement.engine.verify_time import TimeCheck
from placement.inputs.models import FAMILIES, Family

TOL = 1e-6
SOLVE_S = 20.0  # then the relaxation (see `_solve`)


class _Program:
    def __init__(self) -> None:
        self.problem = pulp.LpProblem("verify_serving", pulp.LpMinimize)
        self.count = 0
        self.objective: list[tuple[pulp.LpVariable, float]] = []
        self.slacks: list[tuple[pulp.LpVariable, str, float]] = []  # variable, message, tolerance
        self.hits: dict[tuple[str, str, int], tuple[pulp.LpVariable, int]] = {}  # key → (binary, instances)

    def var(self, up: float | None = None, cat: str = pulp.LpContinuous) -> pulp.LpVariable:
        self.count += 1
        return self.problem.add_variable(f"v{self.count}", 0, up, cat)

    def slack(self, message: str, weight: float, tolerance: float = TOL) -> pulp.LpVariable:
        v = self.var()
        self.objective.append((v, weight))
        self.slacks.append((v, message, tolerance))
        return v

    def add(self, expression: pulp.LpAffineExpression | pulp.LpConstraint) -> None:
        self.problem += expression


def serving_problems(
    check: TimeCheck, bought: Purchases, tally: Tally, split: Sequence[tuple[str, str, int, float, int]] = ()
) -> list[str]:
    """Every disagreement between the inference figures and some split of the traffic.  `split`
    (workload, option, period, share, instances): a candidate the search starts from."""
    data, portfolio = check.data, check.portfolio
    demand = {w.name: _factors(check, w.name) for w in portfolio.workloads if w.kind == "inference"}
    rows = [
        r
        for r in data["placements"]
        if r["workload"] in demand and (r["workload"], r["option"]) in tally.estimates
    ]
    m = _Program()
    s: dict[tuple[str, str, int], pulp.LpVariable] = {}
    k: dict[tuple[str, str, int], pulp.LpVariable] = {}
    used: dict[Family, list[tuple[pulp.LpVariable, float]]] = defaultdict(list)
    cells = _cells(check, rows, demand)
    for r in rows:
        w, option = check.workloads[r["workload"]], check.options[r["option"]]
        q = tally.estimates[(w.name, option.id)].instances_needed
        where = f"{w.name} on {option.id}: instances {r['instances']}"
        fewer = m.slack(f"{where}, fewer than it must hold in some month for its share", 1.0, 0.5)
        mine = []  # this placement's (workload, option, month) keys: each helper reads only these
        for p, f in demand[w.name].items():
            key = (w.name, option.id, p)
            if key not in cells.get((option.id, p), ()):
                continue
            mine.append(key)
            s[key] = m.var(up=1.0)
            # alone on the option that month: its count is the month's, whole already (no integer needed)
            k[key] = m.var(cat=pulp.LpContinuous if len(cells[(option.id, p)]) == 1 else pulp.LpInteger)
            m.add(k[key] - q * f * s[key] >= -TOL * max(1.0, q * f))
            m.add(k[key] - fewer <= r["instances"])
            used[option.family].append((s[key], q * f * option.usd_per_hour * check.hours[p]))
        _attained(m, check, r, cells, {key: k[key] for key in mine})
        _share(m, check, r, demand[w.name], {key: s[key] for key in mine})
        _compute(m, check, bought, r, {key: k[key] for key in mine})
    shares: dict[tuple[str, int], list[pulp.LpVariable]] = defaultdict(list)  # one pass, not one a month
    for (name, _, p), v in s.items():
        shares[(name, p)].append(v)
    for name, factors in demand.items():
        for p, f in factors.items():
            if f > 0:
                short = m.slack(
                    f"{name} in {check.label[p]}: the inference instances of its placed options "
                    "(ports ready) cannot serve its demand",
                    10.0,
                )
                m.add(pulp.lpSum(shares[(name, p)]) + short == 1)
    for cell in bought.keys():
        held = check.num(cell, "inference_instances")
        terms = [k[key] for key in cells.get(cell, ())]
        if not terms and held == 0:
            continue
        where = f"{check.where(cell)}: inference_instances {check.cell(cell, 'inference_instances')}"
        over = m.slack(
            f"{where}, fewer than its inference workloads' shares need", 1.0, 1e-5 * max(1.0, held)
        )
        under = m.slack(
            f"{where}, more than its inference workloads' placements hold", 1.0, 1e-5 * max(1.0, held)
        )
        m.add(pulp.lpSum(terms) + under - over == held)
    _policy(m, check, used, tally.used_spend)  # training's, on demand (verify._check_placement)
    m.problem += pulp.LpAffineExpression(m.objective)
    return _solve(m, _candidate(m, s, k, split))


def _cells(
    check: TimeCheck, rows: list[dict[str, Any]], demand: dict[str, dict[int, float]]
) -> dict[tuple[str, int], list[tuple[str, str, int]]]:
    """Per option-month, the inference placements that may use it (demand there, port ready)."""
    out: dict[tuple[str, int], list[tuple[str, str, int]]] = defaultdict(list)
    for r in rows:
        w, option = check.workloads[r["workload"]], check.options[r["option"]]
        ready = check.port_ready(w, option)
        for p, f in demand[w.name].items():
            if f > 0 and p >= ready:
                out[(option.id, p)].append((w.name, option.id, p))
    return out


def _candidate(
    m: _Program,
    s: dict[tuple[str, str, int], pulp.LpVariable],
    k: dict[tuple[str, str, int], pulp.LpVariable],
    split: Sequence[tuple[str, str, int, float, int]],
) -> dict[str, float] | None:
    """The program's values for a candidate split: its shares and instances, and each placement's
    month of most instances; the slacks are left to HiGHS (an LP with these integers fixed).  A
    split that names a cell the program has not is no candidate."""
    if not split:
        return None
    values: dict[str, float] = {}
    for name, option, p, share, count in split:
        key = (name, option, p)
        if key not in s:
            return None
        values[s[key].name] = share
        values[k[key].name] = float(count)
        hit = m.hits.get(key)
        if hit is not None:
            values[hit[0].name] = 1.0 if count >= hit[1] else 0.0
    return values


def _solve(m: _Program, candidate: dict[str, float] | None = None) -> list[str]:
    """The slacks left at the optimum; a witness with none proves the figures agree.  HiGHS
    starts from `candidate` where there is one (the plan's own split: a witness at once when the
    figures agree; 1,000 workloads took the whole SOLVE_S to find one without it).  Should the
    whole-instance program not reach its optimum in SOLVE_S (PuLP calls a stopped HiGHS run
    "Optimal", so HiGHS's own status is read), its relaxation answers: it never reports a
    disagreement the program would not, and leaves whole instances per workload on shared
    options unchecked."""
    m.problem.solve(StartedHiGHS(candidate, msg=False, timeLimit=SOLVE_S))
    left = [(v.varValue, message, tolerance) for v, message, tolerance in m.slacks]
    if all(value is not None and value <= tolerance for value, _, tolerance in left):
        return []  # a witness: every figure agrees
    if m.problem.solverModel.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        return [message for value, message, tolerance in left if (value or 0.0) > tolerance]
    for v in m.problem.variables():
        v.cat = pulp.LpContinuous
    m.problem.solve(pulp.HiGHS(msg=False))
    if m.problem.solverModel.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return [f"inference: the serving check could not be solved ({pulp.LpStatus[m.problem.status]})"]
    return [message for v, message, tolerance in m.slacks if (v.varValue or 0.0) > tolerance]


def _factors(check: TimeCheck, name: str) -> dict[int, float]:
    factors = timeline.demand(check.portfolio, check.workloads[name])
    return {p.index: f for p, f in zip(check.periods, factors, strict=True)}


def _attained(
    m: _Program,
    check: TimeCheck,
    r: dict[str, Any],
    cells: dict[tuple[str, int], list[tuple[str, str, int]]],
    k: dict[tuple[str, str, int], pulp.LpVariable],
) -> None:
    """The placement's instances are the most held in some month (alone on the option in a month,
    its count is the month's; shared, a binary picks the month).  `k`: this placement's only."""
    mine = list(k)
    if r["instances"] <= 0 or any(
        len(cells[(o, p)]) == 1 and check.num((o, p), "inference_instances") == r["instances"]
        for _, o, p in mine
    ):
        return
    hits = []
    for key in (key for key in mine if len(cells[key[1:]]) > 1):
        hit = m.var(up=1, cat=pulp.LpBinary)
        hits.append(hit)
        m.hits[key] = (hit, r["instances"])
        m.add(k[key] - r["instances"] * hit >= 0)
    where = f"{r['workload']} on {r['option']}: instances {r['instances']}"
    miss = m.slack(f"{where} is not the most held in any month", 1.0, 0.5)
    m.add(pulp.lpSum(hits) + miss >= 1)


def _share(
    m: _Program,
    check: TimeCheck,
    r: dict[str, Any],
    factors: dict[int, float],
    s: dict[tuple[str, str, int], pulp.LpVariable],
) -> None:
    """share = the placement's part of the workload's traffic over the horizon (`s`: this
    placement's only)."""
    weight = {p: f * check.periods[p - 1].months for p, f in factors.items()}
    total = sum(weight.values())
    if total <= 0:
        return
    served = pulp.lpSum(v * weight[p] / total for (_, _, p), v in s.items())
    message = (
        f"{r['workload']} on {r['option']}: share {r['share']} is not its part of the traffic in any split"
    )
    low, high = m.slack(message, 1.0, 1e-6), m.slack(message, 1.0, 1e-6)
    m.add(served + low >= r["share"] - 2e-6)
    m.add(served - high <= r["share"] + 2e-6)


def _compute(
    m: _Program,
    check: TimeCheck,
    bought: Purchases,
    r: dict[str, Any],
    k: dict[tuple[str, str, int], pulp.LpVariable],
) -> None:
    """compute_usd is the instance-hours' part of the option's monthly charges the workloads carry
    (`k`: this placement's only)."""
    parts = [(count, bought.carried((option, p)) * check.hours[p]) for (_, option, p), count in k.items()]
    part = pulp.LpAffineExpression(parts)
    where = f"{r['workload']} on {r['option']}: compute_usd {r['compute_usd']:,.2f}"
    weight = 1e-6  # dollars weigh less than instances: a wrong count is blamed on the count
    low = m.slack(f"{where}, less than its instance-hours' part of the option's charges", weight, CENT)
    high = m.slack(f"{where}, more than its instance-hours' part of the option's charges", weight, CENT)
    slack = CENT * (len(parts) + 1)  # each month's charge is rounded to cents in the JSON
    m.add(part - low <= r["compute_usd"] + slack)
    m.add(part + high >= r["compute_usd"] - slack)


def _policy(
    m: _Program,
    check: TimeCheck,
    used: dict[Family, list[tuple[pulp.LpVariable, float]]],
    training: dict[Family, float],
) -> None:
    """max_family_share, and each family's stated policy_share, on the spend traffic uses."""
    spend = {g: pulp.LpAffineExpression(used.get(g, [])) + training.get(g, 0.0) for g in FAMILIES}
    total = pulp.lpSum(spend.values())
    scale = max(1.0, sum(training.values()) + sum(c for terms in used.values() for _, c in terms))
    cap = check.portfolio.policy.max_family_share
    rows = {
        f.get("family"): f.get("policy_share") for f in check.data.get("families", []) if isinstance(f, dict)
    }
    for g in FAMILIES:
        if cap is not None:
            over = m.slack(
                f"policy: {g} uses more than {cap:.0%} of spend in every split the instances allow",
                1 / scale,
                1e-6 * scale,
            )
            m.add(spend[g] - cap * total - over <= 1e-9 * scale)
        claimed = rows.get(g)
        if isinstance(claimed, int | float) and not isinstance(claimed, bool):
            message = f"families: {g} policy_share is {claimed}, no split of the traffic gives it"
            gap = m.slack(message, 1 / scale, 1e-6 * scale)
            m.add(spend[g] - (claimed + 1e-5) * total - gap <= 0)
            m.add(spend[g] - (claimed - 1e-5) * total + gap >= 0)
