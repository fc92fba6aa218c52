"""Benchmark `placement risk` and the risk-aware plan (issue 11).

    python benchmarks/risk.py [--example examples/enterprise.yaml] [--samples 200] [--workers 1 2]
                              [--cluster] [--scenarios 50] [--evaluate 50] [--measure expected]

For each runner (a local pool of each --workers count; with --cluster, also a real local Dask
cluster of 2 single-threaded worker processes): the wall time of `assess` over --samples futures,
the speedup against the first runner, the cluster's overhead per task against the pool of the same
size, and whether every runner gave the same report (they must: futures are seeded per index).
Then, with --scenarios > 0, the risk-aware plan (`hedge`) on the first runner with the most workers:
its time, SAA objective, proven gap, value of the stochastic solution and statistical gap bound.
Prints the figures the closing note and README quote (the cost distribution, drivers, stability).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from placement.analyses.fanout import DaskCluster, LocalPool, Runner
from placement.analyses.hedge import hedge
from placement.analyses.risk import RiskReport, assess
from placement.engine.optimizer import SolveSettings
from placement.engine.planner import make_plan
from placement.inputs.loading import load_catalog, load_portfolio


def _usd(x: float | None) -> str:
    return "n/a" if x is None else f"${x:,.0f}"


def _report(r: RiskReport) -> None:
    assert r.cost is not None
    print(f"plan at likely inputs {_usd(r.plan_usd)}; baseline {_usd(r.baseline_usd)}")
    for label, s in (("plan", r.cost), ("baseline", r.baseline), ("saving", r.saving)):
        if s is not None:
            print(
                f"  {label:9} mean {_usd(s.mean)}  P10 {_usd(s.p10)}  P50 {_usd(s.p50)}  "
                f"P90 {_usd(s.p90)}  CVaR90 {_usd(s.cvar90)}"
            )
    if r.saving_pct is not None:
        print(
            f"  saving % P10 {r.saving_pct.p10:.1%}  P50 {r.saving_pct.p50:.1%}  P90 {r.saving_pct.p90:.1%}"
        )
    beats, r2 = f"{r.p_beats_baseline:.1%}", f"{r.linear_share:.2f}"
    print(f"  P(beats baseline) {beats}; unserved {r.unserved}; joint R² {r2}")
    if r.regret is not None:
        print(f"  regret mean {_usd(r.regret.mean)}  P90 {_usd(r.regret.p90)}")
    for d in r.drivers[:10]:
        print(f"  driver {d.name}: {d.variance_share:.1%} of variance, swing {_usd(d.swing_usd)}")
    for s in r.stability:
        same = f"{s.same_option:.0%} (family {s.same_family:.0%})"
        print(f"  stability {s.workload}: {s.planned} {same} alt {s.alternative}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="examples/enterprise.yaml")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--cluster", action="store_true", help="also a local Dask cluster of 2 workers")
    parser.add_argument("--scenarios", type=int, default=0, help="risk-aware plan over this many futures")
    parser.add_argument("--evaluate", type=int, default=None)
    parser.add_argument("--measure", default="expected")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()

    catalog = load_catalog()
    portfolio = load_portfolio(Path(args.example), catalog)
    settings = SolveSettings(1e-4, args.time_limit)
    plan = make_plan(portfolio, catalog, args.example, settings)
    runners: list[tuple[str, Runner]] = [(f"pool {n}", LocalPool(n)) for n in args.workers]
    timings: dict[str, float] = {}
    reports: dict[str, RiskReport] = {}
    local = None
    if args.cluster:
        import distributed

        local = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        runners.append(("dask 2", DaskCluster(local.scheduler_address)))
    for label, runner in runners:
        if args.samples <= 0:
            break
        start = time.perf_counter()
        reports[label] = assess(plan, portfolio, catalog, args.samples, args.seed, settings, runner)
        timings[label] = time.perf_counter() - start
        print(f"risk {args.samples} samples, {label}: {timings[label]:.1f} s", flush=True)
    if reports:
        first = next(iter(timings))
        for label, seconds in timings.items():
            print(f"  {label}: speedup {timings[first] / seconds:.2f}× against {first}")
        if "dask 2" in timings and "pool 2" in timings:
            per_task = (timings["dask 2"] - timings["pool 2"]) / args.samples
            print(f"  dask overhead per task against the pool of 2: {per_task * 1000:.0f} ms")
        same = len({repr(r) for r in reports.values()}) == 1
        print(f"  identical reports across runners: {same}")
        _report(next(iter(reports.values())))
    if args.scenarios > 0:
        runner = LocalPool(max(args.workers))
        start = time.perf_counter()
        h = hedge(
            plan,
            portfolio,
            catalog,
            args.scenarios,
            args.seed,
            settings,
            args.measure,
            0.9,
            args.evaluate,
            runner,
        )
        took = time.perf_counter() - start
        print(f"risk-aware plan, {args.scenarios} scenarios ({args.measure}): {took:.1f} s")
        print(f"  deterministic {h.deterministic.first.commits} ports {h.deterministic.first.ports}")
        print(f"  chosen ({h.chosen.label}) {h.chosen.first.commits} ports {h.chosen.first.ports}")
        for c in h.candidates:
            print(f"  candidate {c.label}: {_usd(c.objective)}")
        print(
            f"  SAA objective {_usd(h.chosen.objective)}, lower bound {_usd(h.lower_bound)}, gap {h.gap:.2%}"
        )
        print(f"  out of sample ({h.evaluation}): det {h.deterministic_out}, chosen {h.chosen_out}")
        print(f"  unserved out of sample {h.unserved_out}; VSS {h.vss}; gap bound {_usd(h.gap_bound)}")
    if local is not None:
        local.close()


if __name__ == "__main__":
    main()
