package io.spawnlet.cri.container;

import io.spawnlet.cri.events.ContainerEvents;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.StateStore;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.ContainerEventType;

/**
 * Where container exits land. conmon writes each exit code to the exit directory; the OCI exit
 * monitor reports it here; the record gets its finish time and code (once), waiters of
 * StopContainer are released and a CONTAINER_STOPPED event goes out.
 */
public final class ContainerExits {
  private static final Logger log = LoggerFactory.getLogger(ContainerExits.class);
  private final StateStore state;
  private final ContainerEvents events;
  private final ConcurrentHashMap<String, CompletableFuture<ContainerRecord>> waiters =
      new ConcurrentHashMap<>();

  // Socket activation hook (io.spawnlet.cri.activation): a no-op unless the daemon sets it.
  private io.spawnlet.cri.activation.PodActivation activation =
      io.spawnlet.cri.activation.PodActivation.NONE;

  public void useActivation(io.spawnlet.cri.activation.PodActivation activation) {
    this.activation = activation;
  }

  // Whether an exit was the OOM killer's: never, unless the daemon sets it.
  private Predicate<ContainerRecord> oomKilled = c -> false;

  public void useOomKills(OomKills oomKills) {
    this.oomKilled = oomKills::killed;
  }

  public ContainerExits(StateStore state, ContainerEvents events) {
    this.state = state;
    this.events = events;
  }

  /** Records an exit; unknown containers (already removed) are ignored. */
  public void exited(String id, int exitCode, long finishedAtNanos) {
    if (activation.absorbsExit(id, exitCode)) {
      return; // a socket-activated container went to sleep: still RUNNING to the CRI
    }
    var updated =
        state.containers.update(
            id, c -> c.exited(finishedAtNanos, exitCode, reason(c, exitCode), ""));
    updated.ifPresent(
        c -> {
          log.info("container {} exited with code {}", id, c.exitCode());
          events.publish(
              () -> ContainerEvents.event(id, ContainerEventType.CONTAINER_STOPPED_EVENT).build());
          CompletableFuture<ContainerRecord> w = waiters.remove(id);
          if (w != null) {
            w.complete(c);
          }
        });
  }

  /** The CRI's reason words, as the kubelet shows them: Completed, OOMKilled, Error. */
  private String reason(ContainerRecord c, int exitCode) {
    if (exitCode == 0) {
      return "Completed";
    }
    return oomKilled.test(c) ? "OOMKilled" : "Error";
  }

  /** Waits until the container's exit is recorded; true if it was within {@code timeout}. */
  public boolean await(String id, Duration timeout) {
    var cur = state.containers.get(id);
    if (cur.isEmpty() || cur.get().state() == ContainerRecord.State.EXITED) {
      return true;
    }
    CompletableFuture<ContainerRecord> f =
        waiters.computeIfAbsent(id, k -> new CompletableFuture<>());
    // The exit may have been recorded between the check and the registration.
    cur = state.containers.get(id);
    if (cur.isEmpty() || cur.get().state() == ContainerRecord.State.EXITED) {
      waiters.remove(id, f);
      return true;
    }
    try {
      f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException e) {
      return false;
    }
  }
}
