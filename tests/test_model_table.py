"""The shipped model-architecture table (catalogs/models.yaml) is complete and internally consistent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

TABLE = Path(__file__).resolve().parents[1] / "catalogs" / "models.yaml"

FIELDS = {
    "params_b": float,
    "active_params_b": float,
    "layers": int,
    "hidden_size": int,
    "attention_heads": int,
    "kv_heads": int,
    "head_dim": int,
    "vocab_size": int,
    "max_context": int,
    "intermediate_size": int,
    "moe_intermediate_size": (int, type(None)),
    "tied_embeddings": bool,
    "experts": (int, type(None)),
    "experts_per_token": (int, type(None)),
    "kv_lora_rank": (int, type(None)),
    "qk_rope_head_dim": (int, type(None)),
    "sliding_window": (int, type(None)),
    "source": str,
    "notes": str,
}

REQUIRED_MODELS = {
    "llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "llama-3-8b", "llama-3.1-70b", "llama-3.3-70b",
    "llama-3-70b", "llama-3.1-405b", "llama-2-7b", "llama-2-13b", "llama-2-70b", "mistral-7b",
    "mixtral-8x7b", "mixtral-8x22b", "qwen2.5-7b", "qwen2.5-14b", "qwen2.5-32b", "qwen2.5-72b",
    "qwen3-8b", "qwen3-32b", "qwen3-30b-a3b", "qwen3-235b-a22b", "gemma-2-9b", "gemma-2-27b",
    "phi-3-mini", "deepseek-v3", "gpt-oss-20b", "gpt-oss-120b",
}  # fmt: skip

# Models whose every layer is "attention + gated MLP (3 matrices)": the shape formula below applies.
# Left out, each with its own arithmetic in its notes: gpt-j-6b (plain 2-matrix MLP), deepseek-v3 (MLA,
# 3 dense + 58 MoE layers), gpt-oss (biases, sinks), llama-4 (alternating dense/MoE, shared expert).
SHAPE_CHECKED = {
    "llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "llama-3-8b", "llama-3.1-70b", "llama-3.3-70b",
    "llama-3-70b", "llama-3.1-405b", "llama-2-7b", "llama-2-13b", "llama-2-70b", "mistral-7b",
    "qwen2.5-7b", "qwen2.5-14b", "qwen2.5-32b", "qwen2.5-72b", "qwen3-8b", "qwen3-32b",
    "gemma-2-9b", "gemma-2-27b", "phi-3-mini", "mixtral-8x7b", "mixtral-8x22b", "qwen3-30b-a3b",
    "qwen3-235b-a22b",
}  # fmt: skip


def _table() -> dict[str, Any]:
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


TABLE_DATA = _table()
MODELS: dict[str, dict[str, Any]] = TABLE_DATA["models"]


def shape_params(m: dict[str, Any]) -> tuple[float, float]:
    """(total, active) parameters in billions from the shape: embeddings + layers · (attention + MLP).

    Attention = Q and O (hidden · heads · head_dim each) + K and V (hidden · kv_heads · head_dim each).
    Gated MLP = 3 · hidden · width; MoE = experts · that (+ router), of which experts_per_token are active.
    Norms, router and QKV biases are a rounding error (< 0.1%) and are left out.
    """
    h, hd = m["hidden_size"], m["head_dim"]
    attention = 2 * h * m["attention_heads"] * hd + 2 * h * m["kv_heads"] * hd
    embeddings = m["vocab_size"] * h * (1 if m["tied_embeddings"] else 2)
    if m["experts"]:
        expert = 3 * h * m["moe_intermediate_size"]
        mlp_total, mlp_active = m["experts"] * expert, m["experts_per_token"] * expert
    else:
        mlp_total = mlp_active = 3 * h * m["intermediate_size"]
    total = embeddings + m["layers"] * (attention + mlp_total)
    active = embeddings + m["layers"] * (attention + mlp_active)
    return total / 1e9, active / 1e9


def test_covers_the_models_buyers_name() -> None:
    missing = REQUIRED_MODELS - set(MODELS)
    assert not missing, f"missing from catalogs/models.yaml: {sorted(missing)}"


def test_every_source_is_complete_and_used() -> None:
    sources = TABLE_DATA["sources"]
    for key, src in sources.items():
        assert set(src) == {"title", "address", "version", "date_read"}, key
        assert src["address"].startswith("https://github.com/"), key
        assert re.fullmatch(r"[0-9a-f]{40}", src["version"]), f"{key}: version must be a full commit"
        assert src["version"] in src["address"], f"{key}: the address must pin the commit it cites"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(src["date_read"])), key
    named = {m["source"] for m in MODELS.values()}
    assert named <= set(sources), f"unknown source keys: {sorted(named - set(sources))}"
    unused = {k for k in sources if k not in named and not any(k in m["notes"] for m in MODELS.values())}
    assert not unused, f"sources nobody cites: {sorted(unused)}"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fields_and_types(name: str) -> None:
    m = MODELS[name]
    assert set(m) == set(FIELDS), f"{name}: fields differ: {sorted(set(m) ^ set(FIELDS))}"
    for field, kind in FIELDS.items():
        value = m[field]
        if kind is float:
            assert isinstance(value, int | float) and not isinstance(value, bool) and value > 0, (name, field)
        else:
            assert isinstance(value, kind), (name, field, value)
    for field in ("layers", "hidden_size", "attention_heads", "kv_heads", "head_dim", "vocab_size"):
        assert m[field] > 0, (name, field)
    assert m["max_context"] >= 2048, name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_heads_are_consistent(name: str) -> None:
    m = MODELS[name]
    heads, kv, hd, hidden = m["attention_heads"], m["kv_heads"], m["head_dim"], m["hidden_size"]
    assert heads % kv == 0, f"{name}: kv_heads {kv} does not divide attention_heads {heads}"
    if heads * hd != hidden:
        # Gemma 2, Qwen3-32B/MoE, gpt-oss, DeepSeek-V3: the config sets head_dim explicitly;
        # the notes must say so, with the product.
        explained = f"{heads} x {hd}" in m["notes"]
        assert explained, f"{name}: {heads}·{hd} != {hidden} and the notes do not explain it"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_moe_and_mla_fields(name: str) -> None:
    m = MODELS[name]
    assert m["active_params_b"] <= m["params_b"], name
    if m["experts"] is None:
        assert m["experts_per_token"] is None and m["moe_intermediate_size"] is None, name
        assert m["active_params_b"] == m["params_b"], f"{name}: a dense model has every parameter active"
    else:
        assert m["experts_per_token"] is not None and 1 <= m["experts_per_token"] < m["experts"], name
        assert m["moe_intermediate_size"] is not None, name
        assert m["active_params_b"] < m["params_b"], name
    assert (m["kv_lora_rank"] is None) == (m["qk_rope_head_dim"] is None), name


def test_deepseek_v3_is_mla() -> None:
    m = MODELS["deepseek-v3"]
    # KV cache per token per layer is the latent plus the shared RoPE key: 512 + 64 = 576 values,
    # against 2 · 128 heads · 128 = 32,768 if it were plain multi-head attention.
    assert (m["kv_lora_rank"], m["qk_rope_head_dim"]) == (512, 64)
    assert (m["experts"], m["experts_per_token"], m["moe_intermediate_size"]) == (256, 8, 2048)
    assert (m["params_b"], m["active_params_b"]) == (671.0, 37.0)


def test_kv_cache_bytes_of_llama_3_1_70b_by_hand() -> None:
    m = MODELS["llama-3.1-70b"]
    # BF16 KV cache per token: 2 (K and V) · 80 layers · 8 kv heads · 128 dims · 2 bytes = 327,680 bytes,
    # so 1 GiB holds 3,276 tokens (2**30 / 327,680 = 3,276.8).
    per_token = 2 * m["layers"] * m["kv_heads"] * m["head_dim"] * 2
    assert per_token == 327_680
    assert 2**30 // per_token == 3_276


def test_params_of_llama_3_1_70b_by_hand() -> None:
    # embeddings: 2 · 128,256 · 8,192                        =  2,101,346,304
    # attention per layer: 2 · 8,192 · 64 · 128 (Q, O)
    #                    + 2 · 8,192 ·  8 · 128 (K, V)       =    150,994,944
    # MLP per layer: 3 · 8,192 · 28,672                      =    704,643,072
    # 80 layers · (150,994,944 + 704,643,072)                = 68,451,041,280
    # total                                                  = 70,552,387,584  ->  70.55 B
    total, active = shape_params(MODELS["llama-3.1-70b"])
    assert round(total * 1e9) == 70_552_387_584
    assert total == active
    assert MODELS["llama-3.1-70b"]["params_b"] == pytest.approx(70.55, abs=0.005)


@pytest.mark.parametrize("name", sorted(SHAPE_CHECKED))
def test_params_follow_from_the_shape(name: str) -> None:
    m = MODELS[name]
    total, active = shape_params(m)
    assert total == pytest.approx(m["params_b"], rel=0.02), f"{name}: shape gives {total:.3f} B"
    assert active == pytest.approx(m["active_params_b"], rel=0.02), f"{name}: {active:.3f} B active"


def test_shape_check_covers_every_gated_model() -> None:
    # Every model is either checked by the shape formula or explains its own arithmetic in its notes.
    for name, m in MODELS.items():
        if name not in SHAPE_CHECKED:
            assert re.search(r"arithmetic|computed from the config|formula", m["notes"]), name
    assert SHAPE_CHECKED <= set(MODELS)


def test_table_ships_in_the_wheel() -> None:
    pyproject = (TABLE.parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"catalogs" = "placement/catalogs"' in pyproject
