package io.spawnlet.cri.activation;

import io.spawnlet.cri.CriException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PortMapping;

/**
 * What a pod asks for in its annotations:
 *
 * <pre>
 *   spawnlet.io/activation: socket            opt-in (any other value is an error)
 *   spawnlet.io/idle-timeout: 30s | 5m | 0    Go-style duration; default 5m; 0 = never sleep
 *   spawnlet.io/activation-ports: "8080/tcp,53/udp"   default: the pod's port_mappings
 *   spawnlet.io/stop-timeout: 10s             grace between the stop signal and SIGKILL when
 *                                             the pod goes to sleep
 * </pre>
 *
 * @param idleTimeout {@link Duration#ZERO} means the pod never goes back to sleep
 * @param stopTimeout the pod's own grace period for going to sleep; empty: each container's {@code
 *     io.kubernetes.pod.terminationGracePeriod} (what kubelet passes), else {@link
 *     #DEFAULT_STOP_TIMEOUT}
 */
public record ActivationSpec(
    Duration idleTimeout,
    List<ActivationPort> ports,
    Map<Integer, Integer> proxies,
    Optional<Duration> stopTimeout) {
  public static final String ACTIVATION = "spawnlet.io/activation";
  public static final String IDLE_TIMEOUT = "spawnlet.io/idle-timeout";
  public static final String PORTS = "spawnlet.io/activation-ports";
  public static final String PROXY = "spawnlet.io/activation-proxy";
  public static final String STOP_TIMEOUT = "spawnlet.io/stop-timeout";

  /** The grace period kubelet puts into every container's annotations, in whole seconds. */
  public static final String KUBELET_GRACE = "io.kubernetes.pod.terminationGracePeriod";

  static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);
  static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(10);

  private static final Pattern DURATION_PART =
      Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");

  public ActivationSpec {
    ports = List.copyOf(ports);
    proxies = Map.copyOf(proxies);
  }

  /** The ports handed to the containers as fds 3…: all but the proxied ones. */
  public List<ActivationPort> passedPorts() {
    return ports.stream()
        .filter(
            p -> !(p.protocol() == ActivationPort.Protocol.TCP && proxies.containsKey(p.port())))
        .toList();
  }

  /** The pod's activation, empty when it does not opt in; INVALID_ARGUMENT names the annotation. */
  public static Optional<ActivationSpec> of(PodSandboxConfig config) {
    return of(config, DEFAULT_IDLE_TIMEOUT);
  }

  /** As {@link #of(PodSandboxConfig)}, with the node's default idle timeout (config.yaml). */
  public static Optional<ActivationSpec> of(PodSandboxConfig config, Duration defaultIdleTimeout) {
    Map<String, String> a = config.getAnnotationsMap();
    String mode = a.get(ACTIVATION);
    if (mode == null) {
      for (String key : List.of(IDLE_TIMEOUT, PORTS, PROXY, STOP_TIMEOUT)) {
        if (a.containsKey(key)) {
          throw CriException.invalid(
              "config.annotations[" + key + "]",
              "only applies with "
                  + ACTIVATION
                  + ": socket; add that annotation or remove this one");
        }
      }
      return Optional.empty();
    }
    if (!mode.equals("socket")) {
      throw CriException.invalid(
          "config.annotations[" + ACTIVATION + "]",
          "\"" + mode + "\" is not a supported activation mode (supported: socket)");
    }
    Duration idle =
        a.containsKey(IDLE_TIMEOUT)
            ? parseDuration("config.annotations[" + IDLE_TIMEOUT + "]", a.get(IDLE_TIMEOUT))
            : defaultIdleTimeout;
    List<ActivationPort> ports =
        a.containsKey(PORTS)
            ? parsePorts("config.annotations[" + PORTS + "]", a.get(PORTS))
            : fromPortMappings(config.getPortMappingsList());
    Map<Integer, Integer> proxies =
        a.containsKey(PROXY)
            ? parseProxies("config.annotations[" + PROXY + "]", a.get(PROXY))
            : Map.of();
    if (!proxies.isEmpty()) {
      ports = new ArrayList<>(ports);
      for (int listen : proxies.keySet()) {
        ActivationPort p = new ActivationPort(listen, ActivationPort.Protocol.TCP);
        if (!ports.contains(p)) {
          ports.add(p);
        }
      }
    }
    if (ports.isEmpty()) {
      throw CriException.invalid(
          "config.annotations[" + ACTIVATION + "]",
          "the pod has no ports to listen on: give it container ports or "
              + PORTS
              + ": \"8080/tcp\"");
    }
    Optional<Duration> stop =
        a.containsKey(STOP_TIMEOUT)
            ? Optional.of(
                parseDuration("config.annotations[" + STOP_TIMEOUT + "]", a.get(STOP_TIMEOUT)))
            : Optional.empty();
    return Optional.of(new ActivationSpec(idle, ports, proxies, stop));
  }

  /**
   * How long a container of this pod gets between the stop signal and SIGKILL when the pod goes to
   * sleep: the pod's {@code spawnlet.io/stop-timeout}, else the container's kubelet grace period
   * annotation (seconds), else 10 s. A kubelet annotation that is not a number of seconds is
   * ignored (kubelet's own, not the user's to fix).
   */
  public Duration stopTimeout(Map<String, String> containerAnnotations) {
    if (stopTimeout.isPresent()) {
      return stopTimeout.get();
    }
    String grace = containerAnnotations.get(KUBELET_GRACE);
    if (grace != null && grace.strip().matches("\\d{1,9}")) {
      return Duration.ofSeconds(Long.parseLong(grace.strip()));
    }
    return DEFAULT_STOP_TIMEOUT;
  }

  /** Go's time.ParseDuration for non-negative values: "300ms", "1.5h", "2h45m", "0". */
  public static Duration parseDuration(String field, String text) {
    String t = text.strip();
    if (t.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = DURATION_PART.matcher(t);
    int at = 0;
    double nanos = 0;
    while (at < t.length() && m.find(at) && m.start() == at) {
      double value = Double.parseDouble(m.group(1));
      nanos +=
          value
              * switch (m.group(2)) {
                case "ns" -> 1d;
                case "us", "µs" -> 1e3;
                case "ms" -> 1e6;
                case "s" -> 1e9;
                case "m" -> 60e9;
                default -> 3600e9;
              };
      at = m.end();
    }
    if (t.isEmpty() || at != t.length()) {
      throw CriException.invalid(
          field, "\"" + text + "\" is not a duration (examples: 30s, 5m, 1h30m; 0 = never sleep)");
    }
    return Duration.ofNanos((long) nanos);
  }

  static List<ActivationPort> parsePorts(String field, String text) {
    LinkedHashSet<ActivationPort> ports = new LinkedHashSet<>();
    for (String item : text.split(",")) {
      String p = item.strip();
      if (p.isEmpty()) {
        continue;
      }
      String[] parts = p.split("/", -1);
      ActivationPort.Protocol proto = ActivationPort.Protocol.TCP;
      if (parts.length == 2) {
        try {
          proto = ActivationPort.Protocol.valueOf(parts[1].toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
          proto = null;
        }
      }
      int port = parts.length <= 2 ? parsePort(parts[0]) : -1;
      if (proto == null || port < 1 || port > 65535) {
        throw CriException.invalid(
            field, "\"" + p + "\" is not PORT/tcp or PORT/udp with PORT 1-65535 (e.g. 8080/tcp)");
      }
      ports.add(new ActivationPort(port, proto));
    }
    if (ports.isEmpty()) {
      throw CriException.invalid(field, "lists no port (e.g. \"8080/tcp,53/udp\")");
    }
    return new ArrayList<>(ports);
  }

  /** "80=8080,443=8443": listen port = the app's own TCP port. */
  static Map<Integer, Integer> parseProxies(String field, String text) {
    Map<Integer, Integer> proxies = new java.util.LinkedHashMap<>();
    for (String item : text.split(",")) {
      String p = item.strip();
      if (p.isEmpty()) {
        continue;
      }
      String[] parts = p.split("=", -1);
      int listen = parts.length == 2 ? parsePort(parts[0].strip()) : -1;
      int app = parts.length == 2 ? parsePort(parts[1].strip()) : -1;
      if (listen < 1 || listen > 65535 || app < 1 || app > 65535 || listen == app) {
        throw CriException.invalid(
            field,
            "\"" + p + "\" is not LISTEN=APP with two different TCP ports 1-65535 (e.g. 80=8080)");
      }
      proxies.put(listen, app);
    }
    if (proxies.isEmpty()) {
      throw CriException.invalid(field, "lists no port pair (e.g. \"80=8080\")");
    }
    return proxies;
  }

  private static int parsePort(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static List<ActivationPort> fromPortMappings(List<PortMapping> mappings) {
    LinkedHashSet<ActivationPort> ports = new LinkedHashSet<>();
    for (PortMapping m : mappings) {
      ActivationPort.Protocol proto =
          switch (m.getProtocol()) {
            case UDP -> ActivationPort.Protocol.UDP;
            case TCP -> ActivationPort.Protocol.TCP;
            default -> null; // SCTP: no activation socket
          };
      if (proto != null) {
        ports.add(new ActivationPort(m.getContainerPort(), proto));
      }
    }
    return new ArrayList<>(ports);
  }
}
