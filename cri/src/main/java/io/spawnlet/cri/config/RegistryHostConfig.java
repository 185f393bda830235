package io.spawnlet.cri.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * How to reach one registry host, from the {@code registries} map of the config file:
 *
 * <pre>
 * registries:
 *   docker.io:
 *     mirrors: ["mirror.example.com", "http://10.0.0.5:5000"]
 *   registry.local:5000:
 *     insecure: true        # plain HTTP
 *   registry.k8s.io:
 *     server: http://127.0.0.1:5000   # serve this host's images from elsewhere
 * </pre>
 *
 * Mirrors are tried in order before the host itself; a mirror written without a scheme uses HTTPS
 * unless it is itself listed as insecure. {@code server} replaces the host's own endpoint (like
 * containerd's hosts.toml {@code server}): nothing is then fetched from the host itself, which is
 * how an air-gapped node or a test serves upstream names from a local registry.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record RegistryHostConfig(
    @JsonProperty("mirrors") List<String> mirrors,
    @JsonProperty("insecure") Boolean insecure,
    @JsonProperty("server") String server) {
  public static final RegistryHostConfig DEFAULT = new RegistryHostConfig(List.of(), false, null);

  public RegistryHostConfig {
    mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
    insecure = insecure != null && insecure;
  }
}
