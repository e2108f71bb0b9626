"""One module per AI provider; each builds a pydantic-ai model pointed at a base URL."""
