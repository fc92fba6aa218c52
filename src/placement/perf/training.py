"""Training: FLOPs per token and the time a run takes on one instance.

    FLOPs per token  = 6 · N_active + 12 · layers · hidden · sequence_length
                       (forward and backward of the weights, plus attention scores and values;
                       the convention of PaLM, Chowdhery et al. 2022, appendix B)
    instance FLOP/s  = chips · peak · training_mfu
    instance-hours   = tokens · FLOPs per token / (instance FLOP/s · 3600)

`training_mfu` is fitted per hardware group from published runs with the same FLOP count
(`placement calibrate`), so it is the share of peak a real run reaches, communication included.
"""

from __future__ import annotations

from placement.perf.shapes import Shape


def flops_per_token(shape: Shape, sequence_length: float) -> float:
    return 6 * shape.active + attention_flops_per_token(shape, sequence_length)


def attention_flops_per_token(shape: Shape, sequence_length: float) -> float:
    return 12 * shape.layers * shape.hidden_size * sequence_length


def tokens_per_second(
    shape: Shape, sequence_length: float, chips: int, peak_flops: float, mfu: float
) -> float:
    return chips * peak_flops * mfu / flops_per_token(shape, sequence_length)
