package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.spawnlet.cri.host.MountTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * What a test run can leave behind on the host: mounts, network namespace files, processes. Read
 * from /proc and /run, so the checks see what the kernel sees, not what the daemon believes.
 */
final class HostLeftovers {
  private HostLeftovers() {}

  /**
   * Asserts that nothing named after {@code ids} (pod, container ids, uids) is left on the host
   * while {@code daemon} runs, and no IP lease at all: network files, rules, cgroups, veths,
   * mounts, processes other than the daemon.
   */
  static void assertNoneOf(SpawnletDaemon daemon, Collection<String> ids) {
    assertThat(HostLeftovers.netnsFilesNaming(ids)).isEmpty();
    assertThat(HostLeftovers.netnsMountsNaming(ids)).isEmpty();
    assertThat(HostLeftovers.iptablesRulesNaming(ids)).isEmpty();
    assertThat(HostLeftovers.cgroupsNaming(ids)).isEmpty();
    assertThat(HostLeftovers.ipLeases(daemon.root())).isEmpty();
    assertThat(HostLeftovers.bridgePorts(daemon.bridge())).as("veths on the bridge").isEmpty();
    assertThat(HostLeftovers.mountsUnder(daemon.base()))
        .noneMatch(mount -> ids.stream().anyMatch(id -> mount.toString().contains(id)));
    assertThat(
            HostLeftovers.processesUsing(daemon.base()).stream()
                .filter(p -> p.pid() != daemon.pid().orElse(-1L))
                .map(HostLeftovers::describe))
        .isEmpty();
  }

  /** Mount points at or below {@code dir} in this process's mount namespace, deepest first. */
  static List<Path> mountsUnder(Path dir) {
    List<Path> mounts = new ArrayList<>();
    for (MountTable.Mount m : MountTable.readSelf().mounts()) {
      Path mountPoint = Path.of(m.mountPoint());
      if (mountPoint.startsWith(dir)) {
        mounts.add(mountPoint);
      }
    }
    mounts.sort(Comparator.comparingInt(Path::getNameCount).reversed());
    return mounts;
  }

  /** Network namespace mounts (nsfs) whose mount point mentions one of the given ids. */
  static List<String> netnsMountsNaming(Collection<String> ids) {
    return MountTable.readSelf().mounts().stream()
        .filter(m -> m.fsType().equals("nsfs") && mentionsAny(m.mountPoint(), ids))
        .map(MountTable.Mount::mountPoint)
        .toList();
  }

  /** Entries of the iproute2 netns directories whose name mentions one of the given ids. */
  static List<Path> netnsFilesNaming(Collection<String> ids) {
    List<Path> found = new ArrayList<>();
    for (Path dir : List.of(Path.of("/run/netns"), Path.of("/var/run/netns"))) {
      if (!Files.isDirectory(dir)) {
        continue;
      }
      try (Stream<Path> entries = Files.list(dir)) {
        entries
            .filter(entry -> mentionsAny(entry.getFileName().toString(), ids))
            .forEach(found::add);
      } catch (IOException e) {
        throw new AssertionError("cannot list " + dir, e);
      }
    }
    return found.stream().distinct().toList();
  }

  /**
   * Processes that belong to a test tree: their command line names a path under {@code dir}
   * (conmon, crun, the daemon), or their root or working directory is under it (container processes
   * live in a rootfs mounted there). This JVM is never one of them.
   */
  static List<ProcessHandle> processesUsing(Path dir) {
    String needle = dir.toString();
    long self = ProcessHandle.current().pid();
    return ProcessHandle.allProcesses()
        .filter(process -> process.pid() != self)
        .filter(
            process ->
                commandLine(process.pid()).contains(needle)
                    || linkTarget(process.pid(), "root").startsWith(needle)
                    || linkTarget(process.pid(), "cwd").startsWith(needle))
        .toList();
  }

  static String describe(ProcessHandle process) {
    return process.pid() + " " + commandLine(process.pid());
  }

