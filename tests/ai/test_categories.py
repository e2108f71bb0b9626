"""Which playbook realistic alerts get, and what they point at."""

from __future__ import annotations

import pytest

from vixpro.ai.runbooks import Category, IncidentContext, categorise
from vixpro.ai.runbooks.targets import domain, endpoint, mountpoint, systemd_unit


@pytest.mark.parametrize(
    ("title", "labels", "expected"),
    [
        ("NodeFilesystemSpaceFillingUp", {"mountpoint": "/var"}, Category.DISK),
        ("NodeFilesystemAlmostOutOfSpace", {}, Category.DISK),
        ("NodeFilesystemAlmostOutOfFiles", {}, Category.DISK),
        ("Disk usage above 90% on db-2", {}, Category.DISK),
        ("No space left on device", {}, Category.DISK),
        ("HighCPU", {}, Category.CPU),
        ("HostHighCpuLoad", {"instance": "web-1:9100"}, Category.CPU),
        ("NodeLoad15High", {}, Category.CPU),
        ("HostOutOfMemory", {"instance": "web-1:9100"}, Category.MEMORY),
        ("HostOomKillDetected", {}, Category.MEMORY),
        ("HostMemoryUnderMemoryPressure", {}, Category.MEMORY),
        ("KubePodCrashLooping", {"container": "api"}, Category.SERVICE),
        ("nginx.service failed", {}, Category.SERVICE),
        ("ServiceDown", {"unit": "postgresql.service"}, Category.SERVICE),
        ("ContainerKilled", {"container": "api"}, Category.SERVICE),
        ("ProbeFailure", {"instance": "https://shop.example.com"}, Category.ENDPOINT),
        ("BlackboxProbeHttpFailure", {}, Category.ENDPOINT),
        ("InstanceDown", {"instance": "10.0.0.5:8080"}, Category.ENDPOINT),
        ("HTTP check failed: status code 502", {}, Category.ENDPOINT),
        ("SSLCertExpiringSoon", {"instance": "shop.example.com:443"}, Category.TLS),
        ("BlackboxSslCertificateWillExpireSoon", {}, Category.TLS),
        ("TLS certificate expired", {}, Category.TLS),
        ("DNS resolution failing for api.example.com", {}, Category.DNS),
        ("CoreDNSErrorsHigh", {}, Category.DNS),
        ("NodeFileDescriptorLimit", {}, Category.FDS),
        ("Too many open files in java", {}, Category.FDS),
        ("Host agent offline on web-1", {}, Category.AGENT_OFFLINE),
        ("VixPro host agent disconnected", {}, Category.AGENT_OFFLINE),
        ("Backup job took longer than usual", {}, Category.GENERIC),
    ],
)
def test_categorise(title: str, labels: dict[str, str], expected: Category) -> None:
    context = IncidentContext(
        title=title, labels={"alertname": title.split(maxsplit=1)[0], **labels}
    )
    assert categorise(context) is expected


def test_annotations_decide_when_the_name_does_not() -> None:
    context = IncidentContext(
        title="Alert fired on web-1",
        annotations={"summary": "Root filesystem has less than 5% space left"},
    )
    assert categorise(context) is Category.DISK


def test_targets_from_labels_and_text() -> None:
    blackbox = IncidentContext(
        title="ProbeFailure", labels={"instance": "https://shop.example.com/health"}
    )
    found = endpoint(blackbox)
    assert found is not None and (found.host, found.port) == ("shop.example.com", 443)
    assert found.url == "https://shop.example.com/health"
    node = IncidentContext(title="InstanceDown", labels={"instance": "10.0.0.5:9100"})
    assert endpoint(node) == endpoint(IncidentContext(title="10.0.0.5:9100 is down"))
    assert (
        mountpoint(IncidentContext(title="Disk almost full on /var/lib/docker"))
        == "/var/lib/docker"
    )
    assert systemd_unit(IncidentContext(title="nginx.service is down")) == "nginx.service"
    assert systemd_unit(IncidentContext(title="x", labels={"unit": "redis"})) == "redis"
    assert domain(IncidentContext(title="DNS failure for api.example.com")) == "api.example.com"
