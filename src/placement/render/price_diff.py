"""The diff `placement catalog import-prices` prints, in the style of `infracost diff`:
`~` a price that changed, `+` a price the catalog did not have, `=` unchanged (counted, not listed),
`!` an option or price the files do not cover (kept as it was). Monthly figures per instance at the
catalog's hours per month."""

from __future__ import annotations

from placement.inputs.price_update import PriceUpdate

LABELS = {
    "usd_per_hour": "on-demand",
    "one_year_usd_per_hour": "1-year commitment",
    "three_year_usd_per_hour": "3-year commitment",
    "capacity_block_usd_per_hour": "Capacity Block",
}


def _money(x: float) -> str:
    return f"${x:,.4f}/h"


def render_price_diff(update: PriceUpdate) -> str:
    hours = update.hours_per_month
    lines = [f"Price import into catalog {update.catalog} (region {update.region})", ""]
    for file in update.files:
        lines.append(f"  read {file.path}: {file.offer_code or file.kind}, published {file.publication_date}")
    lines.append("")
    changed = added = same = 0
    options: dict[str, list[str]] = {}
    for change in update.changes:
        label = LABELS[change.field]
        if change.old is None:
            added += 1
            monthly = change.new * hours
            options.setdefault(change.option, []).append(
                f"    + {label:<18} {_money(change.new):>16}   (${monthly:,.0f}/month per instance)"
            )
        elif abs(change.new - change.old) > 5e-7:
            changed += 1
            delta = (change.new - change.old) * hours
            percent = (change.new / change.old - 1) * 100
            sign = "+" if delta >= 0 else "-"
            options.setdefault(change.option, []).append(
                f"    ~ {label:<18} {_money(change.old):>16} → {_money(change.new):<16} "
                f"({percent:+.1f}%, {sign}${abs(delta):,.0f}/month per instance)"
            )
        else:
            same += 1
    for option, rows in options.items():
        lines.append(f"~ {option}")
        lines.extend(rows)
    kept = [f"! {o}: not priced for {update.region} in these files; kept unchanged" for o in update.missing]
    kept += [f"! {o}: {LABELS[f]} price not in these files; kept unchanged" for o, f in update.partial]
    if kept:
        lines.append("")
        lines.extend(kept)
    lines += [
        "",
        f"{changed} price(s) changed, {added} added, {same} unchanged; "
        f"{len(update.missing)} option(s) not in the files, kept (none removed).",
    ]
    return "\n".join(lines) + "\n"
