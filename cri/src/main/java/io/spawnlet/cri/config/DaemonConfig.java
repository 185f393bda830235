package io.spawnlet.cri.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.spawnlet.cri.activation.ActivationSpec;
import io.spawnlet.cri.oci.SystemContainerSpec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The daemon's configuration: one YAML file ({@code /etc/spawnlet/config.yaml}), every key also a
 * flag of {@code spawnlet cri}. Paths are spawnlet's own directories; nothing outside them is
 * written except what the CRI caller names (log directories, mounts) and CNI's host state.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record DaemonConfig(
    @JsonProperty("socket") Path socket,
    @JsonProperty("root") Path root,
    @JsonProperty("runRoot") Path runRoot,
    @JsonProperty("cniConfDirs") List<Path> cniConfDirs,
    @JsonProperty("cniPluginDirs") List<Path> cniPluginDirs,
    @JsonProperty("cniSubnet") String cniSubnet,
    @JsonProperty("cniBridge") String cniBridge,
    @JsonProperty("defaultRuntime") String defaultRuntime,
    @JsonProperty("runtimes") Map<String, Path> runtimes,
    @JsonProperty("conmon") Path conmon,
    @JsonProperty("logLevel") String logLevel,
    @JsonProperty("registries") Map<String, RegistryHostConfig> registries,
    @JsonProperty("registryAuthFile") Path registryAuthFile,
    @JsonProperty("metricsAddress") String metricsAddress,
    @JsonProperty("streamAddress") String streamAddress,
    @JsonProperty("storageDriver") String storageDriver,
    @JsonProperty("defaultIdleTimeout") String defaultIdleTimeout) {

  public static final Path DEFAULT_CONFIG = Path.of("/etc/spawnlet/config.yaml");

  /** Where socket activation's Prometheus {@code /metrics} is served unless configured. */
  public static final String DEFAULT_METRICS_ADDRESS = "127.0.0.1:9464";

  /** {@code metricsAddress} value that serves no metrics. */
  public static final String METRICS_OFF = "off";

  public static DaemonConfig defaults() {
    Map<String, Path> runtimes = new LinkedHashMap<>();
    runtimes.put("crun", Path.of("/usr/bin/crun"));
    runtimes.put("runc", Path.of("/usr/bin/runc"));
    // System containers (systemd as PID 1) run on crun too; what differs is their spec.
    runtimes.put(SystemContainerSpec.HANDLER, Path.of("/usr/bin/crun"));
    return new DaemonConfig(
        Path.of("/run/spawnlet/cri.sock"),
        Path.of("/var/lib/spawnlet"),
        Path.of("/run/spawnlet"),
        List.of(Path.of("/etc/cni/net.d")),
        List.of(Path.of("/opt/cni/bin"), Path.of("/usr/lib/cni")),
        "10.89.0.0/16",
        "spawnlet0",
        "crun",
        runtimes,
        Path.of("/usr/bin/conmon"),
        "info",
        Map.of(),
        Path.of("/etc/spawnlet/auth.json"),
        DEFAULT_METRICS_ADDRESS,
        // Like containerd's stream_server_address/port: loopback, any free port.
        "127.0.0.1:0",
        "overlay",
        "5m");
  }

  /** Reads {@code file} over the defaults: keys absent from the file keep their default. */
  public static DaemonConfig load(Path file) throws IOException {
    ObjectMapper yaml =
        new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    DaemonConfig base = defaults();
    if (!Files.exists(file)) {
      return base;
    }
    DaemonConfig read;
    try {
      read = yaml.readValue(file.toFile(), DaemonConfig.class);
    } catch (IOException e) {
      throw new IOException(
          "cannot read config "
              + file
              + ": "
              + e.getMessage()
              + " (see docs/ARCHITECTURE.md for the keys)",
          e);
    }
    return read == null ? base : base.overlay(read);
  }

  /** Values set in {@code o} replace ours. */
  public DaemonConfig overlay(DaemonConfig o) {
    return new DaemonConfig(
        o.socket != null ? o.socket : socket,
        o.root != null ? o.root : root,
        o.runRoot != null ? o.runRoot : runRoot,
        o.cniConfDirs != null ? o.cniConfDirs : cniConfDirs,
        o.cniPluginDirs != null ? o.cniPluginDirs : cniPluginDirs,
        o.cniSubnet != null ? o.cniSubnet : cniSubnet,
        o.cniBridge != null ? o.cniBridge : cniBridge,
        o.defaultRuntime != null ? o.defaultRuntime : defaultRuntime,
        o.runtimes != null ? mergedRuntimes(o.runtimes) : runtimes,
        o.conmon != null ? o.conmon : conmon,
        o.logLevel != null ? o.logLevel : logLevel,
        o.registries != null ? mergedRegistries(o.registries) : registries,
        o.registryAuthFile != null ? o.registryAuthFile : registryAuthFile,
        o.metricsAddress != null ? o.metricsAddress : metricsAddress,
        o.streamAddress != null ? o.streamAddress : streamAddress,
        o.storageDriver != null ? o.storageDriver : storageDriver,
        o.defaultIdleTimeout != null ? o.defaultIdleTimeout : defaultIdleTimeout);
  }

  /**
   * How long a socket-activated pod without a {@code spawnlet.io/idle-timeout} annotation may idle
   * before it is stopped: {@code defaultIdleTimeout} as a Go-style duration (0 = never).
   *
   * @throws IllegalArgumentException naming the key when the value is no duration
   */
  public Duration idleTimeout() {
    try {
      return ActivationSpec.parseDuration("defaultIdleTimeout", defaultIdleTimeout);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "defaultIdleTimeout \""
              + defaultIdleTimeout
              + "\" is not a duration such as 30s, 5m or 1h30m (0 = never idle out); fix the"
              + " config file",
          e);
    }
  }

  /**
   * The {@code /metrics} endpoint: {@code metricsAddress} as HOST:PORT ({@code [::1]:9464} for
   * IPv6), empty for {@code off}.
   *
   * @throws IllegalArgumentException naming the key when the value is neither
   */
  public Optional<InetSocketAddress> metricsEndpoint() {
    String value = metricsAddress.strip();
    if (value.equals(METRICS_OFF)) {
      return Optional.empty();
    }
    int colon = value.lastIndexOf(':');
    String host = colon > 0 ? value.substring(0, colon) : "";
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = -1;
    try {
      port = colon > 0 ? Integer.parseInt(value.substring(colon + 1)) : -1;
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (host.isEmpty() || port < 0 || port > 65535) {
      throw new IllegalArgumentException(
          "metricsAddress \""
              + metricsAddress
              + "\" is not HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464) or \"off\"; fix the"
              + " config key metricsAddress, the flag --metrics-address or"
              + " SPAWNLET_METRICS_ADDRESS");
    }
    return Optional.of(new InetSocketAddress(host, port));
  }

  private Map<String, Path> mergedRuntimes(Map<String, Path> more) {
    Map<String, Path> m = new LinkedHashMap<>(runtimes);
    m.putAll(more);
    return m;
  }

  private Map<String, RegistryHostConfig> mergedRegistries(Map<String, RegistryHostConfig> more) {
    Map<String, RegistryHostConfig> m = new LinkedHashMap<>(registries);
    m.putAll(more);
    return m;
  }

  /** Where sandbox, container and image metadata live. */
  public Path stateDir() {
    return root;
  }
}
