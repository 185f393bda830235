package io.spawnlet.cri.store;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The user namespace of a pod: how its uids and gids map to the host's. Stored in the pod's {@link
 * SandboxRecord}, so the host id ranges in use are known again after a restart.
 *
 * @param uids the uid_map lines (at least one)
 * @param gids the gid_map lines (at least one)
 * @param allocated whether the daemon allocated the range (true) or the CRI caller gave it
 */
public record UserNamespaceMapping(List<IdMapping> uids, List<IdMapping> gids, boolean allocated) {
  public UserNamespaceMapping {
    uids = List.copyOf(uids);
    gids = List.copyOf(gids);
    if (uids.isEmpty() || gids.isEmpty()) {
      throw new IllegalArgumentException("a user namespace needs at least one uid and gid mapping");
    }
  }

  /** Container ids {@code [0, length)} as host ids {@code [hostBase, hostBase + length)}. */
  public static UserNamespaceMapping ofRange(long hostBase, long length) {
    List<IdMapping> one = List.of(new IdMapping(0, hostBase, length));
    return new UserNamespaceMapping(one, one, true);
  }

  /** The host uid of container uid {@code containerUid}, if mapped. */
  public Optional<Long> hostUid(long containerUid) {
    return hostId(uids, containerUid);
  }

  /** The host gid of container gid {@code containerGid}, if mapped. */
  public Optional<Long> hostGid(long containerGid) {
    return hostId(gids, containerGid);
  }

  /** The host uid the container's root is: files it owns carry this uid on the host. */
  public long rootUid() {
    return hostUid(0).orElseThrow(() -> new IllegalStateException("container uid 0 unmapped"));
  }

  public long rootGid() {
    return hostGid(0).orElseThrow(() -> new IllegalStateException("container gid 0 unmapped"));
  }

  /** Every host id this pod uses, uids and gids together (what must not be handed out again). */
  public List<IdMapping> hostRanges() {
    return Stream.concat(uids.stream(), gids.stream()).toList();
  }

  /** {@code /proc/<pid>/uid_map} content. */
  public String uidMap() {
    return uids.stream().map(IdMapping::mapLine).collect(Collectors.joining());
  }

  /** {@code /proc/<pid>/gid_map} content. */
  public String gidMap() {
    return gids.stream().map(IdMapping::mapLine).collect(Collectors.joining());
  }

  private static Optional<Long> hostId(List<IdMapping> mappings, long id) {
    for (IdMapping m : mappings) {
      if (id >= m.containerId() && id < m.containerEnd()) {
        return Optional.of(m.hostId() + (id - m.containerId()));
      }
    }
    return Optional.empty();
  }
}
