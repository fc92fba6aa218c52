"""placement: optimal, explained placement of AI workloads across Trainium, Inferentia and GPUs."""

__version__ = "0.1.0"
