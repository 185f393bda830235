package io.spawnlet.cri.store;

/**
 * One line of a user namespace's {@code uid_map} or {@code gid_map}: container ids {@code
 * [containerId, containerId + length)} are host ids {@code [hostId, hostId + length)}.
 */
public record IdMapping(long containerId, long hostId, long length) {
  public IdMapping {
    if (containerId < 0 || hostId < 0 || length <= 0) {
      throw new IllegalArgumentException(
          "id mapping " + containerId + " " + hostId + " " + length + ": negative or empty");
    }
  }

  public long hostEnd() {
    return hostId + length;
  }

  public long containerEnd() {
    return containerId + length;
  }

  /** Whether the host ids of the two mappings share at least one id. */
  public boolean overlapsOnHost(IdMapping other) {
    return hostId < other.hostEnd() && other.hostId < hostEnd();
  }

  /** The line as the kernel reads it from {@code /proc/<pid>/uid_map}. */
  public String mapLine() {
    return containerId + " " + hostId + " " + length + "\n";
  }
}
