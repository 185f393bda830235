package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.spawnlet.agent.node.Times;
import io.spawnlet.agent.pod.PodStatusWriter.PodRef;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kubernetes Events about pods (core/v1, source {@code spawnlet} on this node), sent by one thread
 * from a bounded queue: a worker never waits for the apiserver, and when it is down events are
 * dropped rather than piling up. The same reason and message for a pod within a minute is sent once
 * (the kubelet aggregates similarly).
 */
final class PodEvents implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodEvents.class);
  private static final Duration REPEAT = Duration.ofMinutes(1);

  private final KubernetesClient client;
  private final String nodeName;
  private final BlockingQueue<Event> queue = new ArrayBlockingQueue<>(1000);
  private final Map<String, Instant> recent = new ConcurrentHashMap<>();
  private final Thread thread;

  PodEvents(KubernetesClient client, String nodeName) {
    this.client = client;
    this.nodeName = nodeName;
    this.thread = Thread.ofVirtual().name("pod events").start(this::run);
  }

  void record(PodRef pod, boolean warning, String reason, String message) {
    Instant now = Instant.now();
    String key = pod.uid() + "|" + reason + "|" + message;
    Instant last = recent.get(key);
    if (last != null && now.isBefore(last.plus(REPEAT))) {
      return;
    }
    recent.put(key, now);
    recent.values().removeIf(t -> now.isAfter(t.plus(REPEAT)));
    String time = Times.seconds(now);
    Event e =
        new EventBuilder()
            .withNewMetadata()
            .withName(pod.name() + "." + Long.toHexString(System.nanoTime()))
            .withNamespace(pod.namespace())
            .endMetadata()
            .withNewInvolvedObject()
            .withApiVersion("v1")
            .withKind("Pod")
            .withNamespace(pod.namespace())
            .withName(pod.name())
            .withUid(pod.uid())
            .endInvolvedObject()
            .withType(warning ? "Warning" : "Normal")
            .withReason(reason)
            .withMessage(message)
            .withNewSource("spawnlet", nodeName)
            .withReportingComponent("spawnlet")
            .withReportingInstance(nodeName)
            .withFirstTimestamp(time)
            .withLastTimestamp(time)
            .withCount(1)
            .build();
    if (!queue.offer(e)) {
      log.debug("event queue full: dropping {} {}", reason, message);
    }
  }

  private void run() {
    while (true) {
      Event e;
      try {
        e = queue.take();
      } catch (InterruptedException ie) {
        return;
      }
      try {
        client.v1().events().inNamespace(e.getMetadata().getNamespace()).resource(e).create();
      } catch (KubernetesClientException ex) {
        log.debug("cannot record event {}: {}", e.getReason(), ex.getMessage());
      }
    }
  }

  @Override
  public void close() {
    thread.interrupt();
  }
}
