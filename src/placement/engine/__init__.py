"""The engine: costing, the optimizer, plan assembly, reservations, diagnosis and the verifier."""
