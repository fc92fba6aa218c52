"""The time-phased half of `placement verify`: periods, monthly rows, ports, training runs and
their order, and the capacity table, re-derived from the inputs and engine/timeline.py's rules
(README "Time axis").  Purchases and money: verify_purchases.py; inference: verify_serving.py.

A plan is time-phased when its JSON has a non-empty `periods` list (schema "2").  Keys read, as the
Plan dataclasses name them (engine/plan.py): `periods[]` {index, label, months, hours};
`monthly[]` {period, option, region, family, inference_instances, training_instances,
training_hours, committed_instances, committed_hours, committed_hours_used, on_demand_hours,
block_instances, block_hours, capacity, usd, and `utilisation` if given}; `runs[]` {workload,
option, earliest, latest, months[] {period, instance_hours, instances}}; `ports[]` {codebase,
family, weeks, engineers, start, ready}; `purchases[]` {period, option, region, instrument,
instances, periods, instance_hours, usd, usd_beyond_horizon}; `beyond_horizon`,
`committed_beyond_usd`, `region_usd[]` {region, usd}; `placements[].region`.  An option-period with
no `monthly` row counts as all zeros.  The JSON reader (inputs/saved_plan.py) does not type these
keys, so every value is read defensively: a wrong type is a disagreement, never a crash.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from placement.engine import timeline
from placement.engine.costing import Estimate, port_weeks
from placement.engine.plan import bursting
from placement.engine.verify_common import Tally, differs
from placement.inputs.models import Catalog, Option, Portfolio, Workload

HOURS = 0.011  # JSON rounds hours like USD, to 2 decimals
Key = tuple[str, int]  # (option, period)
COUNTS = ("inference_instances", "training_instances", "committed_instances", "block_instances")
AMOUNTS = (
    "training_hours",
    "committed_hours",
    "committed_hours_used",
    "on_demand_hours",
    "block_hours",
    "usd",
)


def rows(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def whole(value: Any) -> int | None:
    """An integer field's value, or None for anything else (a bool, a float, a list)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(value: Any) -> float:
    """A numeric field's value, 0 for anything else (the comparisons report the field itself)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def periods_problems(data: dict[str, Any], portfolio: Portfolio, catalog: Catalog) -> list[str]:
    """The periods against timeline.periods: nothing else is checked when they differ."""
    expected = timeline.periods(portfolio, catalog)
    given = data["periods"]
    if len(given) != len(expected):
        return [f"periods: {len(given)} given, the horizon has {len(expected)}"]
    problems = []
    for row, period in zip(given, expected, strict=True):
        if not isinstance(row, dict) or row.get("label") != period.label:
            problems.append(f"periods[{period.index - 1}]: not period {period.label}")
            continue
        for name in ("index", "months", "hours"):
            if differs(row.get(name), getattr(period, name), 1e-6):
                problems.append(
                    f"periods {period.label}: {name} {row.get(name)}, "
                    f"the horizon gives {getattr(period, name)}"
                )
    return problems


class TimeCheck:
    """One time-phased plan against its inputs: what it holds, runs and ports, period by period."""

    def __init__(self, data: dict[str, Any], portfolio: Portfolio, catalog: Catalog, tally: Tally) -> None:
        self.data, self.portfolio, self.catalog, self.tally = data, portfolio, catalog, tally
        self.periods = timeline.periods(portfolio, catalog)
        self.hours = {p.index: p.hours for p in self.periods}
        self.label = {p.index: p.label for p in self.periods}
        self.options = {o.id: o for o in catalog.options}
        self.workloads = {w.name: w for w in portfolio.workloads}
        self.month: dict[Key, dict[str, Any]] = {}
        self.train_instances: dict[Key, int] = defaultdict(int)
        self.train_bursting: dict[Key, int] = defaultdict(int)  # of those, held less than all month
        self.train_hours: dict[Key, float] = defaultdict(float)
        self.run_hours: dict[tuple[str, str, int], float] = defaultdict(float)
        self.active: dict[str, list[int]] = {}
        self.ready: dict[tuple[str, str], int] = {}

    def problems(self) -> list[str]:
        """Monthly rows, ports, runs and `after` (these fill what the purchase checks read)."""
        return self._monthly_rows() + self._ports() + self._runs() + self._after()

    def key(self, option: Any, period: Any) -> Key | None:
        """(option, period) when both exist, else None."""
        p = whole(period)
        return (option, p) if text(option) in self.options and p in self.hours else None

    def cell(self, key: Key, name: str) -> Any:
        row = self.month.get(key)
        return 0 if row is None else row.get(name)

    def num(self, key: Key, name: str) -> float:
        return number(self.cell(key, name))

    def where(self, key: Key) -> str:
        return f"monthly {key[0]} {self.label[key[1]]}"

    def held(self, key: Key) -> int:
        return int(self.num(key, "inference_instances") + self.num(key, "training_instances"))

    def used_hours(self, key: Key) -> float:
        return self.num(key, "inference_instances") * self.hours[key[1]] + self.num(key, "training_hours")

    def port_ready(self, w: Workload, option: Option) -> int:
        """The first period w may use the option's family (1 when its codebase needs no port)."""
        return self.ready.get((w.codebase_name, option.family), 1)

    def _monthly_rows(self) -> list[str]:
        problems = []
        for i, row in enumerate(rows(self.data, "monthly")):
            key = self.key(row.get("option"), row.get("period"))
            if key is None:
                problems.append(
                    f"monthly[{i}]: no option {row.get('option')!r} in period {row.get('period')!r}"
                )
            elif key in self.month:
                problems.append(f"{self.where(key)}: two rows")
            else:
                self.month[key] = row
        for key, row in sorted(self.month.items()):
            bad = [n for n in COUNTS if whole(row.get(n)) is None]
            bad += [n for n in AMOUNTS if number(row.get(n)) != row.get(n)]
            bad += [n for n in (*COUNTS, *AMOUNTS) if n not in bad and row[n] < 0]
            problems += [f"{self.where(key)}: {n} {row.get(n)!r} is not a number of that kind" for n in bad]
            option = self.options[key[0]]
            capacity = timeline.capacity(self.portfolio, option)[key[1] - 1]
            for name, value in (("region", option.region), ("family", option.family), ("capacity", capacity)):
                if row.get(name) != value:
                    problems.append(
                        f"{self.where(key)}: {name} {row.get(name)!r}, the catalog gives {value!r}"
                    )
        return problems

    # ------------------------------------------------------------------ ports

    def _ports(self) -> list[str]:
        """One port per migration charged, taking timeline.port_months; the shared team's size."""
        members: dict[str, list[Workload]] = defaultdict(list)
        for w in self.portfolio.workloads:
            members[w.codebase_name].append(w)
        charged = {(m.get("codebase"), m.get("family")) for m in rows(self.data, "migrations")}
        problems: list[str] = []
        busy: dict[int, int] = defaultdict(int)
        scheduled = set()
        for row in rows(self.data, "ports"):
            codebase, family = text(row.get("codebase")), text(row.get("family"))
            where = f"ports {codebase} to {family}"
            if (
                codebase not in members
                or (codebase, family) not in charged
                or (codebase, family) in scheduled
            ):
                problems.append(f"{where}: not one port per migration charged")
                continue
            assert codebase is not None and family is not None
            scheduled.add((codebase, family))
            problems += self._port(where, row, members[codebase], codebase, family, busy)
        problems += [
            f"ports: the port of {c} to {g} is charged but not scheduled"
            for c, g in sorted(charged - scheduled, key=str)
            if c in members
        ]
        team = self.portfolio.porting.engineers
        problems += [
            f"ports {self.label[p]}: {engineers} engineers porting at once, the team is {team}"
            for p, engineers in sorted(busy.items())
            if team is not None and engineers > team
        ]
        return problems

    def _port(
        self,
        where: str,
        row: dict[str, Any],
        members: list[Workload],
        codebase: str,
        family: Any,
        busy: dict[int, int],
    ) -> list[str]:
        weeks = port_weeks(self.catalog, members, family)[0]
        engineers = timeline.port_engineers(self.portfolio.porting, codebase)
        months = timeline.port_months(self.portfolio, self.catalog, codebase, weeks)
        start = whole(row.get("start"))
        # engineers: 0 when the port takes no calendar time (PortSchedule)
        expected = {"weeks": weeks, "engineers": engineers if months else 0, "ready": (start or 0) + months}
        problems = [
            f"{where}: {name} {row.get(name)}, the inputs give {value}"
            for name, value in expected.items()
            if differs(row.get(name), value, 1e-9)
        ]
        latest = len(self.periods) - months if months else len(self.periods)
        if start is None or not 1 <= start <= max(1, latest):
            return [
                *problems,
                f"{where}: start {row.get('start')!r} is not a period the port can finish after",
            ]
        self.ready[(codebase, family)] = start + months
        if months and codebase not in self.portfolio.porting.codebases:  # on the shared team
            for p in range(start, start + months):
                busy[p] += engineers
        return problems

    # ------------------------------------------------------------------ training

    def _runs(self) -> list[str]:
        schedules: dict[str, dict[str, Any]] = {}
        problems = []
        for row in rows(self.data, "runs"):
            name = text(row.get("workload"))
            w = self.workloads.get(name or "")
            if w is None or w.kind != "training" or w.name in schedules:
                problems.append(
                    f"runs: {row.get('workload')!r} is not one training workload of the workload file"
                )
            else:
                schedules[w.name] = row
        placed = {p["workload"]: p for p in self.data["placements"]}
        for w in self.portfolio.workloads:
            if w.kind == "training" and w.name in placed:
                if w.name not in schedules:
                    problems.append(f"runs: {w.name} has no run schedule")
                else:
                    problems += self._run(w, schedules[w.name], placed[w.name])
        return problems

    def _run(self, w: Workload, row: dict[str, Any], placement: dict[str, Any]) -> list[str]:
        """Inside the window, whole runs at once, no more hours than held, all hours done."""
        where = f"runs {w.name}"
        if row.get("option") != placement["option"]:
            return [f"{where}: option {row.get('option')!r}, the placement says {placement['option']!r}"]
        option = self.options.get(placement["option"])
        est: Estimate | None = self.tally.estimates.get((w.name, placement["option"]))
        if option is None or est is None:
            return []  # the placement check reports it
        if "region" in row and row["region"] != option.region:  # written beside the option for people
            problems = [f"{where}: region {row['region']!r}, the catalog gives {option.region!r}"]
        else:
            problems = []
        first, last = timeline.window(self.portfolio, w)
        window = f"{self.label[first]}..{self.label[last]}"
        problems += [
            f"{where}: {name} {row.get(name)}, the window is {window}"
            for name, value in (("earliest", first), ("latest", last))
            if whole(row.get(name)) != value
        ]
        months = rows(row, "months")
        if not isinstance(row.get("months"), list) or len(months) != len(row["months"]):
            problems.append(f"{where}: months is not a list of periods")
        for m in months:
            problems += self._run_month(w, option, est, m, (first, last))
        periods = [whole(m.get("period")) for m in months]
        if len(set(periods)) != len(periods):
            problems.append(f"{where}: a period given twice")
        total = w.run_count * est.instance_hours_per_run
        hours = sum(number(m.get("instance_hours")) for m in months)
        if differs(hours, total, HOURS * (len(months) + 1) + 1e-7 * total):
            problems.append(
                f"{where}: instance_hours add up to {hours:,.2f}, {w.run_count} runs need {total:,.2f}"
            )
        most = max((whole(m.get("instances")) or 0 for m in months), default=0)
        if placement["instances"] != most:
            problems.append(
                f"{w.name} on {option.id}: {placement['instances']} instances at once, "
                f"its runs hold at most {most}"
            )
        self.active[w.name] = [
            p
            for p, m in zip(periods, months, strict=True)
            if p in self.hours and (number(m.get("instance_hours")) or m.get("instances"))
        ]
        return problems

    def _run_month(
        self, w: Workload, option: Option, est: Estimate, m: dict[str, Any], window: tuple[int, int]
    ) -> list[str]:
        p, held, used = whole(m.get("period")), whole(m.get("instances")), m.get("instance_hours")
        where = f"runs {w.name}"
        if p not in self.hours or held is None or isinstance(used, bool) or not isinstance(used, int | float):
            return [f"{where}: {m} is not a period of the horizon with whole instances and hours"]
        at, n, ready = f"{where} {self.label[p]}", est.instances_at_once, self.port_ready(w, option)
        problems = []
        if not window[0] <= p <= window[1] and (used or held):
            problems.append(f"{at}: runs outside its window {self.label[window[0]]}..{self.label[window[1]]}")
        if held % max(n, 1) or held > n * w.run_count:
            problems.append(
                f"{at}: instances {held} is not a whole number of runs of {n} instances (up to {w.run_count})"
            )
        if used > self.hours[p] * held + HOURS:
            problems.append(
                f"{at}: instance_hours {used:,.2f} is more than {held} instances give "
                f"in {self.hours[p]:,.2f} h"
            )
        if p < ready and (used or held):
            problems.append(
                f"{at}: runs on {option.family} before the port of {w.codebase_name} "
                f"is ready in {self.label[ready]}"
            )
        self.train_instances[(option.id, p)] += held
        self.train_bursting[(option.id, p)] += bursting(held, used, self.hours[p])
        self.train_hours[(option.id, p)] += used
        self.run_hours[(w.name, option.id, p)] += used
        return problems

    def _after(self) -> list[str]:
        """`after: [w]`: the first active period comes after w's last."""
        problems = []
        for w in self.portfolio.workloads:
            for before in w.after:
                mine, theirs = self.active.get(w.name), self.active.get(before)
                if mine and theirs and min(mine) <= max(theirs):
                    problems.append(
                        f"runs {w.name}: starts in {self.label[min(mine)]}, before {before} (its `after`) "
                        f"ends in {self.label[max(theirs)]}"
                    )
        return problems

    def capacity_table(self) -> list[str]:
        """Per option its tightest month (least room left, then most held): `used` held against
        that month's `available` capacity; an option in no month: 0 of capacity_instances."""
        table = {row.get("option"): row for row in rows(self.data, "capacity")}
        if set(table) != set(self.options) or len(table) != len(rows(self.data, "capacity")):
            return ["capacity table: not one row per catalog option"]
        problems = []
        for option in self.catalog.options:
            calendar = timeline.capacity(self.portfolio, option)
            months = [
                (calendar[p - 1] - self.held(k), -self.held(k))
                for k in self.month
                if k[0] == option.id
                for p in (k[1],)
            ]
            room, minus_held = min(months, default=(option.capacity_instances, 0))
            used, available = -minus_held, room - minus_held
            expected = {"used": used, "available": available, "binding": available > 0 and used >= available}
            for name, value in expected.items():
                claimed = table[option.id].get(name)
                if claimed != value or isinstance(claimed, bool) != isinstance(value, bool):
                    problems.append(
                        f"capacity table: {option.id} {name} {claimed}, its tightest month gives {value}"
                    )
        return problems
