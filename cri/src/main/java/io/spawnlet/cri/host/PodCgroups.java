package io.spawnlet.cri.host;

import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Creates and removes a pod's cgroup (CRI {@code linux.cgroup_parent}, e.g. {@code
 * /kubepods/besteffort/pod<uid>}, or spawnlet's default {@code /spawnlet/<sandboxId>}) in every
 * hierarchy of the host, cgroupfs style (no systemd). Containers' cgroups are created below it by
 * the OCI runtime.
 *
 * <ul>
 *   <li>v1: a directory in each hierarchy; in {@code cpuset} each new level gets its parent's
 *       {@code cpuset.cpus}/{@code cpuset.mems} (a new v1 cpuset is empty and refuses tasks).
 *   <li>v2 (and the unified hierarchy of a hybrid host): the directory, with the controllers {@code
 *       cpu memory pids io cpuset} (those the host offers) enabled in {@code
 *       cgroup.subtree_control} of every ancestor, so that the pod cgroup has them. They are not
 *       enabled in the pod cgroup itself: the OCI runtime enables what containers need when it
 *       creates them, and until then a process may still be placed in the pod cgroup (the v2
 *       no-internal-processes rule forbids that once its subtree_control is set).
 * </ul>
 */
public final class PodCgroups {
  /** The field clients set, named in errors. */
  public static final String FIELD = "linux.cgroup_parent";

  private static final List<String> V2_CONTROLLERS =
      List.of("cpu", "memory", "pids", "io", "cpuset");
  private static final int REMOVE_ATTEMPTS = 40;
  private static final long REMOVE_RETRY_MILLIS = 25;

  private final CgroupHierarchies hierarchies;

  public PodCgroups(CgroupHierarchies hierarchies) {
    this.hierarchies = hierarchies;
  }

  /** Validates a client's cgroup path; INVALID_ARGUMENT naming {@value #FIELD} if it escapes. */
  public static CgroupPath parse(String cgroupParent) {
    return CgroupPath.parse(cgroupParent, FIELD);
  }

  /**
   * Creates the pod cgroup {@code cgroupParent} (and missing ancestors) in every hierarchy.
   * Idempotent.
   *
   * @return the validated path
   */
  public CgroupPath create(String cgroupParent) {
    CgroupPath path = parse(cgroupParent);
    for (Path root : hierarchies.roots()) {
      try {
        if (hierarchies.isUnified(root)) {
          createUnified(root, path);
        } else {
          createV1(root, path);
        }
      } catch (IOException e) {
        throw CriException.internal(
            "cannot create cgroup " + path + " under " + root + " (" + FIELD + ")", e);
      }
    }
    return path;
  }

  /**
   * Removes the pod cgroup and every cgroup below it (bottom-up rmdir) in every hierarchy; kills
   * nothing: the caller stops the processes first. Retries briefly while the kernel still counts
   * exiting processes. Idempotent.
   *
   * @throws CriException FAILED_PRECONDITION if processes are still in it
   */
  public void remove(String cgroupParent) {
    CgroupPath path = parse(cgroupParent);
    for (Path dir : hierarchies.dirs(path)) {
      removeTree(dir);
    }
  }

  /** Moves process {@code pid} into the cgroup in every hierarchy (e.g. a pod-level helper). */
  public void addProcess(String cgroupPath, long pid) {
    CgroupPath path = CgroupPath.parse(cgroupPath, "cgroup path");
    for (Path dir : hierarchies.dirs(path)) {
      Path procs = dir.resolve("cgroup.procs");
      try {
        Files.writeString(procs, Long.toString(pid));
      } catch (IOException e) {
        throw CriException.internal("cannot move process " + pid + " into " + procs, e);
      }
    }
  }

  private static void createV1(Path root, CgroupPath path) throws IOException {
    boolean cpuset = Files.exists(root.resolve("cpuset.cpus"));
    Path parent = root;
    for (String segment : path.segments()) {
      Path dir = parent.resolve(segment);
      if (!Files.isDirectory(dir)) {
        mkdir(dir);
      }
      if (cpuset) {
        inheritIfEmpty(parent, dir, "cpuset.cpus");
        inheritIfEmpty(parent, dir, "cpuset.mems");
      }
      parent = dir;
    }
  }

