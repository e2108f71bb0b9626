"""Support: tickets with response-time clocks, the action-item pipeline, maintenance announcements."""
