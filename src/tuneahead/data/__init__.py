"""Dataset ingestion, normalisation, static descriptors and pitfall findings."""
