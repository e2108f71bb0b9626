"""The FastAPI application: the ``/api/v1`` API, the dashboard, health and metrics."""
