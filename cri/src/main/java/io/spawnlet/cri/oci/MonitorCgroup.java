package io.spawnlet.cri.oci;

import io.spawnlet.cri.host.CgroupHierarchies;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The cgroup conmon lives in: {@code <cgroup parent>/conmon-<container id>} in every mounted
 * hierarchy. conmon is moved there before it forks anything (it blocks on its start pipe until
 * then), so neither it nor the runtime it starts is ever charged to the daemon's cgroup, and a
 * pod's monitors are accounted to the pod (as CRI-O's "pod" conmon cgroup does). A leaf of its own
 * keeps cgroup v2's "no processes in inner nodes" rule happy.
 */
public final class MonitorCgroup {
  private final CgroupHierarchies layout;

  public MonitorCgroup(CgroupHierarchies layout) {
    this.layout = layout;
  }

  /** The cgroupfs path (relative to every mount point) of {@code containerId}'s monitor. */
  public static String path(String cgroupParent, String containerId) {
    String parent = cgroupParent == null || cgroupParent.isBlank() ? "/spawnlet" : cgroupParent;
    return (parent.startsWith("/") ? parent : "/" + parent) + "/conmon-" + containerId;
  }

  /** Creates the monitor cgroup in every hierarchy and moves {@code pid} into it. */
  public void enter(String cgroupParent, String containerId, int pid) {
    String relative = path(cgroupParent, containerId).substring(1);
    for (Path mount : layout.roots()) {
      Path dir = mount.resolve(relative);
      try {
        createWithCpuset(mount, dir);
        Files.writeString(dir.resolve("cgroup.procs"), Integer.toString(pid));
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot move conmon (pid " + pid + ") into cgroup " + dir + ": " + e.getMessage(), e);
      }
    }
  }

  /**
   * Removes the monitor cgroups once conmon has gone; returns false if some could not be removed
   * yet (a process is still in them).
   */
  public boolean remove(String cgroupParent, String containerId) {
    String relative = path(cgroupParent, containerId).substring(1);
    boolean all = true;
    for (Path mount : layout.roots()) {
      Path dir = mount.resolve(relative);
      try {
        Files.deleteIfExists(dir);
      } catch (IOException e) {
        all = false;
      }
    }
    return all;
  }

  /**
   * v1 cpuset cgroups start with empty cpus/mems, and a task cannot join such a cgroup: copy the
   * parent's values down every level we create.
   */
  private static void createWithCpuset(Path mount, Path dir) throws IOException {
    List<Path> missing = new ArrayList<>();
    for (Path p = dir; p != null && !p.equals(mount) && !Files.isDirectory(p); p = p.getParent()) {
      missing.addFirst(p);
    }
    for (Path level : missing) {
      Files.createDirectories(level);
      for (String file : List.of("cpuset.cpus", "cpuset.mems")) {
        Path own = level.resolve(file);
        Path parents = level.getParent().resolve(file);
        if (Files.exists(own)
            && Files.exists(parents)
            && Files.readString(own).isBlank()
            && !Files.readString(parents).isBlank()) {
          Files.writeString(own, Files.readString(parents).strip());
        }
      }
    }
  }
}
