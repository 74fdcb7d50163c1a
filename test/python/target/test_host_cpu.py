"""The host CPU facts the schedule heuristic reads from /proc/cpuinfo."""

from pattern_mlir.target import host_cpu
from pattern_mlir.target.host_cpu import cpuinfo_fields
from pattern_mlir.tuning_db.signature import cpu_model


def test_cpuinfo_fields_reads_the_first_processor(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
        "model name\t: AMD EPYC\nflags\t\t: fma avx2 avx512f\n\n"
        "processor\t: 1\nvendor_id\t: GenuineIntel\n"
    )
    fields = cpuinfo_fields(str(info))
    assert fields["vendor_id"] == "AuthenticAMD" and fields["model name"] == "AMD EPYC"
    assert cpu_model(str(info)) == "AMD EPYC [25/17] avx512f+avx2+fma"


def test_unreadable_cpuinfo_is_none(tmp_path):
    assert cpuinfo_fields(str(tmp_path / "missing")) is None


def test_cpu_family(monkeypatch):
    monkeypatch.setattr(host_cpu, "cpuinfo_fields", lambda: {"cpu family": "25"})
    assert host_cpu.cpu_family() == 25
    monkeypatch.setattr(host_cpu, "cpuinfo_fields", lambda: None)
    assert host_cpu.cpu_family() == 0
