package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceFieldSelector;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A container's environment the kubelet's way: envFrom first (configMaps and secrets, with their
 * prefix), then env in order, each value {@code $(VAR)}-expanded against what came before; values
 * from fieldRef (the downward API), resourceFieldRef, configMapKeyRef and secretKeyRef; then the
 * service links ({@link ServiceLinks}) that no entry of the container's set.
 */
final class EnvResolver {
  private final PodInputs inputs;

  EnvResolver(PodInputs inputs) {
    this.inputs = inputs;
  }

  Map<String, String> resolve(Pod pod, Container c, String field, List<String> podIps) {
    Map<String, String> env = new LinkedHashMap<>();
    // $(VAR) sees the service links too, which come last and never override the container's own.
    Map<String, String> services = serviceLinks(pod);
    Map<String, String> scope = new HashMap<>(services);
    String ns = namespace(pod);
    List<EnvFromSource> from = Objects.requireNonNullElse(c.getEnvFrom(), List.of());
    for (int i = 0; i < from.size(); i++) {
      EnvFromSource s = from.get(i);
      String f = field + ".envFrom[" + i + "]";
      needApiserver(f);
      String prefix = Objects.requireNonNullElse(s.getPrefix(), "");
      if (s.getConfigMapRef() != null) {
        boolean optional = Boolean.TRUE.equals(s.getConfigMapRef().getOptional());
        configMap(ns, s.getConfigMapRef().getName(), optional)
            .ifPresent(cm -> configMapData(cm).forEach((k, v) -> put(env, scope, prefix + k, v)));
      } else if (s.getSecretRef() != null) {
        boolean optional = Boolean.TRUE.equals(s.getSecretRef().getOptional());
        secret(ns, s.getSecretRef().getName(), optional)
            .ifPresent(
                sec -> secretData(sec).forEach((k, v) -> put(env, scope, prefix + k, utf8(v))));
      } else {
        throw new PodRefusedException(f, "needs configMapRef or secretRef");
      }
    }
    List<EnvVar> vars = Objects.requireNonNullElse(c.getEnv(), List.of());
    for (int i = 0; i < vars.size(); i++) {
      EnvVar e = vars.get(i);
      String f = field + ".env[" + i + "]";
      if (e.getName() == null || e.getName().isEmpty()) {
        throw new PodRefusedException(f + ".name", "missing");
      }
      if (e.getValueFrom() == null) {
        // Later entries may refer to earlier ones, as in Kubernetes.
        put(
            env,
            scope,
            e.getName(),
            PodPlanner.expand(Objects.requireNonNullElse(e.getValue(), ""), scope));
      } else {
        valueFrom(pod, e.getValueFrom(), f + ".valueFrom", podIps)
            .ifPresent(v -> put(env, scope, e.getName(), v));
      }
    }
    services.forEach(env::putIfAbsent);
    return env;
  }

  private static void put(Map<String, String> env, Map<String, String> scope, String k, String v) {
    env.put(k, v);
    scope.put(k, v);
  }

  /**
   * The kubelet's service links: the variables of the Services in the pod's namespace (unless
   * enableServiceLinks is false) and always of the apiserver's own Service ({@code
   * default/kubernetes}); a Service of the pod's namespace wins over it on a clash. None without an
   * apiserver.
   */
  private Map<String, String> serviceLinks(Pod pod) {
    if (!inputs.hasApiserver()) {
      return Map.of();
    }
    String ns = namespace(pod);
    Map<String, Service> byName = new HashMap<>();
    inputs.services(ServiceLinks.MASTER_NAMESPACE).stream()
        .filter(s -> s.getMetadata().getName().equals(ServiceLinks.MASTER_SERVICE))
        .forEach(s -> byName.put(s.getMetadata().getName(), s));
    if (!Boolean.FALSE.equals(pod.getSpec().getEnableServiceLinks())) {
      inputs.services(ns).forEach(s -> byName.put(s.getMetadata().getName(), s));
    }
    return ServiceLinks.env(List.copyOf(byName.values()));
  }

  private Optional<String> valueFrom(Pod pod, EnvVarSource src, String f, List<String> podIps) {
    String ns = namespace(pod);
    if (src.getFieldRef() != null) {
      return Optional.of(fieldValue(pod, src.getFieldRef().getFieldPath(), f, podIps));
    }
    if (src.getResourceFieldRef() != null) {
      return Optional.of(resourceValue(pod, src.getResourceFieldRef(), null, f));
    }
    if (src.getConfigMapKeyRef() != null) {
      needApiserver(f);
      var ref = src.getConfigMapKeyRef();
      boolean optional = Boolean.TRUE.equals(ref.getOptional());
      Optional<String> v =
          configMap(ns, ref.getName(), optional).map(cm -> configMapData(cm).get(ref.getKey()));
      if (v.isEmpty() && !optional) {
        throw new PodInputException(
            "key " + ref.getKey() + " not found in configmap " + ns + "/" + ref.getName());
      }
      return v;
    }
    if (src.getSecretKeyRef() != null) {
      needApiserver(f);
      var ref = src.getSecretKeyRef();
      boolean optional = Boolean.TRUE.equals(ref.getOptional());
      Optional<String> v =
          secret(ns, ref.getName(), optional)
              .map(s -> secretData(s).get(ref.getKey()))
              .map(EnvResolver::utf8);
      if (v.isEmpty() && !optional) {
        throw new PodInputException(
            "key " + ref.getKey() + " not found in secret " + ns + "/" + ref.getName());
      }
      return v;
    }
    throw new PodRefusedException(
        f, "needs fieldRef, resourceFieldRef, configMapKeyRef or secretKeyRef");
  }

