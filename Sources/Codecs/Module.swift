/// Module `Codecs`: see docs/architecture.md.
