package io.spawnlet.cri.oci;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Which cgroup hierarchies this host has mounted, read from {@code /proc/self/mountinfo} at
 * start-up: pure v1, pure v2 (unified) or hybrid (v1 controllers plus a cgroup2 mount, usually at
 * {@code /sys/fs/cgroup/unified}). The mode decides how the OCI runtime is invoked (see {@link
 * RuntimeCommand}) and where the monitor's cgroup is made ({@link MonitorCgroup}).
 */
public record CgroupLayout(Mode mode, List<Path> mountPoints, Path unifiedMount) {

  public enum Mode {
    V1,
    HYBRID,
    V2
  }

  public CgroupLayout {
    mountPoints = List.copyOf(mountPoints);
  }

  public static CgroupLayout detect() {
    try {
      return parse(Files.readString(Path.of("/proc/self/mountinfo")));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/self/mountinfo to detect cgroups", e);
    }
  }

  /** Parses mountinfo text: fields after " - " are fstype, source, super options. */
  public static CgroupLayout parse(String mountinfo) {
    List<Path> v1 = new ArrayList<>();
    Path unified = null;
    for (String line : mountinfo.split("\n")) {
      int dash = line.indexOf(" - ");
      if (dash < 0) {
        continue;
      }
      String[] before = line.substring(0, dash).split(" ");
      String[] after = line.substring(dash + 3).split(" ");
      if (before.length < 5 || after.length < 1) {
        continue;
      }
      Path mountPoint = Path.of(unescape(before[4]));
      switch (after[0]) {
        case "cgroup" -> v1.add(mountPoint);
        case "cgroup2" -> unified = mountPoint;
        default -> {}
      }
    }
    List<Path> all = new ArrayList<>(v1);
    if (unified != null) {
      all.add(unified);
    }
    if (v1.isEmpty() && unified == null) {
      throw new IllegalStateException(
          "no cgroup filesystem is mounted: mount cgroup2 on /sys/fs/cgroup (or v1 controllers)");
    }
    Mode mode = v1.isEmpty() ? Mode.V2 : unified == null ? Mode.V1 : Mode.HYBRID;
    return new CgroupLayout(mode, all, unified);
  }

  /** mountinfo escapes space, tab, newline and backslash as octal. */
  private static String unescape(String field) {
    return field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\");
  }
}