  /** The downward API's pod fields, as env values and downwardAPI volume files. */
  String fieldValue(Pod pod, String path, String f, List<String> podIps) {
    var meta = pod.getMetadata();
    String p = Objects.requireNonNullElse(path, "");
    if (p.startsWith("metadata.labels['") && p.endsWith("']")) {
      return mapEntry(meta.getLabels(), p.substring(17, p.length() - 2));
    }
    if (p.startsWith("metadata.annotations['") && p.endsWith("']")) {
      return mapEntry(meta.getAnnotations(), p.substring(22, p.length() - 2));
    }
    return switch (p) {
      case "metadata.name" -> meta.getName();
      case "metadata.namespace" -> namespace(pod);
      case "metadata.uid" -> Objects.requireNonNullElse(meta.getUid(), "");
      case "metadata.labels" -> formatMap(meta.getLabels());
      case "metadata.annotations" -> formatMap(meta.getAnnotations());
      case "spec.nodeName" -> inputs.nodeName();
      case "spec.serviceAccountName" ->
          Objects.requireNonNullElse(pod.getSpec().getServiceAccountName(), "");
      case "status.hostIP" -> inputs.hostIps().stream().findFirst().orElse("");
      case "status.hostIPs" -> String.join(",", inputs.hostIps());
      case "status.podIP" -> podIps.stream().findFirst().orElse("");
      case "status.podIPs" -> String.join(",", podIps);
      default ->
          throw new PodRefusedException(f + ".fieldPath", "'" + p + "' is not a supported field");
    };
  }

  /**
   * A container's limit or request in units of {@code divisor} (rounded up, at least 1 for a
   * non-zero amount); an unset limit reads the node's allocatable amount.
   */
  String resourceValue(Pod pod, ResourceFieldSelector ref, String defaultContainer, String f) {
    String name = Optional.ofNullable(ref.getContainerName()).orElse(defaultContainer);
    Container c =
        pod.getSpec().getContainers().stream()
            .filter(x -> name == null || x.getName().equals(name))
            .findFirst()
            .orElseThrow(
                () -> new PodRefusedException(f + ".containerName", "no container " + name));
    String resource = Objects.requireNonNullElse(ref.getResource(), "");
    String[] parts = resource.split("\\.", 2);
    if (parts.length != 2 || !List.of("limits", "requests").contains(parts[0])) {
      throw new PodRefusedException(
          f + ".resource", "'" + resource + "' is not limits.* or requests.*");
    }
    Map<String, Quantity> amounts =
        c.getResources() == null
            ? Map.of()
            : Objects.requireNonNullElse(
                parts[0].equals("limits")
                    ? c.getResources().getLimits()
                    : c.getResources().getRequests(),
                Map.of());
    Quantity q = amounts.get(parts[1]);
    if (q == null && parts[0].equals("limits")) {
      q = inputs.nodeAllocatable().get(parts[1]);
    }
    if (q == null) {
      return "0";
    }
    BigDecimal amount = Quantity.getAmountInBytes(q);
    BigDecimal divisor =
        ref.getDivisor() == null ? BigDecimal.ONE : Quantity.getAmountInBytes(ref.getDivisor());
    BigDecimal units = amount.divide(divisor, 0, RoundingMode.CEILING);
    return units.toPlainString();
  }

  private Optional<ConfigMap> configMap(String ns, String name, boolean optional) {
    Optional<ConfigMap> cm = inputs.configMap(ns, name);
    if (cm.isEmpty() && !optional) {
      throw new PodInputException("configmap " + ns + "/" + name + " not found");
    }
    return cm;
  }

  private Optional<Secret> secret(String ns, String name, boolean optional) {
    Optional<Secret> s = inputs.secret(ns, name);
    if (s.isEmpty() && !optional) {
      throw new PodInputException("secret " + ns + "/" + name + " not found");
    }
    return s;
  }

  private void needApiserver(String field) {
    if (!inputs.hasApiserver()) {
      throw new PodRefusedException(field, "needs an apiserver (not supported for static pods)");
    }
  }

  static Map<String, String> configMapData(ConfigMap cm) {
    return Objects.requireNonNullElse(cm.getData(), Map.of());
  }

  /** A secret's values, decoded; stringData wins, as the apiserver would merge it. */
  static Map<String, byte[]> secretData(Secret s) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    Objects.requireNonNullElse(s.getData(), Map.<String, String>of())
        .forEach((k, v) -> out.put(k, Base64.getDecoder().decode(v)));
    Objects.requireNonNullElse(s.getStringData(), Map.<String, String>of())
        .forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
    return out;
  }

  static String namespace(Pod pod) {
    String ns = pod.getMetadata().getNamespace();
    return ns == null || ns.isEmpty() ? "default" : ns;
  }

  private static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static String mapEntry(Map<String, String> map, String key) {
    return Objects.requireNonNullElse(map, Map.<String, String>of()).getOrDefault(key, "");
  }

  /** key="value" lines, sorted, as the kubelet formats labels and annotations. */
  private static String formatMap(Map<String, String> map) {
    StringBuilder b = new StringBuilder();
    new java.util.TreeMap<>(Objects.requireNonNullElse(map, Map.<String, String>of()))
        .forEach(
            (k, v) ->
                b.append(k)
                    .append("=\"")
                    .append(v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n"))
                    .append("\"\n"));
    return b.toString().stripTrailing();
  }
}
