"""How a time-phased plan buys what it holds, re-derived from the catalog's prices and terms:
every purchase line, what is in force and paid in each option-period, cover and Capacity Block
rules, the placements' and regions' shares of the spend, and the totals.

Conventions checked where the model leaves a choice (README "placement verify"):
- a commitment's charge for the months past the horizon under charge-full-term may sit in any
  period the commitment covers (its option's months still add up to its purchases);
- an option-period's charge with no hours used on it may go to any workload on the option;
- on-demand lines of an option do not overlap; a line buys the monthly on-demand hours of the
  periods it covers, and its `instances` is the most held beyond commitments and blocks there;
- `committed_hours_used` is min(committed hours, hours used): commitments carry work first.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from placement.engine import timeline
from placement.engine.verify_common import CENT, differs
from placement.engine.verify_time import HOURS, Key, TimeCheck, number, rows, text, whole
from placement.inputs.models import Option

Expected = dict[str, tuple[float, float]]  # field → (value, tolerance)


class Purchases:
    """The purchase lines of a time-phased plan against the monthly rows they pay for."""

    def __init__(self, check: TimeCheck) -> None:
        self.check = check
        self.committed: dict[Key, int] = defaultdict(int)
        self.block_instances: dict[Key, int] = defaultdict(int)
        self.block_hours: dict[Key, float] = defaultdict(float)
        self.charged: dict[Key, float] = defaultdict(float)  # inside the horizon, by period
        self.beyond: dict[Key, float] = defaultdict(float)  # charge-full-term months past it
        self.spend: dict[str, float] = defaultdict(float)  # by option, the lines' usd
        self.on_demand: dict[str, list[tuple[str, int, int, float, int]]] = defaultdict(list)
        self.rules: list[str] = []  # the line being read: rules it breaks (it is still counted)

    def problems(self) -> list[str]:
        out = self._lines()
        out += self._monthly()
        out += self._compute()
        return out + self._regions()

    def keys(self) -> list[Key]:
        """Every option-period with a row, a run or a purchase."""
        used = set(self.check.month) | set(self.check.train_instances) | set(self.committed)
        used |= set(self.block_instances) | {
            (o, line[1]) for o, lines in self.on_demand.items() for line in lines
        }
        return sorted(used)

    def orphan(self, option_id: str) -> float:
        """Charges on the option in periods where nothing uses it (any workload on it may carry them)."""
        c = self.check
        return sum(c.num(k, "usd") for k in self.keys() if k[0] == option_id and c.used_hours(k) <= 0)

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
        """The figures a purchase line must show; notes what it buys in which periods."""
        c = self.check
        if instrument in timeline.TERM_MONTHS:
            return self._commitment(option, instrument, p, count, price)
        bought = row.get("instance_hours")
        if isinstance(bought, bool) or not isinstance(bought, int | float):
            self.rules.append("instance_hours missing")
            return {}
        if instrument == "capacity-block":
            return self._block(option, p, count, price, bought)
        span = whole(row.get("periods"))
        if span is None or span < 1 or p + span - 1 > len(c.periods):
            self.rules.append(f"periods {row.get('periods')!r} do not fit in the horizon")
            return {"usd": (price * bought, CENT), "usd_beyond_horizon": (0.0, 0.0)}
        self.on_demand[option.id].append((where, p, span, bought, count))
        return {"usd": (price * bought, CENT), "usd_beyond_horizon": (0.0, 0.0)}

    def _commitment(self, option: Option, term: str, p: int, count: int, price: float) -> Expected:
        """A term paid for every hour of every period timeline.commitment covers, and the months
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
            self.charged[(option.id, q)] += price * count * c.hours[q]
            self.beyond[(option.id, q)] += after if full else 0.0
        return {
            "periods": (len(commitment.covers), 0.0),
            "instance_hours": (count * inside, HOURS),
            "usd": (price * count * inside + (after if full else 0.0), CENT),
            "usd_beyond_horizon": (0.0 if full else after, CENT),
        }

    def _block(self, option: Option, p: int, count: int, price: float, bought: float) -> Expected:
        """A Capacity Block: in one period, at most capacity_block_max_instances, booked hours no
        more than its instances for the period (or the longest block) give, at the block rate."""
        c = self.check
        length = min(c.hours[p], 24.0 * timeline.block_term(c.catalog, "capacity_block_max_days"))
        most = timeline.block_term(c.catalog, "capacity_block_max_instances")
        if count > most:
            self.rules.append(f"instances {count}: a Capacity Block holds at most {most}")
        if bought > count * length + HOURS:
            self.rules.append(
                f"instance_hours {bought:,.2f}: {count} instances for {length:,.2f} h book no more"
            )
        self.block_instances[(option.id, p)] += count
        self.block_hours[(option.id, p)] += bought
        self.charged[(option.id, p)] += price * bought
        return {"periods": (1, 0.0), "usd": (price * bought, CENT), "usd_beyond_horizon": (0.0, 0.0)}

    # ------------------------------------------------------------------ monthly use

    def _monthly(self) -> list[str]:
        problems = []
        blocks: dict[int, int] = defaultdict(int)
        for key in self.keys():
            problems += (
                self._month(key)
                if key in self.check.month
                else [f"{self.check.where(key)}: no row, but the plan runs or buys something there"]
            )
            blocks[key[1]] += int(self.check.num(key, "block_instances"))
        account = timeline.block_term(self.check.catalog, "capacity_block_account_instances")
        problems += [
            f"monthly {self.check.label[p]}: block_instances add up to {count}, "
            f"the account may hold {account}"
            for p, count in sorted(blocks.items())
            if count > account
        ]
        for option_id in sorted({k[0] for k in self.keys()}):
            problems += self._on_demand(option_id)
        return problems

    def _month(self, key: Key) -> list[str]:
        """One option-period: what its runs and purchases say, capacity, cover, and its charge."""
        c, option, hours = self.check, self.check.options[key[0]], self.check.hours[key[1]]
        where, committed, used = c.where(key), self.committed.get(key, 0), c.used_hours(key)
        expected: Expected = {
            "training_instances": (c.train_instances.get(key, 0), 0.0),
            "training_hours": (c.train_hours.get(key, 0.0), HOURS * 4),
            "committed_instances": (committed, 0.0),
            "committed_hours": (committed * hours, HOURS),
            "committed_hours_used": (min(committed * hours, used), HOURS * 2),
            "block_instances": (self.block_instances.get(key, 0), 0.0),
            "block_hours": (self.block_hours.get(key, 0.0), HOURS * 4),
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
        if on_demand > 0 and option.price("on-demand") is None:
            problems.append(
                f"{where}: on_demand_hours {on_demand:,.2f}, but {option.id} is not sold on demand"
            )
        charged = self.charged.get(key, 0.0) + on_demand * option.usd_per_hour
        usd = c.num(key, "usd")
        if (
            differs(c.cell(key, "usd"), charged, CENT * 4)
            and not charged <= usd <= charged + self.beyond.get(key, 0.0) + CENT
        ):
            problems.append(
                f"{where}: usd {c.cell(key, 'usd')}, its purchases charge {charged:,.2f} in the period"
            )
        return problems

    def _on_demand(self, option_id: str) -> list[str]:
        """On-demand lines of an option: no two cover one period, each buys the on-demand hours of
        the periods it covers, and its instances are the most held beyond commitments and blocks."""
        c = self.check
        problems = []
        covered: set[int] = set()
        for where, p, span, bought, count in self.on_demand.get(option_id, []):
            keys = [(option_id, q) for q in range(p, p + span)]
            if covered & {q for _, q in keys}:
                problems.append(f"{where}: covers a period another on-demand line of {option_id} covers")
            covered |= {q for _, q in keys}
            hours = sum(c.num(k, "on_demand_hours") for k in keys)
            if differs(bought, hours, HOURS * (span + 1)):
                problems.append(
                    f"{where}: instance_hours {bought:,.2f}, the monthly on_demand_hours give {hours:,.2f}"
                )
            most = max(
                0,
                *(
                    c.held(k) - int(c.num(k, "committed_instances") + c.num(k, "block_instances"))
                    for k in keys
                ),
            )
            if count != most:
                problems.append(f"{where}: instances {count}, the most held on demand is {most}")
        return problems + [
            f"{c.where(k)}: on_demand_hours {c.num(k, 'on_demand_hours'):,.2f} with no on-demand purchase"
            for k in self.keys()
            if k[0] == option_id and c.num(k, "on_demand_hours") > 0 and k[1] not in covered
        ]

    # ------------------------------------------------------------------ money

    def _compute(self) -> list[str]:
        """compute_usd = the purchases = the monthly charges = the placements; each training
        placement carries its instance-hours' part of its option's charges."""
        c, keys = self.check, self.keys()
        tolerance = CENT * (len(rows(c.data, "purchases")) + len(keys) + 1)
        problems = [
            f"compute_usd: the plan says {c.data.get('compute_usd')}, {label} add up to {value:,.2f}"
            for label, value in (
                ("the purchases' usd", sum(self.spend.values())),
                ("the monthly usd", sum(c.num(k, "usd") for k in keys)),
            )
            if differs(c.data.get("compute_usd"), value, tolerance)
        ]
        placed: dict[str, float] = defaultdict(float)
        for p in c.data["placements"]:
            placed[p["option"]] += p["compute_usd"]
        for option_id in sorted({k[0] for k in keys} | set(placed)):
            monthly = sum(c.num(k, "usd") for k in keys if k[0] == option_id)
            bought = self.spend.get(option_id, 0.0)
            if differs(monthly, bought, tolerance):
                problems.append(
                    f"monthly {option_id}: usd adds up to {monthly:,.2f}, its purchases to {bought:,.2f}"
                )
            if differs(placed.get(option_id, 0.0), monthly, tolerance):
                problems.append(
                    f"placements on {option_id}: compute_usd adds up to {placed.get(option_id, 0.0):,.2f}, "
                    "the "
                    f"option's monthly usd to {monthly:,.2f}"
                )
        for p in c.data["placements"]:
            w = c.workloads.get(p["workload"])
            if w is not None and w.kind == "training" and p["option"] in c.options:
                problems += self._training_part(p, [k for k in keys if k[0] == p["option"]], tolerance)
        return problems

    def _training_part(self, p: dict[str, Any], keys: list[Key], tolerance: float) -> list[str]:
        c = self.check
        low = sum(
            c.num(k, "usd") * c.run_hours.get((p["workload"], *k), 0.0) / c.used_hours(k)
            for k in keys
            if c.used_hours(k) > 0
        )
        high = low + self.orphan(p["option"])
        if low - tolerance <= p["compute_usd"] <= high + tolerance:
            return []
        unused = f" (up to {high:,.2f} with the charges of unused periods)" if high > low else ""
        return [
            f"{p['workload']} on {p['option']}: compute_usd {p['compute_usd']:,.2f}, "
            "its instance-hours' part "
            f"of the option's charges is {low:,.2f}{unused}"
        ]

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
        table = {text(r.get("region")): r.get("usd") for r in rows(c.data, "region_usd")}
        if set(table) != used or len(table) != len(rows(c.data, "region_usd")):
            problems.append(f"region_usd: not one row per region used ({', '.join(sorted(used))})")
        for region in sorted(used & {r for r in table if r is not None}):
            if differs(table[region], spend[region], CENT * (len(self.spend) + 1)):
                problems.append(
                    f"region_usd {region}: {table[region]}, its purchases add up to {spend[region]:,.2f}"
                )
        for region, cap in sorted(c.portfolio.policy.max_region_usd.items()):
            if spend.get(region, 0.0) > cap + CENT:
                problems.append(
                    f"policy: {region} spends {spend[region]:,.2f}, above max_region_usd {cap:,.2f}"
                )
        return problems
