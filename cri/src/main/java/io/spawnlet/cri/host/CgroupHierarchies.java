package io.spawnlet.cri.host;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where the host's cgroup hierarchies are mounted: the v1 hierarchies by controller and the cgroup2
 * (unified) hierarchy, if any. Read from mountinfo; every path is resolved under a host root
 * ({@code /} in production, a directory of fixture files in tests).
 *
 * @param v1 v1 hierarchy mount directory by controller name ({@code cpu}, {@code memory}, {@code
 *     name=systemd} ...); controllers co-mounted (e.g. {@code cpu,cpuacct}) map to the same
 *     directory
 */
public record CgroupHierarchies(CgroupLayout layout, Map<String, Path> v1, Optional<Path> unified) {
  /** Mount options of a cgroup v1 mount that are not controller names. */
  private static final Set<String> NOT_CONTROLLERS =
      Set.of("rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods");

  private static final String CONVENTIONAL_ROOT = "/sys/fs/cgroup";

  public CgroupHierarchies {
    v1 = Map.copyOf(v1);
  }

  /** This host's hierarchies, from {@code /proc/self/mountinfo}. */
  public static CgroupHierarchies detect() {
    return from(MountTable.readSelf(), Path.of("/"));
  }

  /**
   * Hierarchies from a mountinfo file, with mount points resolved under {@code hostRoot}.
   *
   * @throws IllegalStateException if no cgroup file system is mounted
   */
  public static CgroupHierarchies detect(Path mountinfo, Path hostRoot) {
    return from(MountTable.read(mountinfo), hostRoot);
  }

  public static CgroupHierarchies from(MountTable table, Path hostRoot) {
    Map<String, Path> v1 = new LinkedHashMap<>();
    Path unified = null;
    boolean v1Controllers = false;
    for (MountTable.Mount m : table.mounts()) {
      // A hierarchy mounted twice (or a sub-tree of it bind-mounted somewhere) is taken once,
      // preferring its whole tree ("/" root) at the conventional place.
      if (!m.root().equals("/")) {
        continue;
      }
      Path dir = under(hostRoot, m.mountPoint());
      if (m.fsType().equals("cgroup2")) {
        if (unified == null || m.mountPoint().startsWith(CONVENTIONAL_ROOT)) {
          unified = dir;
        }
      } else if (m.fsType().equals("cgroup")) {
        for (String option : m.superOptions()) {
          if (NOT_CONTROLLERS.contains(option) || option.startsWith("release_agent=")) {
            continue;
          }
          v1.putIfAbsent(option, dir);
          v1Controllers |= !option.startsWith("name=");
        }
      }
    }
    CgroupLayout layout;
    if (v1Controllers) {
      layout = unified == null ? CgroupLayout.V1 : CgroupLayout.HYBRID;
    } else if (unified != null) {
      // a named-only v1 hierarchy (name=systemd for an old guest) beside cgroup2 is still v2
      layout = CgroupLayout.V2;
    } else {
      throw new IllegalStateException(
          "no cgroup hierarchy is mounted (mount cgroup2 at " + CONVENTIONAL_ROOT + ")");
    }
    return new CgroupHierarchies(layout, v1, Optional.ofNullable(unified));
  }

  /**
   * The mount directory of every hierarchy a pod's cgroups live in: each distinct v1 hierarchy and
   * the unified one. On a V2 host a leftover named v1 hierarchy is ignored.
   */
  public List<Path> roots() {
    Set<Path> roots = new LinkedHashSet<>();
    if (layout != CgroupLayout.V2) {
      roots.addAll(v1.values());
    }
    unified.ifPresent(roots::add);
    return new ArrayList<>(roots);
  }

  /** The directory of {@code path} in every hierarchy (see {@link #roots()}). */
  public List<Path> dirs(CgroupPath path) {
    return roots().stream().map(root -> root.resolve(path.relative())).toList();
  }

  /**
   * Where {@code controller} is, for reading its files: its v1 hierarchy if it has one, else the
   * unified hierarchy (where its files use the v2 names); empty if the host does not have it.
   */
  public Optional<ControllerDir> controller(String controller, CgroupPath path) {
    if (layout != CgroupLayout.V2 && v1.containsKey(controller)) {
      return Optional.of(new ControllerDir(v1.get(controller).resolve(path.relative()), false));
    }
    return unified.map(root -> new ControllerDir(root.resolve(path.relative()), true));
  }

  /** A cgroup's directory in the hierarchy holding a controller, and that hierarchy's version. */
  public record ControllerDir(Path dir, boolean v2) {}

  /** Whether {@code dir} is in the unified hierarchy. */
  public boolean isUnified(Path dir) {
    return unified.isPresent() && dir.startsWith(unified.get());
  }

  private static Path under(Path hostRoot, String mountPoint) {
    return hostRoot.resolve(mountPoint.substring(1));
  }
}
