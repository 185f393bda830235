package io.spawnlet.agent.cri;

import io.spawnlet.agent.pod.PodRuntime.ContainerView;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Every container of the runtime, listed with one ListContainers for all pod workers at most once
 * per {@code maxAge} instead of a ListContainers and a ContainerStatus per container per worker per
 * poll (200 pods polled every second were over a thousand CRI calls a second).
 *
 * <p>ContainerStatus is asked only for a container that is new or whose listed state changed: what
 * it adds to the listing (exit code, start and finish times, reason) does not change while the
 * state stays the same. {@link #invalidate()} after a change this agent made (create, start, stop,
 * remove) makes the next read list again, so a worker sees its own changes at once.
 */
final class ContainerListing {
  /** The two CRI calls the listing is made of. */
  interface Source {
    /** Every container: id, sandbox id and state (ListContainers without a filter). */
    List<Listed> list();

    /** The container's full view, or empty if it was removed meanwhile (ContainerStatus). */
    Optional<ContainerView> status(String containerId);
  }

  /** One entry of ListContainers. */
  record Listed(String id, String sandboxId, ContainerView.State state) {}

  private final Source source;
  private final long maxAgeNanos;
  private final ReentrantLock lock = new ReentrantLock();
  private final AtomicLong generation = new AtomicLong();
  private final Map<String, ContainerView> views = new HashMap<>();
  private Map<String, List<ContainerView>> bySandbox = Map.of();
  private long listedAtNanos;
  private long listedGeneration = -1;

  ContainerListing(Source source, Duration maxAge) {
    this.source = source;
    this.maxAgeNanos = maxAge.toNanos();
  }

  /** The sandbox's containers as of a listing at most {@code maxAge} old (or newer). */
  List<ContainerView> containers(String sandboxId) {
    lock.lock();
    try {
      if (listedGeneration != generation.get() || System.nanoTime() - listedAtNanos > maxAgeNanos) {
        refresh();
      }
      return bySandbox.getOrDefault(sandboxId, List.of());
    } finally {
      lock.unlock();
    }
  }

  /** The next read lists again (called after every change made through the runtime). */
  void invalidate() {
    generation.incrementAndGet();
  }

  private void refresh() {
    long startedGeneration = generation.get();
    long started = System.nanoTime();
    Map<String, List<ContainerView>> next = new HashMap<>();
    Set<String> seen = new HashSet<>();
    for (Listed c : source.list()) {
      ContainerView known = views.get(c.id());
      ContainerView view;
      if (known != null && known.state() == c.state() && c.state() != ContainerView.State.UNKNOWN) {
        view = known;
      } else {
        Optional<ContainerView> status = source.status(c.id());
        if (status.isEmpty()) {
          continue; // removed between the two calls
        }
        view = status.get();
        views.put(c.id(), view);
      }
      seen.add(c.id());
      next.computeIfAbsent(c.sandboxId(), k -> new ArrayList<>()).add(view);
    }
    views.keySet().retainAll(seen);
    bySandbox = next;
    listedAtNanos = started;
    listedGeneration = startedGeneration;
  }
}
