"""Monitoring tools in: one adapter module per source, turning a webhook into normalised alerts."""
