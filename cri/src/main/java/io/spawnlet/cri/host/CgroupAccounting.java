package io.spawnlet.cri.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeSet;

/**
 * Reads what the kernel accounts for a cgroup, in whichever layout the host has: each value is read
 * from the hierarchy that holds its controller (v1 file names there, v2 names in the unified
 * hierarchy), so a hybrid host with e.g. {@code pids} only in cgroup2 works too.
 */
public final class CgroupAccounting {
  private final CgroupHierarchies hierarchies;
  private final Clock clock;

  public CgroupAccounting(CgroupHierarchies hierarchies) {
    this(hierarchies, Clock.systemUTC());
  }

  public CgroupAccounting(CgroupHierarchies hierarchies, Clock clock) {
    this.hierarchies = hierarchies;
    this.clock = clock;
  }

  /**
   * The usage of cgroup {@code cgroupPath} (e.g. {@code /kubepods/besteffort/pod1/ctr1}). Never
   * throws for a missing cgroup or file: those values are empty.
   */
  public CgroupStats read(String cgroupPath) {
    CgroupPath path = CgroupPath.parse(cgroupPath, "cgroup path");
    var now = clock.instant();

    OptionalLong cpu =
        hierarchies
            .controller("cpuacct", path)
            .filter(c -> !c.v2())
            .map(c -> number(c.dir().resolve("cpuacct.usage")))
            .orElseGet(
                () ->
                    v2Dir("cpu", path)
                        .map(dir -> times(keyed(dir.resolve("cpu.stat")).get("usage_usec"), 1000))
                        .orElse(OptionalLong.empty()));

    OptionalLong usage = OptionalLong.empty();
    OptionalLong inactiveFile = OptionalLong.empty();
    OptionalLong rss = OptionalLong.empty();
    OptionalLong faults = OptionalLong.empty();
    OptionalLong majorFaults = OptionalLong.empty();
    var memory = hierarchies.controller("memory", path);
    if (memory.isPresent()) {
      Path dir = memory.get().dir();
      boolean v2 = memory.get().v2();
      Map<String, Long> stat = keyed(dir.resolve("memory.stat"));
      String prefix = v2 ? "" : "total_"; // v1's total_* include the descendants
      usage = number(dir.resolve(v2 ? "memory.current" : "memory.usage_in_bytes"));
      inactiveFile = optional(stat.get(prefix + "inactive_file"));
      rss = optional(stat.get(v2 ? "anon" : "total_rss"));
      faults = optional(stat.get(prefix + "pgfault"));
      majorFaults = optional(stat.get(prefix + "pgmajfault"));
    }
    OptionalLong workingSet = OptionalLong.empty();
    if (usage.isPresent()) {
      long inactive = inactiveFile.orElse(0);
      workingSet = OptionalLong.of(Math.max(0, usage.getAsLong() - inactive));
    }

    OptionalLong pids =
        hierarchies
            .controller("pids", path)
            .map(c -> number(c.dir().resolve("pids.current")))
            .orElse(OptionalLong.empty());

    return new CgroupStats(now, cpu, usage, workingSet, rss, faults, majorFaults, pids);
  }

  /**
   * How many processes of cgroup {@code cgroupPath} the kernel's OOM killer ended ({@code oom_kill}
   * of v1's memory.oom_control or v2's memory.events); empty when the memory cgroup is gone or the
   * kernel does not count.
   */
  public OptionalLong oomKills(String cgroupPath) {
    CgroupPath path = CgroupPath.parse(cgroupPath, "cgroup path");
    return hierarchies
        .controller("memory", path)
        .map(
            c ->
                optional(
                    keyed(c.dir().resolve(c.v2() ? "memory.events" : "memory.oom_control"))
                        .get("oom_kill")))
        .orElse(OptionalLong.empty());
  }

  /**
   * Every process in cgroup {@code cgroupPath} or below it, in any hierarchy, ascending. Used to
   * check that nothing of a pod is left before its cgroup is removed.
   */
  public List<Integer> pids(String cgroupPath) {
    CgroupPath path = CgroupPath.parse(cgroupPath, "cgroup path");
    TreeSet<Integer> pids = new TreeSet<>();
    for (Path dir : hierarchies.dirs(path)) {
      for (long pid : PodCgroups.procsBelow(dir)) {
        pids.add((int) pid);
      }
    }
    return List.copyOf(pids);
  }

  private Optional<Path> v2Dir(String controller, CgroupPath path) {
    return hierarchies.controller(controller, path).filter(c -> c.v2()).map(c -> c.dir());
  }

  private static OptionalLong times(Long value, long factor) {
    return value == null ? OptionalLong.empty() : OptionalLong.of(value * factor);
  }

  private static OptionalLong optional(Long value) {
    return value == null ? OptionalLong.empty() : OptionalLong.of(value);
  }

  /** A file holding one number (or "max"), or empty. */
  private static OptionalLong number(Path file) {
    String text = read(file).trim();
    try {
      return text.isEmpty() ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(text));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /** A flat-keyed file ({@code key value} per line, as memory.stat and cpu.stat), or empty. */
  private static Map<String, Long> keyed(Path file) {
    Map<String, Long> values = new HashMap<>();
    for (String line : read(file).split("\n")) {
      String[] kv = line.trim().split("\\s+");
      if (kv.length == 2) {
        try {
          values.put(kv[0], Long.parseLong(kv[1]));
        } catch (NumberFormatException e) {
          // not a number: not one of ours
        }
      }
    }
    return values;
  }

  private static String read(Path file) {
    try {
      return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return ""; // cgroup gone or controller absent: the value is absent
    }
  }
}
