"""The shape of a saved plan (`placement plan --format json`) as far as `placement verify` reads it.

Strict: a string where a number belongs, a boolean for a count, NaN or Infinity, an empty capacity
row or a family without its USD are located mistakes, not internal errors. Fields the verifier does
not read are allowed and ignored (the plan carries much more for people).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Count = Annotated[int, Field(strict=True, ge=0)]
Text = Annotated[str, Field(strict=True, max_length=10_000)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class SavedPlacement(_Part):
    workload: Text
    option: Text
    family: Text
    share: Annotated[Number, Field(ge=0, le=1)]
    instances: Count
    compute_usd: Number


class SavedMigration(_Part):
    codebase: Text
    family: Text
    usd: Number


class SavedCapacity(_Part):
    option: Text
    used: Count


class SavedFamily(_Part):
    compute_usd: Number


class SavedPlan(_Part):
    schema_version: Text
    catalog: Text
    total_usd: Number
    compute_usd: Number
    migration_usd: Number
    placements: list[SavedPlacement]
    migrations: list[SavedMigration]
    capacity: list[SavedCapacity]
    families: list[SavedFamily] = []
