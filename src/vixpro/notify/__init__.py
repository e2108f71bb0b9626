"""Notifications: the outbox every capability writes to, the channels, the rules, the bell."""
