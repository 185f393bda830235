package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a pod's env and volumes read besides the pod itself: configMaps, secrets and service account
 * tokens from the apiserver, and the node's own facts. Static pods without an apiserver get {@link
 * #standalone}, which makes the planner refuse fields that need one.
 */
public interface PodInputs {

  /** Whether configMaps, secrets and tokens can be read at all. */
  boolean hasApiserver();

  Optional<ConfigMap> configMap(String namespace, String name);

  Optional<Secret> secret(String namespace, String name);

  /** The Services of {@code namespace} (for the service link variables). */
  List<Service> services(String namespace);

  /** A bound token (TokenRequest) for the pod's service account, for {@code audience}. */
  String serviceAccountToken(Pod pod, String audience, long expirationSeconds);

  String nodeName();

  /** The node's IPs, the pod's status.hostIP(s). */
  List<String> hostIps();

  /** The node's allocatable resources: a resourceFieldRef to an unset limit reads these. */
  Map<String, Quantity> nodeAllocatable();

  static PodInputs standalone(String nodeName) {
    return new PodInputs() {
      @Override
      public boolean hasApiserver() {
        return false;
      }

      @Override
      public Optional<ConfigMap> configMap(String namespace, String name) {
        return Optional.empty();
      }

      @Override
      public Optional<Secret> secret(String namespace, String name) {
        return Optional.empty();
      }

      @Override
      public List<Service> services(String namespace) {
        return List.of(); // no apiserver, no Services: a static pod gets no service links
      }

      @Override
      public String serviceAccountToken(Pod pod, String audience, long expirationSeconds) {
        throw new PodInputException("no apiserver to issue a service account token");
      }

      @Override
      public String nodeName() {
        return nodeName;
      }

      @Override
      public List<String> hostIps() {
        return List.of();
      }

      @Override
      public Map<String, Quantity> nodeAllocatable() {
        return Map.of();
      }
    };
  }
}
