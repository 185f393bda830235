package io.spawnlet.cri.store;

import java.util.List;
import java.util.Map;

/**
 * A pod sandbox as stored on disk. The metadata (who it is, how it was asked for) never changes
 * after creation; {@link #state}, {@link #ips} and the stop time do, through the store's atomic
 * update.
 *
 * <pre>
 *   RunPodSandbox ──► READY ──StopPodSandbox──► NOTREADY ──RemovePodSandbox──► (gone)
 * </pre>
 *
 * {@code userNamespace} is null for a pod in the host's user namespace.
 */
public record SandboxRecord(
    String id,
    String name,
    String namespace,
    String uid,
    int attempt,
    String runtimeHandler,
    Map<String, String> labels,
    Map<String, String> annotations,
    String configJson,
    long createdAtNanos,
    State state,
    List<String> ips,
    Map<String, String> namespacePaths,
    String cgroupParent,
    boolean hostNetwork,
    long stoppedAtNanos,
    UserNamespaceMapping userNamespace)
    implements RecordStore.Keyed {

  /** CRI PodSandboxState. */
  public enum State {
    READY,
    NOTREADY
  }

  public SandboxRecord {
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    ips = List.copyOf(ips);
    namespacePaths = Map.copyOf(namespacePaths);
  }

  /** The name a pod is unique by, as kubelet and CRI-O reserve it. */
  public String uniqueName() {
    return uniqueName(name, namespace, uid, attempt);
  }

  public static String uniqueName(String name, String namespace, String uid, int attempt) {
    return name + "_" + namespace + "_" + uid + "_" + attempt;
  }

  public SandboxRecord stopped(long nowNanos) {
    return new SandboxRecord(
        id,
        name,
        namespace,
        uid,
        attempt,
        runtimeHandler,
        labels,
        annotations,
        configJson,
        createdAtNanos,
        State.NOTREADY,
        ips,
        namespacePaths,
        cgroupParent,
        hostNetwork,
        stoppedAtNanos == 0 ? nowNanos : stoppedAtNanos,
        userNamespace);
  }

  public SandboxRecord withNamespacePaths(Map<String, String> paths) {
    return new SandboxRecord(
        id,
        name,
        namespace,
        uid,
        attempt,
        runtimeHandler,
        labels,
        annotations,
        configJson,
        createdAtNanos,
        state,
        ips,
        paths,
        cgroupParent,
        hostNetwork,
        stoppedAtNanos,
        userNamespace);
  }

  /** The pod's user namespace; empty: the host's (records written before user namespaces, too). */
  public java.util.Optional<UserNamespaceMapping> userNamespaceMapping() {
    return java.util.Optional.ofNullable(userNamespace);
  }
}
