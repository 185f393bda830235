package io.spawnlet.cri;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Checks on what a CRI client sends, before anything is created. Every failure is an
 * INVALID_ARGUMENT naming the field. Ids and paths are checked so that nothing derived from a
 * request can reach outside spawnlet's directories.
 */
public final class Validation {
  private static final int MAX_NAME = 253;
  private static final List<Path> FORBIDDEN_LOG_ROOTS =
      List.of(
              "/proc",
              "/sys",
              "/dev",
              "/etc",
              "/boot",
              "/usr",
              "/bin",
              "/sbin",
              "/lib",
              "/lib64",
              "/run/spawnlet",
              "/var/lib/spawnlet")
          .stream()
          .map(Path::of)
          .toList();

  private Validation() {}

  /**
   * A sandbox or container id, full or an unambiguous prefix. Only an empty or unprintable value is
   * invalid: any other string that is not one of our (hex) ids is simply not found, because the CRI
   * wants Stop/Remove of an unknown id to succeed (critest's idempotence specs use UUIDs).
   */
  public static String id(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw CriException.invalid(field, "is required");
    }
    if (value.length() > 256 || !value.chars().allMatch(c -> c >= 0x21 && c < 0x7f)) {
      throw CriException.invalid(
          field,
          "\""
              + printable(value)
              + "\" is not a spawnlet id (1-64 lower-case hex characters, as listed by crictl pods/ps)");
    }
    return value;
  }

  /** A metadata name or namespace: required, printable, no path separators. */
  public static String name(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw CriException.invalid(field, "is required");
    }
    if (value.length() > MAX_NAME) {
      throw CriException.invalid(field, "is longer than " + MAX_NAME + " characters");
    }
    if (value.contains("/") || value.equals(".") || value.equals("..") || hasControl(value)) {
      throw CriException.invalid(
          field,
          "\"" + printable(value) + "\" must not contain '/', control characters or be '.'/'..'");
    }
    return value;
  }

  public static void keyValues(String field, Map<String, String> kv) {
    kv.forEach(
        (k, v) -> {
          if (k.isEmpty() || k.length() > 317 || hasControl(k)) {
            throw CriException.invalid(
                field, "key \"" + printable(k) + "\" must be 1-317 printable characters");
          }
          if (hasControl(v.replace("\n", "").replace("\t", ""))) {
            throw CriException.invalid(field + "[" + k + "]", "value has control characters");
          }
        });
  }

  /** A pod's log directory: absolute, normalised, not inside a system or spawnlet directory. */
  public static Path logDirectory(String field, String value) {
    if (value.isEmpty()) {
      return null;
    }
    Path p = Path.of(value);
    if (!p.isAbsolute()
        || !p.normalize().equals(p)
        || value.contains("/../")
        || value.endsWith("/..")) {
      throw CriException.invalid(
          field,
          "\""
              + printable(value)
              + "\" must be an absolute, normalised path (no '..'), e.g. /var/log/pods/<ns>_<name>_<uid>");
    }
    for (Path root : FORBIDDEN_LOG_ROOTS) {
      if (p.startsWith(root)) {
        throw CriException.invalid(
            field,
            "\""
                + value
                + "\" is inside "
                + root
                + ", where spawnlet will not write logs; use a directory under /var/log/pods");
      }
    }
    if (p.getNameCount() == 0) {
      throw CriException.invalid(field, "must not be /");
    }
    return p;
  }

  /** A container's log path: relative to the pod's log directory and staying inside it. */
  public static Path logPath(String field, Path logDirectory, String value) {
    if (value.isEmpty()) {
      return null;
    }
    if (logDirectory == null) {
      throw CriException.invalid(field, "is set but the pod sandbox has no log_directory");
    }
    Path rel = Path.of(value);
    Path full = logDirectory.resolve(rel).normalize();
    if (rel.isAbsolute() || !full.startsWith(logDirectory) || full.equals(logDirectory)) {
      throw CriException.invalid(
          field,
          "\""
              + printable(value)
              + "\" must be a relative path inside the pod's log_directory, e.g. <container>/0.log");
    }
    return full;
  }

  private static boolean hasControl(String s) {
    return s.chars().anyMatch(c -> c < 0x20 || c == 0x7f);
  }

  private static String printable(String s) {
    String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }
}
