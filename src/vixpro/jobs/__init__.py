"""The procrastinate app and its tasks."""
