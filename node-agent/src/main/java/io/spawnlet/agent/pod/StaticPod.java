package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.Pod;
import java.nio.file.Path;

/**
 * A pod read from a manifest file, with the uid the agent gave it (a hash of its content: an edit
 * makes a new pod, like the kubelet's static pods).
 */
public record StaticPod(Pod pod, String uid, Path source) {
  public String namespace() {
    String ns = pod.getMetadata().getNamespace();
    return ns == null || ns.isEmpty() ? "default" : ns;
  }

  public String name() {
    return pod.getMetadata().getName();
  }

  public String key() {
    return namespace() + "/" + name();
  }
}
