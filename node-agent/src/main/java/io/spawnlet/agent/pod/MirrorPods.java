package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.spawnlet.agent.pod.PodStatusWriter.PodRef;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mirror pods: the apiserver's read-only copies of this node's static pods, made as the kubelet
 * makes them (annotations {@code kubernetes.io/config.mirror} = {@code config.hash} = the static
 * pod's uid, {@code config.source=file}, owned by the Node, bound to it), so {@code kubectl get
 * pods} shows static pods with their status. A mirror that is deleted or belongs to an older
 * version of the manifest is (re)created on the next {@link #sync}; mirrors of static pods that are
 * gone are deleted. Statuses go through the same {@link PodStatusUpdates} as apiserver pods.
 *
 * <p>{@link #sync} runs on the static pod controller's thread, never on a pod worker's: the workers
 * only hand snapshots to {@link #observer}, which must not wait for the apiserver.
 */
public final class MirrorPods implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MirrorPods.class);

  static final String MIRROR_ANNOTATION = "kubernetes.io/config.mirror";
  static final String HASH_ANNOTATION = "kubernetes.io/config.hash";
  static final String SOURCE_ANNOTATION = "kubernetes.io/config.source";
  private static final Duration RESYNC = Duration.ofSeconds(5);

  private final KubernetesClient client;
  private final String nodeName;
  private final List<String> hostIps;
  private final PodStatusUpdates statuses;
  private final PodEvents events;
  private final Map<String, Mirror> mirrors = new ConcurrentHashMap<>();
  private final Map<String, String> complaints = new HashMap<>();
  private String nodeUid;
  private Instant lastSync = Instant.MIN;
  private String failure;

  public MirrorPods(KubernetesClient client, String nodeName, List<String> hostIps) {
    this.client = client;
    this.nodeName = nodeName;
    this.hostIps = hostIps;
    this.statuses = new PodStatusUpdates(client);
    this.events = new PodEvents(client, nodeName);
  }

  /** Whether an apiserver pod is a mirror pod (its static pod runs it; nothing else must). */
  public static boolean isMirror(Pod pod) {
    Map<String, String> annotations = pod.getMetadata().getAnnotations();
    return annotations != null && annotations.containsKey(MIRROR_ANNOTATION);
  }

  /** The observer a static pod's worker reports to: status and events go to its mirror. */
  PodObserver observer(StaticPod pod) {
    return mirrors.computeIfAbsent(pod.key(), k -> new Mirror());
  }

  /**
   * Makes the apiserver's mirror pods match {@code pods} (every few seconds; more often calls
   * return at once): missing or outdated mirrors are created, mirrors of other pods are deleted.
   */
  void sync(Collection<StaticPod> pods) {
    Instant now = Instant.now();
    if (now.isBefore(lastSync.plus(RESYNC))) {
      return;
    }
    lastSync = now;
    try {
      if (nodeUid == null) {
        Node node = client.nodes().withName(nodeName).get();
        if (node == null) {
          return; // not registered yet: mirrors are owned by the Node, so they wait for it
        }
        nodeUid = node.getMetadata().getUid();
      }
      Map<String, StaticPod> wanted =
          pods.stream().collect(Collectors.toMap(StaticPod::key, p -> p, (a, b) -> a));
      // The Node authorizer lets a node read only pods bound to it: list those (as the kubelet's
      // informer does) instead of getting each name, which is forbidden until the mirror exists.
      Map<String, Pod> bound = new HashMap<>();
      for (Pod existing :
          client.pods().inAnyNamespace().withField("spec.nodeName", nodeName).list().getItems()) {
        bound.put(
            existing.getMetadata().getNamespace() + "/" + existing.getMetadata().getName(),
            existing);
      }
      for (StaticPod pod : wanted.values()) {
        ensure(pod, bound.get(pod.key()));
      }
      mirrors.keySet().retainAll(wanted.keySet());
      for (Map.Entry<String, Pod> e : bound.entrySet()) {
        if (isMirror(e.getValue()) && !wanted.containsKey(e.getKey())) {
          log.info("mirror pod {}: its static pod is gone, deleting it", e.getKey());
          delete(e.getValue());
        }
      }
      failure = null;
    } catch (KubernetesClientException e) {
      if (!e.getMessage().equals(failure)) {
        log.warn(
            "cannot sync mirror pods: {} (retrying every {}s)", e.getMessage(), RESYNC.toSeconds());
      }
      failure = e.getMessage();
    }
  }

  private void ensure(StaticPod pod, Pod existing) {
    Mirror mirror = mirrors.computeIfAbsent(pod.key(), k -> new Mirror());
    if (existing != null && !isMirror(existing)) {
      String message =
          "pod "
              + pod.key()
              + " exists in the apiserver and is no mirror pod: static pod "
              + pod.source()
              + " runs without one (rename it or delete that pod)";
      if (!message.equals(complaints.put(pod.key(), message))) {
        log.warn(message);
      }
      mirror.writer = null;
      return;
    }
    complaints.remove(pod.key());
    boolean current =
        existing != null
            && existing.getMetadata().getDeletionTimestamp() == null
            && pod.uid().equals(existing.getMetadata().getAnnotations().get(MIRROR_ANNOTATION));
    if (!current) {
      if (existing != null) {
        delete(existing);
      }
      existing = client.pods().inNamespace(pod.namespace()).resource(mirrorOf(pod)).create();
      log.info("mirror pod {} created (uid {})", pod.key(), existing.getMetadata().getUid());
    }
    String uid = existing.getMetadata().getUid();
    // Another writer may have changed the mirror's status (the node lifecycle controller marks
    // pods not Ready while the node's lease is stale, after an apiserver outage): send ours again.
    statuses.reconcile(uid, existing.getStatus());
    if (mirror.writer == null || !mirror.writer.pod().uid().equals(uid)) {
      mirror.writer =
          new PodStatusWriter(
              new PodRef(pod.namespace(), pod.name(), uid), hostIps, statuses, events);
    }
  }

  private void delete(Pod pod) {
    statuses.forget(pod.getMetadata().getUid());
    client
        .pods()
        .inNamespace(pod.getMetadata().getNamespace())
        .withName(pod.getMetadata().getName())
        .withGracePeriod(0)
        .delete();
  }

  private Pod mirrorOf(StaticPod staticPod) {
    Pod source = staticPod.pod();
    ObjectMeta meta = source.getMetadata();
    Map<String, String> annotations =
        new HashMap<>(Optional.ofNullable(meta.getAnnotations()).orElse(Map.of()));
    annotations.put(MIRROR_ANNOTATION, staticPod.uid());
    annotations.put(HASH_ANNOTATION, staticPod.uid());
    annotations.put(SOURCE_ANNOTATION, "file");
    return new PodBuilder(source)
        .withNewMetadata()
        .withName(staticPod.name())
        .withNamespace(staticPod.namespace())
        .withLabels(meta.getLabels())
        .withAnnotations(annotations)
        .withOwnerReferences(
            new OwnerReferenceBuilder()
                .withApiVersion("v1")
                .withKind("Node")
                .withName(nodeName)
                .withUid(nodeUid)
                .withController(true)
                .build())
        .endMetadata()
        .editSpec()
        .withNodeName(nodeName)
        .endSpec()
        .withStatus(null)
        .build();
  }

  @Override
  public void close() {
    statuses.close();
    events.close();
  }

  /** One static pod's observer: reports to its current mirror, or nowhere while it has none. */
  private static final class Mirror implements PodObserver {
    volatile PodStatusWriter writer;

    @Override
    public void synced(PodSnapshot snapshot) {
      PodStatusWriter w = writer;
      if (w != null) {
        w.synced(snapshot);
      }
    }

    @Override
    public void event(boolean warning, String reason, String message) {
      PodStatusWriter w = writer;
      if (w != null) {
        w.event(warning, reason, message);
      }
    }
  }
}
