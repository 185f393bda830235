package io.spawnlet.cri.host;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A process and its descendants, read from {@code /proc/<pid>/stat}. Used to end everything an
 * exec'd command started when its client goes away: killing the command alone would leave its
 * children (a shell's pipeline, a background job) running in the container.
 */
public final class ProcessTree {
  private ProcessTree() {}

  /** {@code pid} followed by its descendants (host pids), as they are now. */
  public static List<Integer> of(int pid) {
    Map<Integer, List<Integer>> children = new HashMap<>();
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        parentOf(proc)
            .ifPresent(
                parent ->
                    children
                        .computeIfAbsent(parent, p -> new ArrayList<>())
                        .add(Integer.parseInt(proc.getFileName().toString())));
      }
    } catch (IOException e) {
      return List.of(pid);
    }
    List<Integer> tree = new ArrayList<>();
    Deque<Integer> todo = new ArrayDeque<>(List.of(pid));
    while (!todo.isEmpty()) {
      int next = todo.pop();
      tree.add(next);
      todo.addAll(children.getOrDefault(next, List.of()));
    }
    return tree;
  }

  /**
   * Sends {@code signal} to {@code pid} and all its descendants; children are listed before the
   * signal goes out, so none is re-parented away from the walk.
   */
  public static void signal(int pid, int signal) {
    for (int p : of(pid)) {
      Syscalls.kill(p, signal);
    }
  }

  private static java.util.Optional<Integer> parentOf(Path proc) {
    try {
      String stat = Files.readString(proc.resolve("stat"));
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so parse after the last
      // ')'.
      String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 3);
      return java.util.Optional.of(Integer.parseInt(rest[1]));
    } catch (IOException | RuntimeException e) {
      return java.util.Optional.empty(); // the process ended meanwhile
    }
  }
}
