package io.spawnlet.cri.host;

/** How the host mounts its cgroup hierarchies. Detected once at start-up. */
public enum CgroupLayout {
  /** Only cgroup v1 hierarchies, one per controller (or group of controllers). */
  V1,
  /**
   * cgroup v1 controller hierarchies plus a cgroup2 hierarchy (usually at {@code
   * /sys/fs/cgroup/unified}) holding the controllers no v1 hierarchy took, if any.
   */
  HYBRID,
  /** The single cgroup v2 hierarchy at the cgroup root (today's production default). */
  V2;

  /** The layout of this host, from {@code /proc/self/mountinfo}. */
  public static CgroupLayout detect() {
    return CgroupHierarchies.detect().layout();
  }
}
