package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.spawnlet.agent.pod.PodRuntime.SandboxView;
import io.spawnlet.agent.pod.PodStatusWriter.PodRef;
import io.spawnlet.agent.probe.ProbeRunner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The apiserver pod source: an informer on the pods bound to this node ({@code
 * spec.nodeName=<node>}) and one {@link PodWorker} per pod uid, the same workers static pods use.
 *
 * <pre>
 *   pod added      → worker started (it adopts a sandbox left by an earlier agent run)
 *   deletionTimestamp set → worker terminates the pod with deletionGracePeriodSeconds,
 *                           then the pod object is deleted with grace 0 (the kubelet's final delete)
 *   pod gone from the apiserver (force delete) → pod stopped and removed
 *   start-up, once synced → sandboxes of apiserver pods that no longer exist are removed
 * </pre>
 *
 * Pods already Succeeded or Failed get no new worker: their containers are not run again.
 */
public final class ApiPodController implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ApiPodController.class);

  private final KubernetesClient client;
  private final AgentSettings settings;
  private final PodRuntime runtime;
  private final ApiPodInputs inputs;
  private final PodPlanner planner;
  private final PodTerminator terminator;
  private final ProbeRunner prober;
  private final PodStatusUpdates statuses;
  private final PodEvents events;
  private final Map<String, Pod> pods = new ConcurrentHashMap<>();
  private final Map<String, PodWorker> workers = new ConcurrentHashMap<>();
  private final Set<String> terminating = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;
  private final AtomicBoolean closing = new AtomicBoolean();
  private SharedIndexInformer<Pod> informer;

  public ApiPodController(
      KubernetesClient client, AgentSettings settings, PodRuntime runtime, ApiPodInputs inputs) {
    this.client = client;
    this.settings = settings;
    this.runtime = runtime;
    this.inputs = inputs;
    this.planner = new PodPlanner(settings);
    this.terminator = new PodTerminator(runtime, settings.stateDir());
    this.prober = new ProbeRunner(runtime);
    this.statuses = new PodStatusUpdates(client);
    this.events = new PodEvents(client, settings.nodeName());
  }

  /** Starts the informer; workers start as pods arrive. Returns at once. */
  public void start() {
    informer =
        client
            .pods()
            .inAnyNamespace()
            .withField("spec.nodeName", settings.nodeName())
            .runnableInformer(0);
    informer.addEventHandler(
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(Pod pod) {
            sync(pod);
          }

          @Override
          public void onUpdate(Pod old, Pod pod) {
            statuses.reconcile(pod.getMetadata().getUid(), pod.getStatus());
            sync(pod);
          }

          @Override
          public void onDelete(Pod pod, boolean finalStateUnknown) {
            gone(pod);
          }
        });
    informer.start();
    Thread.ofVirtual().name("orphan sandboxes").start(this::removeOrphansOnceSynced);
    log.info("watching pods bound to node {}", settings.nodeName());
  }

  private void removeOrphansOnceSynced() {
    try {
      while (!informer.hasSynced()) {
        if (closed) {
          return;
        }
        Thread.sleep(200);
      }
    } catch (InterruptedException e) {
      return;
    }
    Set<String> known =
        informer.getStore().list().stream()
            .map(p -> p.getMetadata().getUid())
            .collect(Collectors.toSet());
    Set<String> done = new java.util.HashSet<>();
    for (SandboxView s :
        runtime.sandboxes(Map.of(PodPlanner.SOURCE_LABEL, PodPlanner.API_SOURCE))) {
      String uid = s.labels().getOrDefault(PodPlanner.POD_UID_LABEL, "");
      if (known.contains(uid) || workers.containsKey(uid) || !done.add(uid)) {
        continue;
      }
      String key =
          s.labels().getOrDefault(PodPlanner.POD_NAMESPACE_LABEL, "?")
              + "/"
              + s.labels().getOrDefault(PodPlanner.POD_NAME_LABEL, "?");
      log.info("pod {} (uid {}) is no longer in the apiserver: removing it", key, uid);
      terminator.terminate(key, uid, Duration.ZERO);
    }
  }

  private synchronized void sync(Pod pod) {
    if (closed || MirrorPods.isMirror(pod)) {
      return; // a mirror pod's static pod runs it; MirrorPods keeps the mirror
    }
    String uid = pod.getMetadata().getUid();
    pods.put(uid, pod);
    String key = key(pod);
    if (pod.getMetadata().getDeletionTimestamp() != null) {
      if (terminating.add(uid)) {
        long seconds =
            Objects.requireNonNullElse(
                pod.getMetadata().getDeletionGracePeriodSeconds(),
                Objects.requireNonNullElse(pod.getSpec().getTerminationGracePeriodSeconds(), 30L));
        Duration grace = Duration.ofSeconds(Math.max(0, seconds));
        log.info("pod {} is being deleted: stopping it (grace {}s)", key, grace.toSeconds());
        events.record(ref(pod), false, "Killing", "Stopping the pod's containers");
        PodWorker worker = workers.remove(uid);
        Thread.ofVirtual().name("delete " + key).start(() -> finishDeletion(pod, worker, grace));
      }
      return;
    }
    if (workers.containsKey(uid) || terminating.contains(uid)) {
      return;
    }
    String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    if ("Succeeded".equals(phase) || "Failed".equals(phase)) {
      return;
    }
    PodRef ref = ref(pod);
    PodStatusWriter writer = new PodStatusWriter(ref, inputs.hostIps(), statuses, events);
    PodWorker worker =
        new PodWorker(
            key,
            uid,
            ips -> plan(pods.getOrDefault(uid, pod), ips),
            runtime,
            terminator,
            writer,
            prober,
            settings.pollInterval());
    workers.put(uid, worker);
    worker.start();
  }

  /**
   * Plans the pod with its configMaps, secrets and tokens read now. An apiserver that cannot be
   * reached is an input that is missing for now: a running pod keeps its plan and is kept running
   * (probes, restarts) until the apiserver is back, instead of its worker failing every sync.
   */
  private PodPlan plan(Pod pod, List<String> ips) {
    try {
      return planner.plan(pod, inputs, ips);
    } catch (KubernetesClientException e) {
      throw new PodInputException(
          "cannot read the pod's configMaps, secrets or tokens from the apiserver: "
              + e.getMessage());
    }
  }

  /** Stops and removes the pod, then deletes its object for good (the kubelet's final delete). */
  private void finishDeletion(Pod pod, PodWorker worker, Duration grace) {
    String uid = pod.getMetadata().getUid();
    try {
      if (worker != null) {
        worker.terminate(grace);
        worker.join();
      } else {
        terminator.terminate(key(pod), uid, grace);
      }
      client
          .pods()
          .inNamespace(pod.getMetadata().getNamespace())
          .withName(pod.getMetadata().getName())
          .withGracePeriod(0)
          .delete();
      log.info("pod {} deleted", key(pod));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (KubernetesClientException e) {
      log.warn(
          "pod {}: final delete failed: {} (will retry on the next update)",
          key(pod),
          e.getMessage());
      terminating.remove(uid);
    }
  }

  private synchronized void gone(Pod pod) {
    String uid = pod.getMetadata().getUid();
    pods.remove(uid);
    statuses.forget(uid);
    inputs.forget(uid);
    PodWorker worker = workers.remove(uid);
    if (worker != null && !terminating.contains(uid)) {
      log.info("pod {} was removed from the apiserver: stopping it", key(pod));
      worker.terminate();
    }
    terminating.remove(uid);
  }

  private static PodRef ref(Pod pod) {
    return new PodRef(
        pod.getMetadata().getNamespace(), pod.getMetadata().getName(), pod.getMetadata().getUid());
  }

  private static String key(Pod pod) {
    return pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
  }

  /**
   * The node is leaving the cluster ({@code spawnlet nodes release}): stops watching, then stops
   * and removes every pod this controller ran, each with its termination grace period, in parallel.
   * Their objects are left to the apiserver (they go with the Node).
   */
  public void releaseAll() {
    close();
    List<Thread> stops = new ArrayList<>();
    Set<String> done = new HashSet<>();
    for (SandboxView s :
        runtime.sandboxes(Map.of(PodPlanner.SOURCE_LABEL, PodPlanner.API_SOURCE))) {
      String uid = s.labels().getOrDefault(PodPlanner.POD_UID_LABEL, "");
      if (!done.add(uid)) {
        continue;
      }
      Pod pod = pods.get(uid);
      long seconds =
          pod == null || pod.getSpec().getTerminationGracePeriodSeconds() == null
              ? 30L
              : pod.getSpec().getTerminationGracePeriodSeconds();
      String key =
          s.labels().getOrDefault(PodPlanner.POD_NAMESPACE_LABEL, "?")
              + "/"
              + s.labels().getOrDefault(PodPlanner.POD_NAME_LABEL, "?");
      log.info("node released: stopping and removing pod {}", key);
      stops.add(
          Thread.ofVirtual()
              .name("release " + key)
              .start(
                  () -> {
                    try {
                      terminator.terminate(key, uid, Duration.ofSeconds(seconds));
                    } catch (RuntimeException e) {
                      log.warn("node released: cannot remove pod {}: {}", key, e.getMessage());
                    }
                  }));
    }
    for (Thread t : stops) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Stops the informer and the workers; the pods keep running (an agent restart adopts them). */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) {
      return;
    }
    closed = true;
    if (informer != null) {
      informer.stop();
    }
    List<PodWorker> all = new ArrayList<>(workers.values());
    all.forEach(PodWorker::detach);
    for (PodWorker w : all) {
      try {
        w.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    statuses.close();
    events.close();
  }
}
