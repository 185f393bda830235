package io.spawnlet.cri.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A process told apart from any later one that gets the same pid: its pid and its start time (field
 * 22 of {@code /proc/<pid>/stat}, clock ticks since boot). Kept in state files for helper processes
 * that outlive the daemon, so that a restarted daemon never signals a stranger.
 */
public record ProcessIdentity(int pid, long startTime) {

  /** The process now running as {@code pid}; empty if there is none. */
  public static Optional<ProcessIdentity> of(int pid) {
    return startTimeOf(pid).map(start -> new ProcessIdentity(pid, start));
  }

  /** Whether this very process still exists (a zombie counts until it is reaped). */
  public boolean alive() {
    return startTimeOf(pid).filter(start -> start == startTime).isPresent();
  }

  /** The start time of whatever process is {@code pid} now; empty if none. */
  public static Optional<Long> startTimeOf(int pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      // comm (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
      String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Optional.of(Long.parseLong(rest[19]));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
