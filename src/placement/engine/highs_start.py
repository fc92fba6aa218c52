"""PuLP's in-process HiGHS handed a starting point: the optimizer's first plan (optimizer.py) and
the serving check's candidate split (verify_serving.py).  Only the hand-over of values; neither
model is shared.

The model goes to HiGHS in a few array calls (`buildSolverModel`) instead of PuLP's one call per
column, per integer and per row: the same columns and rows in the same order, so HiGHS solves
the same model.  1,000 diverse workloads × 12 months (234,540 columns, 266,713 rows): see
benchmarks/README.md.
"""

from __future__ import annotations

import highspy
import numpy as np
import pulp


class StartedHiGHS(pulp.HiGHS):  # type: ignore[misc]
    """HiGHS with `start` (values by variable name; the rest 0) as its first incumbent.  A start
    whose integers are right but whose continuous values are off by a little is completed by HiGHS
    itself (an LP with the integers fixed) before the search."""

    def __init__(self, start: dict[str, float] | None, **options: object) -> None:
        super().__init__(**options)
        self.start = start
        self.columns: list[pulp.LpVariable] = []  # the model's variables in column order (buildSolverModel)

    def buildSolverModel(self, lp: pulp.LpProblem) -> None:
        """PuLP's model into `lp.solverModel`: every variable a column (`var.index`, in
        `lp.variables()` order) and every constraint a row (`constraint.index`, in order)."""
        inf = highspy.kHighsInf
        highs = lp.solverModel
        variables = self.columns = lp.variables()  # (PuLP sorts them on each call: 0.5 s at 224,000)
        lower = np.array([-inf if v.lowBound is None else v.lowBound for v in variables], dtype=np.float64)
        upper = np.array([inf if v.upBound is None else v.upBound for v in variables], dtype=np.float64)
        for i, v in enumerate(variables):
            v.index = i
        sign = -1.0 if lp.sense == pulp.LpMaximize else 1.0
        cost = np.zeros(len(variables))
        for v, c in lp.objective.items():
            cost[v.index] = sign * c
        highs.addVars(len(variables), lower, upper)
        highs.changeColsCost(len(variables), np.arange(len(variables), dtype=np.int32), cost)
        if self.mip:
            integer = np.array([v.index for v in variables if v.cat == pulp.LpInteger], dtype=np.int32)
            kinds = np.full(len(integer), int(highspy.HighsVarType.kInteger), dtype=np.uint8)
            highs.changeColsIntegrality(len(integer), integer, kinds)
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        row_lower: list[float] = []
        row_upper: list[float] = []
        for i, constraint in enumerate(lp.constraints()):
            constraint.index = i
            starts.append(len(index))
            for v, c in constraint.items():
                if c != 0:
                    index.append(v.index)
                    value.append(c)
            low, high = constraint.getLb(), constraint.getUb()
            row_lower.append(-inf if low is None else low)
            row_upper.append(inf if high is None else high)
        highs.addRows(
            len(starts),
            np.array(row_lower, dtype=np.float64),
            np.array(row_upper, dtype=np.float64),
            len(index),
            np.array(starts, dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(value, dtype=np.float64),
        )

    def hand_start(self, lp: pulp.LpProblem) -> None:
        if self.start is None:
            return
        given = highspy.HighsSolution()
        given.col_value = [self.start.get(v.name, 0.0) for v in self.columns]
        given.value_valid = True
        lp.solverModel.setSolution(given)

    def callSolver(self, lp: pulp.LpProblem) -> None:
        self.hand_start(lp)
        lp.solverModel.run()
