"""Tools run on servers: the catalogue, signed manifests and configs, enrolment, permissions,
approvals, execution and its audit trail."""
