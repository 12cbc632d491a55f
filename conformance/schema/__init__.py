"""Layer 1: schema conformance with schemathesis over the spec (all phases, all checks)."""

from __future__ import annotations

from conformance.schema.runner import SchemaRun, run_schema_layer

__all__ = ["SchemaRun", "run_schema_layer"]
