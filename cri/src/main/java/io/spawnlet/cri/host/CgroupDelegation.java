package io.spawnlet.cri.host;

import io.spawnlet.cri.CriException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * Hands a container's cgroup to the root of its user namespace, so that a systemd booting inside
 * can make {@code init.scope} and its service cgroups below it (systemd-nspawn {@code -U} fails on
 * this host for want of exactly this). As the kernel's cgroup v2 delegation model says: the
 * directory and the files that move processes and enable controllers change owner, the resource
 * limits of the delegated cgroup itself do not, so the container cannot raise its own limits; the
 * cgroups it makes below are its own. Done in every hierarchy (v1 controllers, the named {@code
 * systemd} one, and the unified one where the runtime made the container's cgroup).
 */
public final class CgroupDelegation {
  /** v2 and v1 files whose owner delegation changes (those that exist in a hierarchy). */
  static final List<String> DELEGATED_FILES =
      List.of(
          "cgroup.procs",
          "cgroup.threads",
          "cgroup.subtree_control",
          "tasks",
          "cgroup.clone_children",
          "notify_on_release");

  private final CgroupHierarchies hierarchies;

  public CgroupDelegation(CgroupHierarchies hierarchies) {
    this.hierarchies = hierarchies;
  }

  /** Chowns the cgroup {@code cgroupsPath} (as in the OCI spec) to {@code uid}:{@code gid}. */
  public void delegate(String cgroupsPath, long uid, long gid) {
    CgroupPath path = CgroupPath.parse(cgroupsPath, "linux.cgroupsPath");
    for (Path dir : hierarchies.dirs(path)) {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        continue; // a hierarchy the runtime does not use (the unified one behind crun's v1 view)
      }
      try {
        Syscalls.lchown(dir.toString(), uid, gid);
        for (String file : DELEGATED_FILES) {
          Path f = dir.resolve(file);
          if (Files.exists(f, LinkOption.NOFOLLOW_LINKS)) {
            Syscalls.lchown(f.toString(), uid, gid);
          }
        }
      } catch (RuntimeException e) {
        throw CriException.internal(
            "cannot delegate cgroup " + dir + " to uid " + uid + ": " + e.getMessage(), e);
      }
    }
  }
}
