package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The environment variables the kubelet gives a container for the Services it may reach (Docker
 * links' names): for a Service {@code my-db} with cluster IP 10.96.0.7 and port 5432/TCP named
 * {@code pg}: {@code MY_DB_SERVICE_HOST=10.96.0.7}, {@code MY_DB_SERVICE_PORT=5432}, {@code
 * MY_DB_SERVICE_PORT_PG=5432}, {@code MY_DB_PORT=tcp://10.96.0.7:5432} and per port {@code
 * MY_DB_PORT_5432_TCP} (= the URL), {@code _PROTO}, {@code _PORT}, {@code _ADDR}. Headless Services
 * (no cluster IP) give none.
 */
final class ServiceLinks {
  /** The apiserver's own Service, linked into every pod even with enableServiceLinks false. */
  static final String MASTER_SERVICE = "kubernetes";

  static final String MASTER_NAMESPACE = "default";

  private ServiceLinks() {}

  /**
   * The variables for {@code services}, in name order; where two Services give one name, the later
   * in that order wins.
   */
  static Map<String, String> env(List<Service> services) {
    Map<String, String> env = new LinkedHashMap<>();
    services.stream()
        .sorted(Comparator.comparing(s -> s.getMetadata().getName()))
        .forEach(s -> add(s, env));
    return env;
  }

  private static void add(Service s, Map<String, String> env) {
    String ip = s.getSpec() == null ? null : s.getSpec().getClusterIP();
    List<ServicePort> ports =
        s.getSpec() == null
            ? List.of()
            : Objects.requireNonNullElse(s.getSpec().getPorts(), List.of());
    if (ip == null || ip.isEmpty() || ip.equals("None") || ports.isEmpty()) {
      return;
    }
    String prefix = variableName(s.getMetadata().getName());
    env.put(prefix + "_SERVICE_HOST", ip);
    env.put(prefix + "_SERVICE_PORT", Integer.toString(ports.getFirst().getPort()));
    for (ServicePort p : ports) {
      if (p.getName() != null && !p.getName().isEmpty()) {
        env.put(
            prefix + "_SERVICE_PORT_" + variableName(p.getName()), Integer.toString(p.getPort()));
      }
    }
    String hostPort = (ip.contains(":") ? "[" + ip + "]" : ip);
    for (int i = 0; i < ports.size(); i++) {
      ServicePort p = ports.get(i);
      String protocol =
          p.getProtocol() == null || p.getProtocol().isEmpty() ? "TCP" : p.getProtocol();
      String scheme = protocol.toLowerCase(Locale.ROOT);
      String url = scheme + "://" + hostPort + ":" + p.getPort();
      if (i == 0) {
        env.put(prefix + "_PORT", url); // Docker links single out the first port
      }
      String portPrefix = prefix + "_PORT_" + p.getPort() + "_" + protocol.toUpperCase(Locale.ROOT);
      env.put(portPrefix, url);
      env.put(portPrefix + "_PROTO", scheme);
      env.put(portPrefix + "_PORT", Integer.toString(p.getPort()));
      env.put(portPrefix + "_ADDR", ip);
    }
  }

  /** A Service or port name as a variable name: upper case, '-' → '_'. */
  static String variableName(String name) {
    return name.replace('-', '_').toUpperCase(Locale.ROOT);
  }
}