  private static void inheritIfEmpty(Path parent, Path dir, String file) throws IOException {
    if (readTrimmed(dir.resolve(file)).isEmpty()) {
      Files.writeString(dir.resolve(file), readTrimmed(parent.resolve(file)));
    }
  }

  private static void createUnified(Path root, CgroupPath path) throws IOException {
    Path dir = root;
    for (int depth = 0; depth < path.depth(); depth++) {
      enableControllers(dir);
      dir = dir.resolve(path.segments().get(depth));
      if (!Files.isDirectory(dir)) {
        mkdir(dir);
      }
    }
  }

  /** Enables in {@code dir}'s children the wanted controllers that it has and has not enabled. */
  private static void enableControllers(Path dir) throws IOException {
    Set<String> available = words(dir.resolve("cgroup.controllers"));
    Set<String> enabled = words(dir.resolve("cgroup.subtree_control"));
    List<String> missing = new ArrayList<>();
    for (String controller : V2_CONTROLLERS) {
      if (available.contains(controller) && !enabled.contains(controller)) {
        missing.add("+" + controller);
      }
    }
    if (!missing.isEmpty()) {
      Path control = dir.resolve("cgroup.subtree_control");
      try {
        Files.writeString(control, String.join(" ", missing));
      } catch (IOException e) {
        throw new IOException(
            "cannot enable "
                + missing
                + " in "
                + control
                + " (a cgroup with processes of its own"
                + " cannot delegate controllers: move them to a leaf cgroup)",
            e);
      }
    }
  }

  private static void mkdir(Path dir) throws IOException {
    try {
      Files.createDirectory(dir);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      // created concurrently: fine
    }
  }

  private static void removeTree(Path top) {
    for (int attempt = 1; ; attempt++) {
      try {
        List<Path> dirs = cgroupsBelow(top);
        for (Path dir : dirs) {
          Syscalls.rmdir(dir.toString());
        }
        return;
      } catch (SyscallException e) {
        boolean transient_ =
            e.errno() == Syscalls.Errno.EBUSY || e.errno() == Syscalls.Errno.ENOTEMPTY;
        if (!transient_ || attempt >= REMOVE_ATTEMPTS) {
          List<Long> left = procsBelow(top);
          if (!left.isEmpty()) {
            throw CriException.precondition(
                "cannot remove cgroup "
                    + top
                    + ": processes "
                    + left
                    + " are still in it; stop them first");
          }
          throw CriException.internal("cannot remove cgroup " + top, e);
        }
        sleep();
      }
    }
  }

  /** {@code top} and every directory below it, deepest first; empty if {@code top} is gone. */
  static List<Path> cgroupsBelow(Path top) {
    if (!Files.isDirectory(top)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(top)) {
      return walk.filter(Files::isDirectory)
          .sorted(Comparator.comparingInt(Path::getNameCount).reversed())
          .toList();
    } catch (NoSuchFileException e) {
      return List.of(); // removed while walking: retry sees the rest
    } catch (IOException | java.io.UncheckedIOException e) {
      return List.of(top);
    }
  }

  static List<Long> procsBelow(Path top) {
    Set<Long> pids = new LinkedHashSet<>();
    for (Path dir : cgroupsBelow(top)) {
      try {
        for (String line : Files.readAllLines(dir.resolve("cgroup.procs"))) {
          if (!line.isBlank()) {
            pids.add(Long.parseLong(line.trim()));
          }
        }
      } catch (IOException e) {
        // gone meanwhile, or not a cgroup: nothing to report
      }
    }
    return new ArrayList<>(pids);
  }

  private static Set<String> words(Path file) throws IOException {
    String text = readTrimmed(file);
    return text.isEmpty() ? Set.of() : new java.util.HashSet<>(List.of(text.split("\\s+")));
  }

  private static String readTrimmed(Path file) throws IOException {
    try {
      return new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
    } catch (NoSuchFileException e) {
      return "";
    }
  }

  private static void sleep() {
    try {
      Thread.sleep(REMOVE_RETRY_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CriException.internal("interrupted while removing a cgroup", e);
    }
  }
}
