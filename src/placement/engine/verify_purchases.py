"""How a time-phased plan buys what it holds, re-derived from the catalog's prices and terms:
every purchase line, what is in force and paid in each option-month, cover and Capacity Block
rules, the placements', unused commitments' and regions' shares of the spend, and the totals.

The conventions are engine/schedule.py's (README "JSON output"):
- a month's `usd` is what is charged in it: each commitment in force · its term price · the
  month's hours, on-demand hours · usd_per_hour, block hours · the block rate;
- a commitment's months after the horizon are in its line's `usd` (charge-full-term) or in
  `usd_beyond_horizon` (horizon-only), never in a month;
- committed hours nobody uses (committed_hours − committed_hours_used, at the commitments'
  price) and the months after the horizon charged in full are `unused_commitment_usd`; the rest
  of a month's charge goes to the workloads on the option by the instance-hours each uses there;
- on-demand and Capacity Block lines are one per option and run of months: no two of a kind
  cover one month; a line buys the monthly hours of the months it covers; an on-demand line's
  `instances` is the most held beyond commitments, a block line's the instances booked in each
  of its months (as several blocks of at most capacity_block_max_instances when more).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from placement.engine import timeline
from placement.engine.plan import on_demand_at_once
from placement.engine.verify_common import CENT, differs
from placement.engine.verify_time import HOURS, Key, TimeCheck, number, rows, text, whole
from placement.inputs.models import Option

Expected = dict[str, tuple[float, float]]  # field → (value, tolerance)
Line = tuple[str, int, int, float, int]  # where, first period, periods, instance-hours, instances


class Purchases:
    """The purchase lines of a time-phased plan against the monthly rows they pay for."""

    def __init__(self, check: TimeCheck) -> None:
        self.check = check
        self.committed: dict[Key, int] = defaultdict(int)
        self.committed_usd: dict[Key, float] = defaultdict(float)  # in force in the month
        self.after_usd: dict[str, float] = defaultdict(float)  # charge-full-term months past the horizon
        self.spend: dict[str, float] = defaultdict(float)  # by option, the lines' usd
        self.lines: dict[tuple[str, str], list[Line]] = defaultdict(list)  # (instrument, option)
        self.rules: list[str] = []  # the line being read: rules it breaks (it is still counted)

    def problems(self) -> list[str]:
        out = self._lines()
        out += self._monthly()
        out += self._compute()
        return out + self._regions()

    def keys(self) -> list[Key]:
        """Every option-month with a row, a run or a purchase."""
        used = set(self.check.month) | set(self.check.train_instances) | set(self.committed)
        for (_, option_id), lines in self.lines.items():
            used |= {(option_id, q) for _, p, span, _, _ in lines for q in range(p, p + span)}
        return sorted(used)

    def idle(self, key: Key) -> float:
        """The month's committed charge for hours nobody uses (stated hours, checked in `_month`)."""
        paid = self.check.num(key, "committed_hours")
        if paid <= 0:
            return self.committed_usd.get(key, 0.0)
        return self.committed_usd.get(key, 0.0) * max(
            0.0, 1 - self.check.num(key, "committed_hours_used") / paid
        )

    def unused(self, option_id: str) -> float:
        """The option's unused commitment: idle committed hours and charged months past the horizon."""
        return sum(self.idle(k) for k in self.keys() if k[0] == option_id) + self.after_usd.get(
            option_id, 0.0
        )

    def carried(self, key: Key) -> float:
        """The month's charge the workloads there carry, per instance-hour they use."""
        used = self.check.used_hours(key)
        return (self.check.num(key, "usd") - self.idle(key)) / used if used > 0 else 0.0

    # ------------------------------------------------------------------ lines

    def _lines(self) -> list[str]:
        c, purchase = self.check, self.check.portfolio.purchase
        problems = []
        if c.data.get("beyond_horizon") != purchase.beyond_horizon:
            problems.append(
                f"beyond_horizon: the plan says {c.data.get('beyond_horizon')!r}, the workload file "
                f"{purchase.beyond_horizon!r}"
            )
        beyond = 0.0
        for i, row in enumerate(rows(c.data, "purchases")):
            instrument, count = row.get("instrument"), whole(row.get("instances"))
            key = c.key(row.get("option"), row.get("period"))
            where = f"purchases[{i}] ({instrument} {row.get('option')} from period {row.get('period')})"
            if key is None or count is None or count < 0:
                problems.append(f"{where}: no such option, period or instance count")
                continue
            option = c.options[key[0]]
            if instrument == "in-force":  # bought before the plan (a bill's RI): its cost is an input
                problems += self._in_force(where, option, key[1], count, row)
                continue
            price = option.price(instrument) if instrument in purchase.allow else None
            if price is None:
                problems.append(
                    f"{where}: {instrument!r} is not allowed by the workload file or not sold for {option.id}"
                )
                continue
            if row.get("region") != option.region:
                problems.append(f"{where}: region {row.get('region')!r}, the catalog gives {option.region!r}")
            self.rules = []
            expected = self._line(where, option, str(instrument), key[1], count, price, row)
            problems += [f"{where}: {rule}" for rule in self.rules]
            problems += [
                f"{where}: {name} {row.get(name)}, the terms give {value:,.6g}"
                for name, (value, tolerance) in expected.items()
                if differs(row.get(name), value, tolerance)
            ]
            self.spend[option.id] += number(row.get("usd"))
            beyond += number(row.get("usd_beyond_horizon"))
        if differs(c.data.get("committed_beyond_usd"), beyond, CENT * (len(rows(c.data, "purchases")) + 1)):
            problems.append(
                f"committed_beyond_usd: the plan says {c.data.get('committed_beyond_usd')}, its purchases "
                f"add up to {beyond:,.2f}"
            )
        return problems

    def _in_force(self, where: str, option: Option, p: int, count: int, row: dict[str, Any]) -> list[str]:
        """A commitment already bought: in force in its months, its stated cost spread over their
        hours (the bill's price, not the catalog's), so the months and the totals must agree."""
        c = self.check
        span = whole(row.get("periods"))
        if span is None or span < 1:
            return [f"{where}: periods {row.get('periods')!r} is not a number of months"]
        months = [q for q in range(p, p + span) if q in c.hours]
        hours = sum(c.hours[q] for q in months)
        usd = number(row.get("usd"))
        if hours <= 0 or count <= 0:
            return [f"{where}: in force in no month of the horizon"]
        rate = usd / (count * hours)
        for q in months:
            self.committed[(option.id, q)] += count
            self.committed_usd[(option.id, q)] += rate * count * c.hours[q]
        self.spend[option.id] += usd
        if differs(row.get("instance_hours"), count * hours, HOURS):
            return [
                f"{where}: instance_hours {row.get('instance_hours')}, "
                f"{count} instances give {count * hours:,.2f}"
            ]
        return []

    def _line(
        self,
        where: str,
        option: Option,
        instrument: str,
        p: int,
        count: int,
        price: float,
        row: dict[str, Any],
    ) -> Expected:
        """The figures a purchase line must show; notes what it buys in which months."""
        c = self.check
        if instrument in timeline.TERM_MONTHS:
            return self._commitment(option, instrument, p, count, price)
        bought, span = row.get("instance_hours"), whole(row.get("periods"))
        if isinstance(bought, bool) or not isinstance(bought, int | float):
            self.rules.append("instance_hours missing")
            return {}
        # instance_hours is written to 4 decimals: at $193/h (a Trn3 UltraServer) that rounding
        # alone moves price × hours by up to $0.0097, so a cent is not enough on its own
        expected = {"usd": (price * bought, CENT + price * 5e-5), "usd_beyond_horizon": (0.0, 0.0)}
        if span is None or span < 1 or p + span - 1 > len(c.periods):
            self.rules.append(f"periods {row.get('periods')!r} do not fit in the horizon")
            return expected
        hours = sum(c.hours[q] for q in range(p, p + span))
        if bought > count * hours + HOURS:
            self.rules.append(
                f"instance_hours {bought:,.2f}: more than {count} instances give in {hours:,.2f} h"
            )
        if instrument == "capacity-block":
            account = timeline.block_term(c.catalog, "capacity_block_account_instances")
            if count > account:
                self.rules.append(f"instances {count}: more than the account's {account} in Capacity Blocks")
        self.lines[(instrument, option.id)].append((where, p, span, bought, count))
        return expected

    def _commitment(self, option: Option, term: str, p: int, count: int, price: float) -> Expected:
        """A term paid for every hour of every month timeline.commitment covers, and the months
        past the horizon: in the total (charge-full-term) or reported beside it (horizon-only)."""
        c = self.check
        commitment = timeline.commitment(c.portfolio, term, p)
        if commitment is None:
            self.rules.append(f"a {term} term cannot cover the {c.periods[0].months:g}-month period")
            return {}
        full = c.portfolio.purchase.beyond_horizon == "charge-full-term"
        inside = sum(c.hours[q] for q in commitment.covers)
        after = price * count * commitment.months_beyond * c.catalog.settings.hours_per_month
        for q in commitment.covers:
            self.committed[(option.id, q)] += count
            self.committed_usd[(option.id, q)] += price * count * c.hours[q]
        self.after_usd[option.id] += after if full else 0.0
        return {
            "periods": (len(commitment.covers), 0.0),
            "instance_hours": (count * inside, HOURS),
            "usd": (price * count * inside + (after if full else 0.0), CENT),
            "usd_beyond_horizon": (0.0 if full else after, CENT),
        }

    # ------------------------------------------------------------------ monthly use

    def _monthly(self) -> list[str]:
        problems = []
        blocks: dict[int, int] = defaultdict(int)
        for key in self.keys():
            if key in self.check.month:
                problems += self._month(key)
            else:
                problems.append(f"{self.check.where(key)}: no row, but the plan runs or buys something there")
            blocks[key[1]] += int(self.check.num(key, "block_instances"))
        account = timeline.block_term(self.check.catalog, "capacity_block_account_instances")
        problems += [
            f"monthly {self.check.label[p]}: block_instances add up to {count}, "
            f"the account may hold {account} in Capacity Blocks"
            for p, count in sorted(blocks.items())
            if count > account
        ]
        for instrument, option_id in sorted(self.lines):
            problems += self._spans(instrument, option_id)
        for option_id in sorted({k[0] for k in self.keys()}):
            problems += self._uncovered(option_id)
        return problems

    def _month(self, key: Key) -> list[str]:
        """One option-month: what its runs and purchases say, capacity, cover, and its charge."""
        c, option, hours = self.check, self.check.options[key[0]], self.check.hours[key[1]]
        where, committed, used = c.where(key), self.committed.get(key, 0), c.used_hours(key)
        blocks = sum(
            n for _, p, span, _, n in self.lines.get(("capacity-block", key[0]), []) if p <= key[1] < p + span
        )
        expected: Expected = {
            "training_instances": (c.train_instances.get(key, 0), 0.0),
            "training_hours": (c.train_hours.get(key, 0.0), HOURS * 4),
            "committed_instances": (committed, 0.0),
            "committed_hours": (committed * hours, HOURS),
            "committed_hours_used": (min(committed * hours, used), HOURS * 2),
            "block_instances": (blocks, 0.0),
        }
        problems = [
            f"{where}: {name} {c.cell(key, name)}, "
            f"its {'runs' if name.startswith('training') else 'purchases'} give {value:,.6g}"
            for name, (value, tolerance) in expected.items()
            if differs(c.cell(key, name), value, tolerance)
        ]
        if "utilisation" in c.month[key]:
            share = None if committed * hours <= 0 else min(committed * hours, used) / (committed * hours)
            claimed = c.month[key]["utilisation"]
            if (share is None) != (claimed is None) or (share is not None and differs(claimed, share, 1e-4)):
                problems.append(f"{where}: utilisation {claimed}, the committed hours give {share}")
        capacity = timeline.capacity(c.portfolio, option)[key[1] - 1]
        if c.held(key) > capacity:
            problems.append(f"{where}: {c.held(key)} instances held, the capacity calendar gives {capacity}")
        on_demand, block = c.num(key, "on_demand_hours"), c.num(key, "block_hours")
        if used > c.num(key, "committed_hours") + on_demand + block + HOURS * 3:
            problems.append(
                f"{where}: {used:,.2f} instance-hours used, committed_hours + on_demand_hours + block_hours "
                f"cover {c.num(key, 'committed_hours') + on_demand + block:,.2f}"
            )
        if c.num(key, "block_instances") > c.held(key):
            problems.append(
                f"{where}: block_instances {c.cell(key, 'block_instances')}, more than the {c.held(key)} held"
            )
        charged = self.committed_usd.get(key, 0.0) + on_demand * option.usd_per_hour
        charged += block * (option.capacity_block_usd_per_hour or 0.0)
        if differs(c.cell(key, "usd"), charged, CENT * 4):
            problems.append(
                f"{where}: usd {c.cell(key, 'usd')}, its purchases charge {charged:,.2f} in the month"
            )
        return problems

    def _spans(self, instrument: str, option_id: str) -> list[str]:
        """One kind of line on one option: no two cover a month, each buys its months' hours."""
        c, field = self.check, "block_hours" if instrument == "capacity-block" else "on_demand_hours"
        problems = []
        covered: set[int] = set()
        for where, p, span, bought, count in self.lines[(instrument, option_id)]:
            keys = [(option_id, q) for q in range(p, p + span)]
            if covered & {q for _, q in keys}:
                problems.append(f"{where}: covers a month another {instrument} line of {option_id} covers")
            covered |= {q for _, q in keys}
            hours = sum(c.num(k, field) for k in keys)
            if differs(bought, hours, HOURS * (span + 1)):
                problems.append(
                    f"{where}: instance_hours {bought:,.2f}, the monthly {field} give {hours:,.2f}"
                )
            if instrument == "on-demand":
                in_force = {k: int(c.num(k, "committed_instances")) for k in keys}
                most = max(0, *(on_demand_at_once(c.held(k), c.train_bursting[k], in_force[k]) for k in keys))
                if count != most:
                    problems.append(
                        f"{where}: instances {count}, the most held on demand at once (runs not busy all "
                        f"month, and what commitments leave uncovered) is {most}"
                    )
        return problems

    def _uncovered(self, option_id: str) -> list[str]:
        """Hours bought on demand or in blocks in a month no line of that kind covers."""
        c, problems = self.check, []
        for instrument, field in (("on-demand", "on_demand_hours"), ("capacity-block", "block_hours")):
            lines = self.lines.get((instrument, option_id), [])
            covered = {q for _, p, span, _, _ in lines for q in range(p, p + span)}
            problems += [
                f"{c.where(k)}: {field} {c.num(k, field):,.2f} with no {instrument} purchase"
                for k in self.keys()
                if k[0] == option_id and c.num(k, field) > 0 and k[1] not in covered
            ]
        return problems

    # ------------------------------------------------------------------ money

    def _compute(self) -> list[str]:
        """compute_usd = the purchases = the months + the months past the horizon charged in full
        = the placements + unused_commitment_usd; each training placement carries its
        instance-hours' part of its option's charges (inference: verify_serving.py)."""
        c, keys = self.check, self.keys()
        tolerance = CENT * (len(rows(c.data, "purchases")) + len(keys) + 1)
        unused = sum(self.unused(o) for o in {k[0] for k in keys})
        problems = [
            f"compute_usd: the plan says {c.data.get('compute_usd')}, {label} add up to {value:,.2f}"
            for label, value in (
                ("the purchases' usd", sum(self.spend.values())),
                (
                    "the monthly usd and the months past the horizon",
                    sum(c.num(k, "usd") for k in keys) + sum(self.after_usd.values()),
                ),
            )
            if differs(c.data.get("compute_usd"), value, tolerance)
        ]
        if "unused_commitment_usd" in c.data and differs(c.data["unused_commitment_usd"], unused, tolerance):
            problems.append(
                f"unused_commitment_usd: the plan says {c.data['unused_commitment_usd']}, "
                "idle committed hours "
                f"and charged months past the horizon give {unused:,.2f}"
            )
        placed: dict[str, float] = defaultdict(float)
        count: dict[str, int] = defaultdict(int)  # each placement's compute_usd is rounded to cents
        for p in c.data["placements"]:
            placed[p["option"]] += p["compute_usd"]
            count[p["option"]] += 1
        for option_id in sorted({k[0] for k in keys} | set(placed)):
            carried = sum(c.num(k, "usd") - self.idle(k) for k in keys if k[0] == option_id)
            if differs(placed.get(option_id, 0.0), carried, tolerance + CENT * count[option_id]):
                problems.append(
                    f"placements on {option_id}: compute_usd adds up to {placed.get(option_id, 0.0):,.2f}, "
                    f"the option's monthly usd less idle commitments to {carried:,.2f}"
                )
        for p in c.data["placements"]:
            w = c.workloads.get(p["workload"])
            if w is not None and w.kind == "training" and p["option"] in c.options:
                part = sum(
                    self.carried(k) * c.run_hours.get((w.name, *k), 0.0) for k in keys if k[0] == p["option"]
                )
                if differs(p["compute_usd"], part, tolerance):
                    problems.append(
                        f"{w.name} on {p['option']}: compute_usd {p['compute_usd']:,.2f}, "
                        "its instance-hours' part "
                        f"of the option's charges is {part:,.2f}"
                    )
        return problems

    def _regions(self) -> list[str]:
        """Placements in their option's region; region_usd = the purchases there; max_region_usd."""
        c = self.check
        problems = []
        spend: dict[str, float] = defaultdict(float)
        used = {c.options[p["option"]].region for p in c.data["placements"] if p["option"] in c.options}
        for p in c.data["placements"]:
            option = c.options.get(p["option"])
            if option is not None and p.get("region") != option.region:
                problems.append(
                    f"{p['workload']} on {option.id}: region {p.get('region')!r}, "
                    f"the catalog gives {option.region!r}"
                )
        for option_id, usd in self.spend.items():
            spend[c.options[option_id].region] += usd
            used.add(c.options[option_id].region)
        table = {text(r.get("region")): r.get("compute_usd") for r in rows(c.data, "region_usd")}
        if set(table) != used or len(table) != len(rows(c.data, "region_usd")):
            problems.append(f"region_usd: not one row per region used ({', '.join(sorted(used))})")
        for region in sorted(used & {r for r in table if r is not None}):
            if differs(table[region], spend[region], CENT * (len(self.spend) + 1)):
                problems.append(
                    f"region_usd {region}: compute_usd {table[region]}, "
                    f"its purchases add up to {spend[region]:,.2f}"
                )
        for region, cap in sorted(c.portfolio.policy.max_region_usd.items()):
            if spend.get(region, 0.0) > cap + CENT:
                problems.append(
                    f"policy: {region} spends {spend[region]:,.2f}, above max_region_usd {cap:,.2f}"
                )
        return problems
