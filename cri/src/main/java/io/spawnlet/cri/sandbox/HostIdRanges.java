package io.spawnlet.cri.sandbox;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.store.IdMapping;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import io.spawnlet.cri.store.UserNamespaceMapping;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Hands out host id ranges for pods' user namespaces: {@value #RANGE_SIZE} ids per pod (uids and
 * gids alike, container ids 0-65535), aligned, from {@code [base, limit)}; by default {@code [2^20,
 * 2^31)}, 32752 pods. Ids below 2^20 are left to the host's own users and to {@code /etc/subuid}
 * ranges as {@code useradd} makes them (100000 + 65536 n); ids from 2^31 on are avoided because
 * some tools still read them as signed.
 *
 * <p>The allocator keeps no file of its own: the ranges in use are those of the sandbox records in
 * the {@link StateStore} (written atomically, reloaded at start-up), plus the ranges handed to
 * RunPodSandbox calls still in flight. So a restart never hands out a range a pod still has,
 * RemovePodSandbox frees a range by deleting the record, and a RunPodSandbox that failed before
 * writing its record frees its range in its rollback ({@link #release}).
 */
public final class HostIdRanges {
  public static final long DEFAULT_BASE = 1L << 20;
  public static final long DEFAULT_LIMIT = 1L << 31;
  public static final long RANGE_SIZE = 65536;

  private final StateStore state;
  private final long base;
  private final long limit;
  private final Map<String, List<IdMapping>> inFlight = new HashMap<>();

  public HostIdRanges(StateStore state) {
    this(state, DEFAULT_BASE, DEFAULT_LIMIT);
  }

  public HostIdRanges(StateStore state, long base, long limit) {
    if (base <= 0 || base % RANGE_SIZE != 0 || limit - base < RANGE_SIZE) {
      throw new IllegalArgumentException(
          "host id ranges [" + base + ", " + limit + ") must start above 0 at a multiple of 65536");
    }
    this.state = state;
    this.base = base;
    this.limit = limit;
  }

  /** A free, aligned range for {@code sandboxId}, held until its record exists or release. */
  public synchronized UserNamespaceMapping allocate(String sandboxId) {
    List<IdMapping> taken = taken();
    taken.sort(Comparator.comparingLong(IdMapping::hostId));
    long candidate = base;
    for (IdMapping t : taken) {
      if (t.hostEnd() <= candidate) {
        continue;
      }
      if (t.hostId() >= candidate + RANGE_SIZE) {
        break; // the candidate fits below this range
      }
      candidate = alignUp(t.hostEnd());
    }
    if (candidate + RANGE_SIZE > limit) {
      throw CriException.precondition(
          "no free host id range for a user namespace: all "
              + (limit - base) / RANGE_SIZE
              + " ranges of "
              + RANGE_SIZE
              + " ids in ["
              + base
              + ", "
              + limit
              + ") are in use; remove pods, or run this one with user namespace mode NODE");
    }
    UserNamespaceMapping mapping = UserNamespaceMapping.ofRange(candidate, RANGE_SIZE);
    inFlight.put(sandboxId, mapping.hostRanges());
    return mapping;
  }

  /**
   * Holds the ranges a CRI caller chose for {@code sandboxId} (kubelet allocates its own); refuses
   * them, naming {@code field}, when another pod uses any of their host ids.
   */
  public synchronized void reserve(String sandboxId, UserNamespaceMapping given, String field) {
    for (IdMapping wanted : given.hostRanges()) {
      for (Map.Entry<String, List<IdMapping>> other : owners().entrySet()) {
        for (IdMapping used : other.getValue()) {
          if (!other.getKey().equals(sandboxId) && wanted.overlapsOnHost(used)) {
            throw CriException.invalid(
                field,
                "host ids ["
                    + wanted.hostId()
                    + ", "
                    + wanted.hostEnd()
                    + ") overlap the user namespace of pod sandbox "
                    + other.getKey()
                    + " (["
                    + used.hostId()
                    + ", "
                    + used.hostEnd()
                    + ")); give each pod its own host ids");
          }
        }
      }
    }
    inFlight.put(sandboxId, given.hostRanges());
  }

  /** The pod's record is written (it now holds the range) or its creation failed. */
  public synchronized void release(String sandboxId) {
    inFlight.remove(sandboxId);
  }

  /** Host ranges in use, by sandbox id (records and in-flight creations). */
  public synchronized Map<String, List<IdMapping>> owners() {
    Map<String, List<IdMapping>> result = new HashMap<>(inFlight);
    for (SandboxRecord s : state.sandboxes.all()) {
      s.userNamespaceMapping().ifPresent(m -> result.put(s.id(), m.hostRanges()));
    }
    return result;
  }

  private List<IdMapping> taken() {
    List<IdMapping> all = new ArrayList<>();
    owners().values().forEach(all::addAll);
    return all;
  }

  private long alignUp(long id) {
    long offset = id - base;
    return base + (offset + RANGE_SIZE - 1) / RANGE_SIZE * RANGE_SIZE;
  }
}
