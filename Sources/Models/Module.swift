/// Module `Models`: see docs/architecture.md.
