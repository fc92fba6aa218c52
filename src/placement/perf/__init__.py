"""The performance model: a model's shape, replicas serving it, training FLOPs, and the calibration
of their efficiency constants against published measurements."""
