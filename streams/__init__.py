"""Pipeline stages, one module each: ingest -> features -> score -> gate -> explain -> archive."""
