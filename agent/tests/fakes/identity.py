"""The ids the tests enrol their host agent with."""

SERVER_ID = "3f1c6a52-0000-4000-8000-000000000001"
ORG_ID = "9b2d7e10-0000-4000-8000-000000000002"
