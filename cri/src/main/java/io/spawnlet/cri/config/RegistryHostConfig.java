package io.spawnlet.cri.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

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
 *   registry.corp:5443:
 *     caFile: /etc/spawnlet/registry-ca.pem   # trust this CA (PEM) for this host's HTTPS
 * </pre>
 *
 * Mirrors are tried in order before the host itself; a mirror written without a scheme uses HTTPS
 * unless it is itself listed as insecure. {@code server} replaces the host's own endpoint (like
 * containerd's hosts.toml {@code server}): nothing is then fetched from the host itself, which is
 * how an air-gapped node or a test serves upstream names from a local registry. {@code caFile} adds
 * the CA certificates of a PEM file to the system's trusted roots for this host only (like
 * containerd's hosts.toml {@code ca}); it also makes a loopback host HTTPS-only.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record RegistryHostConfig(
    @JsonProperty("mirrors") List<String> mirrors,
    @JsonProperty("insecure") Boolean insecure,
    @JsonProperty("server") String server,
    @JsonProperty("caFile") String caFile) {
  public static final RegistryHostConfig DEFAULT = new RegistryHostConfig(List.of(), false, null);

  public RegistryHostConfig(List<String> mirrors, Boolean insecure, String server) {
    this(mirrors, insecure, server, null);
  }

  public RegistryHostConfig {
    mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
    insecure = insecure != null && insecure;
    caFile = caFile == null || caFile.isEmpty() ? null : caFile;
  }

  public Optional<Path> caPath() {
    return Optional.ofNullable(caFile).map(Path::of);
  }
}
