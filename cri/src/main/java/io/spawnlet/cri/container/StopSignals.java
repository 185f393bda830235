package io.spawnlet.cri.container;

import io.spawnlet.cri.CriException;
import java.util.Locale;
import java.util.Map;

/** Signal names (as images and the CRI spell them) to Linux x86_64 signal numbers. */
final class StopSignals {
  private static final int SIGRTMIN = 34;
  private static final int SIGRTMAX = 64;
  private static final Map<String, Integer> NUMBERS =
      Map.ofEntries(
          Map.entry("HUP", 1),
          Map.entry("INT", 2),
          Map.entry("QUIT", 3),
          Map.entry("ILL", 4),
          Map.entry("TRAP", 5),
          Map.entry("ABRT", 6),
          Map.entry("IOT", 6),
          Map.entry("BUS", 7),
          Map.entry("FPE", 8),
          Map.entry("KILL", 9),
          Map.entry("USR1", 10),
          Map.entry("SEGV", 11),
          Map.entry("USR2", 12),
          Map.entry("PIPE", 13),
          Map.entry("ALRM", 14),
          Map.entry("TERM", 15),
          Map.entry("STKFLT", 16),
          Map.entry("CHLD", 17),
          Map.entry("CLD", 17),
          Map.entry("CONT", 18),
          Map.entry("STOP", 19),
          Map.entry("TSTP", 20),
          Map.entry("TTIN", 21),
          Map.entry("TTOU", 22),
          Map.entry("URG", 23),
          Map.entry("XCPU", 24),
          Map.entry("XFSZ", 25),
          Map.entry("VTALRM", 26),
          Map.entry("PROF", 27),
          Map.entry("WINCH", 28),
          Map.entry("IO", 29),
          Map.entry("POLL", 29),
          Map.entry("PWR", 30),
          Map.entry("SYS", 31),
          Map.entry("RTMIN", SIGRTMIN),
          Map.entry("RTMAX", SIGRTMAX));

  private StopSignals() {}

  /** "SIGTERM", "TERM", "15", "SIGRTMIN+3", the CRI enum's "SIGRTMIN_PLUS_3": all understood. */
  static int parse(String field, String name) {
    String n =
        name.trim()
            .toUpperCase(Locale.ROOT)
            .replace("_PLUS_", "+")
            .replace("PLUS", "+")
            .replace("_MINUS_", "-")
            .replace("MINUS", "-");
    if (n.matches("\\d+")) {
      int v = Integer.parseInt(n);
      if (v >= 1 && v <= SIGRTMAX) {
        return v;
      }
    }
    if (n.startsWith("SIG")) {
      n = n.substring(3);
    }
    for (String base : new String[] {"RTMIN", "RTMAX"}) {
      if (n.startsWith(base) && n.length() > base.length()) {
        int offset = Integer.parseInt(n.substring(base.length()).replace("+", ""));
        int v = NUMBERS.get(base) + offset;
        if (v >= SIGRTMIN && v <= SIGRTMAX) {
          return v;
        }
      }
    }
    Integer v = NUMBERS.get(n);
    if (v == null) {
      throw CriException.invalid(
          field, "unknown signal \"" + name + "\" (use e.g. SIGTERM or SIGRTMIN+3)");
    }
    return v;
  }
}
