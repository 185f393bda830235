package io.spawnlet.cri.oci;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * This process's own hard resource limits. The runtime runs as our child with them, and without
 * CAP_SYS_RESOURCE (our hosts' root lacks it) it cannot raise a limit above them: every rlimit we
 * put in a spec is clamped to these.
 */
public record HostLimits(Map<String, Long> hard) {
  public HostLimits {
    hard = Map.copyOf(hard);
  }

  /** Reads /proc/self/limits; "unlimited" becomes {@link Long#MAX_VALUE}. */
  public static HostLimits ofThisProcess() {
    try {
      return parse(Files.readString(Path.of("/proc/self/limits")));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/self/limits", e);
    }
  }

  static HostLimits parse(String procLimits) {
    Map<String, String> names =
        Map.ofEntries(
            Map.entry("Max cpu time", "RLIMIT_CPU"),
            Map.entry("Max file size", "RLIMIT_FSIZE"),
            Map.entry("Max data size", "RLIMIT_DATA"),
            Map.entry("Max stack size", "RLIMIT_STACK"),
            Map.entry("Max core file size", "RLIMIT_CORE"),
            Map.entry("Max resident set", "RLIMIT_RSS"),
            Map.entry("Max processes", "RLIMIT_NPROC"),
            Map.entry("Max open files", "RLIMIT_NOFILE"),
            Map.entry("Max locked memory", "RLIMIT_MEMLOCK"),
            Map.entry("Max address space", "RLIMIT_AS"),
            Map.entry("Max file locks", "RLIMIT_LOCKS"),
            Map.entry("Max pending signals", "RLIMIT_SIGPENDING"),
            Map.entry("Max msgqueue size", "RLIMIT_MSGQUEUE"),
            Map.entry("Max nice priority", "RLIMIT_NICE"),
            Map.entry("Max realtime priority", "RLIMIT_RTPRIO"),
            Map.entry("Max realtime timeout", "RLIMIT_RTTIME"));
    Map<String, Long> hard = new HashMap<>();
    for (String line : procLimits.split("\n")) {
      for (var e : names.entrySet()) {
        if (line.startsWith(e.getKey())) {
          String[] cols = line.substring(e.getKey().length()).trim().split("\\s+");
          if (cols.length >= 2) {
            hard.put(
                e.getValue(),
                cols[1].equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(cols[1]));
          }
        }
      }
    }
    return new HostLimits(hard);
  }

  /** {@code wanted} lowered to our hard limit for {@code rlimit} (e.g. "RLIMIT_NOFILE"). */
  public long clamp(String rlimit, long wanted) {
    return Math.min(wanted, Optional.ofNullable(hard.get(rlimit)).orElse(Long.MAX_VALUE));
  }
}
