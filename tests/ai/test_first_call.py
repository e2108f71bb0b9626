"""The initial evidence's tool: the first tool the incident's runbook would run on the server."""

from __future__ import annotations

from vixpro.ai.runbooks import IncidentContext
from vixpro.ai.runbooks.engine import first_call

READS = frozenset(
    {"load_uptime", "disk_usage", "inode_usage", "memory_swap", "system_overview", "dns_resolve"}
)


async def test_each_category_starts_with_its_playbooks_first_tool() -> None:
    cpu = IncidentContext(title="HostHighCpuLoad", annotations={"summary": "CPU load is high"})
    assert await first_call(cpu, READS) == ("load_uptime", {})
    disk = IncidentContext(title="NodeFilesystemAlmostFull", labels={"mountpoint": "/var"})
    assert await first_call(disk, READS) == ("disk_usage", {})
    inodes = IncidentContext(title="Filesystem is running out of inodes")
    assert await first_call(inodes, READS) == ("inode_usage", {})
    other = IncidentContext(title="Something odd happened")
    assert await first_call(other, READS) == ("system_overview", {})


async def test_a_playbook_that_escalates_before_looking_has_no_first_tool() -> None:
    dns = IncidentContext(title="DNS resolution failing")  # names no host to resolve
    assert await first_call(dns, READS) is None


async def test_a_tool_the_server_does_not_offer_is_passed_over_as_the_playbook_does() -> None:
    cpu = IncidentContext(title="HostHighCpuLoad")
    offered = READS - {"load_uptime"} | {"top_processes_cpu"}
    assert await first_call(cpu, offered) == ("top_processes_cpu", {"limit": 5})
