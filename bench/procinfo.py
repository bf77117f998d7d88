"""Read another process's memory and CPU figures from ``/proc`` (Linux only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MachineCPU", "Memory", "cpu_seconds", "machine_cpu", "memory", "reset_peak_rss"]

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Memory:
    """Resident set size now (``VmRSS``) and its high-water mark (``VmHWM``), in KiB."""

    rss_kib: int
    hwm_kib: int


def memory(pid: int) -> Memory:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return Memory(rss_kib=fields["VmRSS"], hwm_kib=fields["VmHWM"])


def reset_peak_rss(pid: int) -> bool:
    """Reset ``VmHWM`` to the current RSS (``clear_refs`` 5); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used so far, all its live threads together.

    From ``/proc/<pid>/task/*/schedstat`` (nanoseconds) where the kernel has it, else from
    ``/proc/<pid>/stat`` (clock ticks, usually 10 ms: too coarse for short windows).
    """
    total_ns = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total_ns += int((task / "schedstat").read_text().split()[0])
            except FileNotFoundError:
                continue  # the thread ended meanwhile
    except OSError:
        total_ns = 0
    if total_ns > 0:
        return total_ns / 1e9
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / _CLOCK_TICKS


@dataclass(frozen=True)
class MachineCPU:
    """Whole-machine CPU counters from ``/proc/stat``, in seconds, and this process's own."""

    busy_s: float
    """user + nice + system + irq + softirq over all CPUs."""
    steal_s: float
    own_s: float
    """This process and its waited-for children (the server processes once joined)."""

    def others_since(self, earlier: MachineCPU) -> float:
        """CPU seconds used by processes other than the bench and its servers since ``earlier``."""
        return max((self.busy_s - earlier.busy_s) - (self.own_s - earlier.own_s), 0.0)


def machine_cpu() -> MachineCPU:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    times = os.times()
    return MachineCPU(
        busy_s=(user + nice + system + irq + softirq) / _CLOCK_TICKS,
        steal_s=steal / _CLOCK_TICKS,
        own_s=times.user + times.system + times.children_user + times.children_system,
    )
