package io.spawnlet.cri.host;

import java.time.Instant;
import java.util.OptionalLong;

/**
 * Resource usage of one cgroup (a container's or a pod's, descendants included), as CRI {@code
 * ContainerStats}/{@code PodSandboxStats} report it. A value the host does not account (controller
 * not mounted, file missing) is empty.
 *
 * @param timestamp when the files were read
 * @param cpuUsageNanos cumulative CPU time (v1 {@code cpuacct.usage}, v2 {@code cpu.stat
 *     usage_usec} × 1000)
 * @param memoryUsageBytes v1 {@code memory.usage_in_bytes}, v2 {@code memory.current}
 * @param workingSetBytes usage minus inactive file pages, never negative (what cAdvisor, the
 *     kubelet and containerd report, and what eviction decisions use)
 * @param rssBytes anonymous memory: v1 {@code total_rss}, v2 {@code anon}
 * @param pageFaults v1 {@code total_pgfault}, v2 {@code pgfault}
 * @param majorPageFaults v1 {@code total_pgmajfault}, v2 {@code pgmajfault}
 * @param pidsCurrent processes and threads in the cgroup ({@code pids.current})
 */
public record CgroupStats(
    Instant timestamp,
    OptionalLong cpuUsageNanos,
    OptionalLong memoryUsageBytes,
    OptionalLong workingSetBytes,
    OptionalLong rssBytes,
    OptionalLong pageFaults,
    OptionalLong majorPageFaults,
    OptionalLong pidsCurrent) {}
