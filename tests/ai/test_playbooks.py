"""Each playbook on real tool output from this machine, with faults created for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ai import faults
from tests.ai.ports import FailingToolPort, LocalToolPort, NoToolsPort
from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks import IncidentContext, diagnose

HAS_SYSTEMD = Path("/run/systemd/system").is_dir()


def linked(report: DiagnosisReport, port: LocalToolPort) -> None:
    """Every evidence item points at a tool execution this playbook really ran."""
    assert report.evidence
    for item in report.evidence:
        assert item.execution_id is not None
        assert item.tool in port.ran()


def concluded(report: DiagnosisReport) -> str:
    assert not report.escalate and report.outcome == "diagnosed", report
    assert report.root_cause and report.confidence >= 0.5
    return report.root_cause


def escalated(report: DiagnosisReport) -> str:
    assert report.escalate and report.outcome == "escalated", report
    assert report.root_cause is None and report.escalation_reason
    return report.escalation_reason


async def test_disk_nearly_full_filesystem(tmp_path: Path) -> None:
    with faults.small_filesystem(tmp_path) as mnt:
        filled = faults.fill_to(mnt, 93)
        context = IncidentContext(
            title="NodeFilesystemSpaceFillingUp",
            description=f"Filesystem on {mnt} is predicted to run out of space within 4 hours.",
            labels={"alertname": "NodeFilesystemSpaceFillingUp", "mountpoint": str(mnt)},
        )
        port = LocalToolPort()
        report = await diagnose(context, port)
    cause = concluded(report)
    linked(report, port)
    assert report.engine == "runbook:disk"
    assert port.ran() == ["disk_usage", "largest_directories"]
    assert str(filled) in cause  # the deepest directory holding the bytes
    action = report.recommended_actions[0]
    assert action.tool == "delete_old_files" and action.risk == "mutate"
    assert action.params["path"] == str(filled)


async def test_disk_inodes_exhausted(tmp_path: Path) -> None:
    with faults.small_filesystem(tmp_path, inodes=64) as mnt:
        faults.use_all_inodes(mnt)
        context = IncidentContext(
            title="NodeFilesystemAlmostOutOfFiles",
            description="Filesystem has less than 3% inodes left.",
            labels={"alertname": "NodeFilesystemAlmostOutOfFiles", "mountpoint": str(mnt)},
        )
        port = LocalToolPort()
        report = await diagnose(context, port)
    cause = concluded(report)
    linked(report, port)
    assert port.ran()[0] == "inode_usage"
    assert "inodes" in cause and str(mnt) in cause


async def test_disk_healthy_host_invents_nothing() -> None:
    context = IncidentContext(title="Disk space low on /", labels={"mountpoint": "/"})
    port = LocalToolPort()
    report = await diagnose(context, port)
    if port.calls and report.evidence and "below" not in report.summary:
        pytest.skip("this machine's root filesystem really is nearly full")
    assert "not present" in escalated(report)
    linked(report, port)


async def test_disk_unknown_mountpoint_escalates() -> None:
    context = IncidentContext(title="Disk full", labels={"mountpoint": "/no/such/mount"})
    reason = escalated(await diagnose(context, LocalToolPort()))
    assert "/no/such/mount" in reason


async def test_cpu_spinning_process() -> None:
    with faults.cpu_spinner() as pid:
        port = LocalToolPort()
        report = await diagnose(IncidentContext(title="HighCPU on web-1"), port)
    cause = concluded(report)
    linked(report, port)
    top = next(e for e in report.evidence if e.tool == "top_processes_cpu")
    assert f"(pid {pid})" in top.finding
    # Other work on a shared test machine can out-spin ours; then that process is named.
    hog = report.recommended_actions[0].params["pid"]
    assert f"pid {hog}" in cause
    assert report.recommended_actions[0].params == {"pid": hog, "signal": "TERM"}


async def test_memory_without_pressure_escalates() -> None:
    port = LocalToolPort()
    report = await diagnose(IncidentContext(title="HostMemoryPressure"), port)
    assert report.engine == "runbook:memory"
    assert {"memory_swap", "kernel_messages_oom", "top_processes_memory"} <= set(port.ran())
    if not report.escalate:
        # This machine's kernel log really records OOM kills, or its memory really is short.
        cause = concluded(report)
        assert "OOM" in cause or "of memory" in cause
        return
    escalated(report)
    assert any(e.tool == "memory_swap" for e in report.evidence)


@pytest.mark.skipif(HAS_SYSTEMD, reason="this machine runs systemd")
async def test_service_without_systemd_escalates_naming_it() -> None:
    context = IncidentContext(
        title="nginx.service is down", labels={"alertname": "ServiceDown", "unit": "nginx.service"}
    )
    reason = escalated(await diagnose(context, LocalToolPort()))
    assert "systemd_service_status" in reason and "systemd is not running" in reason


async def test_service_container_without_docker_escalates() -> None:
    context = IncidentContext(
        title="KubePodCrashLooping",
        labels={"alertname": "KubePodCrashLooping", "container": "api"},
    )
    report = await diagnose(context, LocalToolPort())
    if not report.escalate:
        pytest.skip("this machine has a working Docker daemon")
    assert "docker_containers" in escalated(report)


async def test_port_nothing_listening() -> None:
    port_number = faults.closed_port()
    context = IncidentContext(
        title="ProbeFailure",
        labels={"alertname": "ProbeFailure", "instance": f"127.0.0.1:{port_number}"},
    )
    port = LocalToolPort()
    report = await diagnose(context, port)
    cause = concluded(report)
    linked(report, port)
    assert port.ran() == ["tcp_connect_check", "listening_ports"]
    assert f"port {port_number}" in cause


async def test_port_listening_is_not_a_fault() -> None:
    with faults.tcp_listener() as port_number:
        context = IncidentContext(
            title="Port check failing", labels={"instance": f"127.0.0.1:{port_number}"}
        )
        report = await diagnose(context, LocalToolPort())
    assert "transient" in escalated(report)


async def test_http_500() -> None:
    with faults.http_500_server() as port_number:
        url = f"http://127.0.0.1:{port_number}/health"
        context = IncidentContext(
            title="ProbeFailure", labels={"alertname": "ProbeFailure", "instance": url}
        )
        port = LocalToolPort()
        report = await diagnose(context, port)
    cause = concluded(report)
    linked(report, port)
    assert "HTTP 500" in cause and "pool exhausted" in cause


async def test_tls_certificate_about_to_expire(tmp_path: Path) -> None:
    with faults.tls_server(tmp_path, days=2) as port_number:
        context = IncidentContext(
            title="SSLCertExpiringSoon",
            labels={"alertname": "SSLCertExpiringSoon", "instance": f"127.0.0.1:{port_number}"},
        )
        port = LocalToolPort()
        report = await diagnose(context, port)
    cause = concluded(report)
    linked(report, port)
    assert "shop.example.test" in cause and "days" in cause
    assert report.confidence >= 0.9


async def test_tls_expired_certificate(tmp_path: Path) -> None:
    with faults.tls_server(tmp_path, days=-1) as port_number:
        context = IncidentContext(
            title="TLS certificate expired", labels={"instance": f"127.0.0.1:{port_number}"}
        )
        report = await diagnose(context, LocalToolPort())
    cause = concluded(report)
    assert "expired" in cause


async def test_dns_name_that_does_not_resolve() -> None:
    context = IncidentContext(
        title="DNS resolution failing", labels={"domain": "does-not-exist.invalid"}
    )
    port = LocalToolPort()
    report = await diagnose(context, port)
    cause = concluded(report)
    linked(report, port)
    assert "does-not-exist.invalid" in cause


async def test_dns_name_that_resolves_escalates() -> None:
    context = IncidentContext(title="DNS lookup failure", labels={"domain": "localhost"})
    assert "resolves" in escalated(await diagnose(context, LocalToolPort()))


async def test_process_near_its_open_files_limit() -> None:
    with faults.fd_hog(count=1000, limit=1024) as pid:
        port = LocalToolPort()
        report = await diagnose(IncidentContext(title="Too many open files on web-1"), port)
    cause = concluded(report)
    linked(report, port)
    assert f"pid {pid}" in cause and "1024" in cause


async def test_agent_back_online_on_a_long_running_host() -> None:
    port = LocalToolPort()
    report = await diagnose(IncidentContext(title="Host agent offline on web-1"), port)
    assert report.engine == "runbook:agent_offline" and port.ran() == ["system_overview"]
    if not report.escalate:
        assert "rebooted" in concluded(report)  # this machine booted under an hour ago
        return
    assert "without a reboot" in escalated(report)


async def test_agent_offline_and_unreachable_escalates() -> None:
    report = await diagnose(IncidentContext(title="Host agent offline on web-1"), FailingToolPort())
    reason = escalated(report)
    assert "did not answer" in reason and "someone must look" in reason


async def test_generic_on_this_host() -> None:
    port = LocalToolPort()
    report = await diagnose(IncidentContext(title="Something odd on web-1"), port)
    assert report.engine == "runbook:generic" and "system_overview" in port.ran()
    assert report.evidence[0].tool == "system_overview"


@pytest.mark.parametrize(
    "title",
    [
        "NodeFilesystemSpaceFillingUp",
        "HighCPU",
        "HostOomKillDetected",
        "nginx.service down",
        "ProbeFailure http://127.0.0.1:9/",
        "SSLCertExpiringSoon 127.0.0.1:443",
        "DNS failure for example.invalid",
        "Too many open files",
        "Host agent offline on web-1",
        "Something odd",
    ],
)
async def test_failing_tools_escalate_with_the_error(title: str) -> None:
    port = FailingToolPort()
    report = await diagnose(IncidentContext(title=title), port)
    reason = escalated(report)
    assert port.calls, "the playbook ran no tool"
    assert "did not answer" in reason


async def test_tools_turned_off_escalate_naming_them() -> None:
    report = await diagnose(IncidentContext(title="HighCPU"), NoToolsPort())
    assert "top_processes_cpu tool is not available" in escalated(report)
