"""Inputs: the typed models of workloads, catalogs and scenarios, and the one loader that reads files."""
