"""The AI agent: providers, the offline runbook engine, diagnoses."""
