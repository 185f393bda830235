package io.spawnlet.cri.host;

import io.spawnlet.cri.CriException;
import java.util.ArrayList;
import java.util.List;

/**
 * A cgroup's path relative to the root of every hierarchy, e.g. {@code kubepods/besteffort/pod1}
 * (CRI {@code cgroup_parent} in the cgroupfs driver's notation, which is a path). Validated so that
 * it can never name the root itself nor anything outside it.
 */
public record CgroupPath(List<String> segments) {
  public CgroupPath {
    segments = List.copyOf(segments);
  }

  /**
   * Parses a cgroup path given by a client.
   *
   * @param field the request field it came from, named in the error (e.g. {@code
   *     linux.cgroup_parent})
   * @throws CriException INVALID_ARGUMENT if it is empty, escapes ({@code ..}) or is in systemd
   *     slice notation
   */
  public static CgroupPath parse(String value, String field) {
    if (value == null || value.isBlank()) {
      throw CriException.invalid(field, "a cgroup path is required, e.g. /spawnlet/<sandbox id>");
    }
    if (value.indexOf(':') >= 0 || value.endsWith(".slice")) {
      throw CriException.invalid(
          field,
          "\""
              + value
              + "\" is in systemd slice notation; spawnlet manages cgroups itself (cgroupfs"
              + " driver): configure the kubelet with cgroupDriver: cgroupfs");
    }
    List<String> segments = new ArrayList<>();
    for (String segment : value.split("/")) {
      if (segment.isEmpty() || segment.equals(".")) {
        continue;
      }
      if (segment.equals("..") || segment.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
        throw CriException.invalid(
            field, "\"" + value + "\" escapes the cgroup root or contains control characters");
      }
      segments.add(segment);
    }
    if (segments.isEmpty()) {
      throw CriException.invalid(field, "\"" + value + "\" names the cgroup root itself");
    }
    return new CgroupPath(segments);
  }

  /** The path relative to a hierarchy's root, e.g. {@code kubepods/besteffort/pod1}. */
  public String relative() {
    return String.join("/", segments);
  }

  /** The first {@code depth} segments (depth 0 is the root). */
  public String prefix(int depth) {
    return String.join("/", segments.subList(0, depth));
  }

  public int depth() {
    return segments.size();
  }

  /** The path in the usual absolute notation, e.g. {@code /kubepods/besteffort/pod1}. */
  @Override
  public String toString() {
    return "/" + relative();
  }
}
