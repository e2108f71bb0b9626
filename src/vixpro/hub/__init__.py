"""Host-agent WebSocket sessions, tool-call dispatch and cross-replica routing."""
