package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.spawnlet.agent.pod.PodStatusWriter.PodRef;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kubelet's status manager: the newest wanted status of each pod, sent by one thread as a
 * strategic merge patch of {@code pods/status} (with the pod's uid, so a recreated pod of the same
 * name is not patched). Workers never wait for the apiserver: while it is down the newest status
 * waits here and goes out when it is back.
 */
final class PodStatusUpdates implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodStatusUpdates.class);

  private final KubernetesClient client;
  private final Map<String, Pending> pending = new LinkedHashMap<>();
  private final Map<String, String> sent = new java.util.concurrent.ConcurrentHashMap<>();
  private final Thread thread;
  private volatile boolean closed;

  private record Pending(PodRef pod, String statusJson) {}

  PodStatusUpdates(KubernetesClient client) {
    this.client = client;
    this.thread = Thread.ofVirtual().name("pod status").start(this::run);
  }

  /** Queues {@code status} unless it is what was sent last (timestamps of conditions aside). */
  void offer(PodRef pod, PodStatus status) {
    String json = Serialization.asJson(status);
    if (status.getReason() == null && json.startsWith("{\"")) {
      // A merge patch leaves out what it does not name: a pod-level reason of an earlier status
      // (CreateContainerConfigError while an input was missing) would stay for good.
      json = "{\"reason\":null,\"message\":null," + json.substring(1);
    }
    if (json.equals(sent.get(pod.uid()))) {
      return;
    }
    synchronized (pending) {
      pending.put(pod.uid(), new Pending(pod, json));
      pending.notifyAll();
    }
  }

  /**
   * Compares the apiserver's copy of a pod's status with what was sent last: when another writer
   * changed the phase or a condition this agent owns (the node lifecycle controller marks pods not
   * Ready while the node's lease is stale, e.g. after an apiserver outage), the next {@link #offer}
   * goes out again even if the agent's view did not change, as the kubelet's status manager does.
   */
  void reconcile(String uid, PodStatus current) {
    String json = sent.get(uid);
    if (json == null || current == null) {
      return;
    }
    PodStatus mine = Serialization.unmarshal(json, PodStatus.class);
    boolean phaseDiffers = mine.getPhase() != null && !mine.getPhase().equals(current.getPhase());
    Map<String, String> theirs = new java.util.HashMap<>();
    current.getConditions().forEach(c -> theirs.put(c.getType(), c.getStatus()));
    boolean conditionDiffers =
        mine.getConditions().stream()
            .anyMatch(c -> !Objects.equals(c.getStatus(), theirs.get(c.getType())));
    if (phaseDiffers || conditionDiffers) {
      sent.remove(uid, json);
    }
  }

  /** Forgets a pod that is gone. */
  void forget(String uid) {
    sent.remove(uid);
    synchronized (pending) {
      pending.remove(uid);
    }
  }

  private void run() {
    boolean failing = false;
    while (!closed) {
      Pending next;
      synchronized (pending) {
        while (pending.isEmpty() && !closed) {
          try {
            pending.wait();
          } catch (InterruptedException e) {
            return;
          }
        }
        if (closed) {
          return;
        }
        var it = pending.values().iterator();
        next = it.next();
        it.remove();
      }
      try {
        send(next);
        sent.put(next.pod().uid(), next.statusJson());
        if (failing) {
          log.info("pod statuses reach the apiserver again");
        }
        failing = false;
      } catch (KubernetesClientException e) {
        if (e.getCode() == 404 || e.getCode() == 409) {
          continue; // the pod is gone, or is another pod now: nothing to report
        }
        if (e.getCode() == 422) {
          // The apiserver refuses this status for good: retrying it would fail the same way and
          // hold up other pods' statuses. The next different status is sent again.
          log.warn(
              "the apiserver refused the status of pod {}/{}: {}",
              next.pod().namespace(),
              next.pod().name(),
              e.getMessage());
          sent.put(next.pod().uid(), next.statusJson());
          continue;
        }
        if (!failing) {
          log.warn(
              "cannot patch the status of pod {}/{}: {} (retrying)",
              next.pod().namespace(),
              next.pod().name(),
              e.getMessage());
        }
        failing = true;
        synchronized (pending) {
          pending.putIfAbsent(next.pod().uid(), next);
        }
        try {
          Thread.sleep(1000);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  private void send(Pending p) {
    String body =
        "{\"metadata\":{\"uid\":"
            + Serialization.asJson(p.pod().uid())
            + "},\"status\":"
            + p.statusJson()
            + "}";
    client
        .pods()
        .inNamespace(p.pod().namespace())
        .withName(p.pod().name())
        .subresource("status")
        .patch(PatchContext.of(PatchType.STRATEGIC_MERGE), body);
  }

  @Override
  public void close() {
    closed = true;
    synchronized (pending) {
      pending.notifyAll();
    }
    thread.interrupt();
    Objects.requireNonNull(thread);
  }
}
