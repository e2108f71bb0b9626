from __future__ import annotations

import ipaddress
import platform

from vixpro_agent import __version__
from vixpro_agent.facts import collect_facts, read_os_release


def test_facts_describe_this_host():
    facts = collect_facts()
    assert facts["hostname"]
    assert facts["kernel"] == platform.release()
    assert facts["cpu_count"] >= 1
    assert facts["memory_total"] > 0
    assert any(d["mountpoint"] == "/" for d in facts["disks"])
    assert facts["agent_version"] == __version__
    assert facts["python_version"] == platform.python_version()
    for address in facts["addresses"]:
        ip = ipaddress.ip_address(address)
        assert not ip.is_loopback and not ip.is_link_local


def test_os_release_is_parsed_with_shell_quoting():
    fields = read_os_release()
    if fields:  # absent in some containers
        assert fields["ID"] and '"' not in fields.get("PRETTY_NAME", "")
        assert collect_facts()["os"]["id"] == fields["ID"]
