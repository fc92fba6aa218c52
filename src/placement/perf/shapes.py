"""A model's shape: what the KV cache and the attention FLOPs need, from the workload's `model:`.

A workload names a published architecture (`model: {name: llama-3.1-70b}`, from the shipped table
`catalogs/models.yaml`), gives the shape itself, or gives `params_b` alone. In the last case the
shape (layers, hidden size, KV heads, head dim) is that of the published architecture nearest in
size (by log parameters, dense with dense and mixture-of-experts with mixture-of-experts) and is
marked as an estimate.

    KV bytes per token       = 2 · layers · kv_heads · head_dim · KV bytes   (keys and values)
                               (multi-head latent attention: layers · (kv_lora_rank + rope dim) · KV bytes)
    attention FLOPs, decode  = 4 · layers · hidden · context per generated token (QKᵀ and AV)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from placement.inputs.models import Architecture, ModelSize


@dataclass(frozen=True)
class Shape:
    params: float  # total parameters
    active: float  # active per token (mixture of experts), else = params
    layers: int
    hidden_size: int
    kv_heads: int
    head_dim: int
    kv_latent: int  # multi-head latent attention: cached width per layer, else 0
    basis: str  # where the shape comes from, in words
    estimated: bool  # the shape (not the size) is borrowed from another architecture

    def kv_bytes_per_token(self, kv_bytes: float) -> float:
        if self.kv_latent:
            return self.layers * self.kv_latent * kv_bytes
        return 2 * self.layers * self.kv_heads * self.head_dim * kv_bytes


def from_architecture(
    name: str, a: Architecture, params: float | None = None, active: float | None = None
) -> Shape:
    latent = (a.kv_lora_rank or 0) + (a.qk_rope_head_dim or 0)
    return Shape(
        params=params if params is not None else a.params_b * 1e9,
        active=active if active is not None else (a.active_params_b or a.params_b) * 1e9,
        layers=a.layers,
        hidden_size=a.hidden_size,
        kv_heads=a.kv_heads,
        head_dim=a.head_dim,
        kv_latent=latent,
        basis=name,
        estimated=False,
    )


def nearest(table: Mapping[str, Architecture], params_b: float, moe: bool) -> str:
    """The published architecture nearest in size (log distance); ties by name. The table is never
    empty: the loader refuses an empty one."""
    same = [(n, a) for n, a in sorted(table.items()) if a.is_moe == moe]
    pool = same or sorted(table.items())
    return min(pool, key=lambda na: (abs(math.log(na[1].params_b / params_b)), na[0]))[0]


def resolve(model: ModelSize, table: Mapping[str, Architecture]) -> Shape:
    """The shape the performance model uses for a workload's `model:` block."""
    if model.name is not None:
        return from_architecture(model.name, table[model.name])
    params, active = model.total_params, model.active_params
    if model.layers is not None:
        assert model.hidden_size and model.kv_heads and model.head_dim  # ModelSize's validator
        return Shape(
            params, active, model.layers, model.hidden_size, model.kv_heads, model.head_dim, 0, "given", False
        )
    near = nearest(table, params / 1e9, active < params)
    shape = from_architecture(near, table[near], params, active)
    return Shape(
        shape.params,
        shape.active,
        shape.layers,
        shape.hidden_size,
        shape.kv_heads,
        shape.head_dim,
        shape.kv_latent,
        f"shape of {near} (nearest published architecture by size)",
        True,
    )