  private static String commandLine(long pid) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
      return new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').trim();
    } catch (IOException | SecurityException e) {
      return ""; // gone meanwhile, or a kernel thread
    }
  }

  private static String linkTarget(long pid, String link) {
    try {
      return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), link)).toString();
    } catch (IOException | SecurityException e) {
      return "";
    }
  }

  /**
   * Interfaces still enslaved to {@code bridge} (a pod's veth outlives its pod if CNI DEL failed).
   */
  static List<String> bridgePorts(String bridge) {
    Path ports = Path.of("/sys/class/net", bridge, "brif");
    if (!Files.isDirectory(ports)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(ports)) {
      return entries.map(entry -> entry.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      throw new AssertionError("cannot list " + ports, e);
    }
  }

  /**
   * Cgroup directories, in every hierarchy under {@code /sys/fs/cgroup}, below a {@code spawnlet}
   * directory (the daemon's default pod cgroup parent {@code /spawnlet/<sandboxId>}) whose name
   * mentions one of the given ids. Other daemons on this machine may own other entries there.
   */
  static List<Path> cgroupsNaming(Collection<String> ids) {
    List<Path> found = new ArrayList<>();
    for (Path hierarchy : list(Path.of("/sys/fs/cgroup"))) {
      Path parent = hierarchy.resolve("spawnlet");
      if (!Files.isDirectory(parent)) {
        continue;
      }
      collectNaming(parent, 3, ids, found);
    }
    return found;
  }

  /**
   * Directories below {@code dir} (to {@code depth} levels) named after one of {@code ids}. Other
   * daemons create and remove their cgroups beside ours meanwhile: a directory that vanishes while
   * we list it is simply not there.
   */
  private static void collectNaming(Path dir, int depth, Collection<String> ids, List<Path> found) {
    if (depth == 0) {
      return;
    }
    List<Path> children;
    try (Stream<Path> entries = Files.list(dir)) {
      children = entries.filter(Files::isDirectory).toList();
    } catch (IOException | java.io.UncheckedIOException e) {
      return;
    }
    for (Path child : children) {
      if (mentionsAny(child.getFileName().toString(), ids)) {
        found.add(child);
      }
      collectNaming(child, depth - 1, ids, found);
    }
  }

  /**
   * IP leases host-local still holds in {@code <root>/cni/networks/<network>/}: every file but its
   * bookkeeping ({@code lock}, {@code last_reserved_ip.*}).
   */
  static List<Path> ipLeases(Path daemonRoot) {
    List<Path> leases = new ArrayList<>();
    for (Path network : list(daemonRoot.resolve("cni").resolve("networks"))) {
      for (Path file : list(network)) {
        String name = file.getFileName().toString();
        if (!name.equals("lock") && !name.startsWith("last_reserved_ip")) {
          leases.add(file);
        }
      }
    }
    return leases;
  }

  /** Open file descriptors of a process (entries of /proc/PID/fd). */
  static int openFiles(long pid) {
    return list(Path.of("/proc", Long.toString(pid), "fd")).size();
  }

  private static List<Path> list(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.sorted().toList();
    } catch (IOException e) {
      throw new AssertionError("cannot list " + dir, e);
    }
  }

  /**
   * Lines of {@code iptables-save} (the NAT and filter rules CNI's bridge and portmap plugins add,
   * commented with the container id) that mention one of the given ids.
   */
  static List<String> iptablesRulesNaming(Collection<String> ids) {
    try {
      Process save = new ProcessBuilder("iptables-save").redirectErrorStream(true).start();
      String rules = new String(save.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (save.waitFor() != 0) {
        throw new AssertionError("iptables-save failed: " + rules);
      }
      return rules.lines().filter(line -> mentionsAny(line, ids)).toList();
    } catch (IOException e) {
      throw new AssertionError("cannot run iptables-save", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  private static boolean mentionsAny(String text, Collection<String> ids) {
    // Runtimes often name things after a 12-character prefix of a long id.
    return ids.stream()
        .map(id -> id.length() > 12 ? id.substring(0, 12) : id)
        .filter(key -> key.length() >= 8)
        .anyMatch(text::contains);
  }
}
