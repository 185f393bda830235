package io.spawnlet.cri.oci;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * What the pod sandbox provides to each of its containers' specs.
 *
 * @param sandboxId the pod sandbox id (annotations)
 * @param netNs the pinned network namespace to join (empty: host network, or none pinned)
 * @param ipcNs the pinned IPC namespace to join (empty: host IPC when the pod asks, else a new one)
 * @param utsNs the pinned UTS namespace to join (empty: a new one, with {@code hostname} set)
 * @param pidNs the PID namespace to join for pid mode POD (the pod's, held by its holder) or TARGET
 *     (the target container's), as {@code /proc/<pid>/ns/pid}; empty: the container gets its own
 * @param cgroupParent cgroupfs parent of the pod (e.g. {@code /spawnlet/pod-<uid>})
 * @param hostname the pod's hostname
 * @param resolvConf bound read-only on /etc/resolv.conf when present
 * @param hosts bound on /etc/hosts when present
 * @param hostnameFile bound on /etc/hostname when present
 * @param shm the pod's /dev/shm to bind (empty: a private tmpfs)
 * @param rootfs the container's root file system (already mounted)
 * @param logDir the pod's log directory ({@code PodSandboxConfig.log_directory})
 */
public record SandboxContext(
    String sandboxId,
    Optional<Path> netNs,
    Optional<Path> ipcNs,
    Optional<Path> utsNs,
    Optional<Path> pidNs,
    String cgroupParent,
    String hostname,
    Optional<Path> resolvConf,
    Optional<Path> hosts,
    Optional<Path> hostnameFile,
    Optional<Path> shm,
    Path rootfs,
    Path logDir) {
  public SandboxContext {
    Objects.requireNonNull(sandboxId, "sandboxId");
    Objects.requireNonNull(rootfs, "rootfs");
    Objects.requireNonNull(cgroupParent, "cgroupParent");
    hostname = hostname == null ? "" : hostname;
  }
}
