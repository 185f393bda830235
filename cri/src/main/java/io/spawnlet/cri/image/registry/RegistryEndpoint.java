package io.spawnlet.cri.image.registry;

import io.spawnlet.cri.config.RegistryHostConfig;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One place to fetch a repository's content from: the registry host itself or one of its mirrors.
 * {@code host} is what credentials are looked up under. {@code caFile} is the CA to trust for its
 * HTTPS, from the config; {@code plainHttpFallback} says that if the server does not speak TLS, the
 * same address is to be used over plain HTTP (unconfigured loopback hosts).
 */
public record RegistryEndpoint(
    String host, URI base, boolean mirror, Optional<Path> caFile, boolean plainHttpFallback) {

  public RegistryEndpoint(String host, URI base, boolean mirror) {
    this(host, base, mirror, Optional.empty(), false);
  }

  /**
   * Where to pull {@code registry}'s content from, in order: its configured mirrors, then the host
   * itself. docker.io is served at registry-1.docker.io. Plain HTTP is used for hosts configured
   * {@code insecure}. Loopback hosts (localhost, 127.0.0.0/8, [::1]) are tried over HTTPS first and
   * over plain HTTP if the server does not speak TLS, as containerd does: nothing leaves the
   * machine there. A host with a {@code caFile} is HTTPS only.
   */
  public static List<RegistryEndpoint> of(String registry, Map<String, RegistryHostConfig> config) {
    RegistryHostConfig hostConfig = config.getOrDefault(registry, RegistryHostConfig.DEFAULT);
    List<RegistryEndpoint> result = new ArrayList<>();
    for (String mirror : hostConfig.mirrors()) {
      result.add(endpoint(mirror, config, true));
    }
    if (hostConfig.server() != null && !hostConfig.server().isEmpty()) {
      RegistryEndpoint replaced = endpoint(hostConfig.server(), config, false);
      // credentials are still looked up under the name the user wrote
      result.add(
          new RegistryEndpoint(
              registry,
              replaced.base(),
              false,
              replaced.caFile().or(hostConfig::caPath),
              replaced.plainHttpFallback()));
      return result;
    }
    String server = registry.equals("docker.io") ? "registry-1.docker.io" : registry;
    result.add(direct(registry, server, hostConfig, false));
    return result;
  }

  private static RegistryEndpoint direct(
      String host, String server, RegistryHostConfig hostConfig, boolean isMirror) {
    boolean plain = hostConfig.insecure();
    boolean fallback = !plain && hostConfig.caPath().isEmpty() && isLoopback(server);
    return new RegistryEndpoint(
        host,
        URI.create((plain ? "http" : "https") + "://" + server),
        isMirror,
        hostConfig.caPath(),
        fallback);
  }

  /** This endpoint over plain HTTP: the server did not speak TLS. */
  RegistryEndpoint overPlainHttp() {
    return new RegistryEndpoint(
        host, URI.create("http" + base.toString().substring("https".length())), mirror);
  }

  private static RegistryEndpoint endpoint(
      String mirror, Map<String, RegistryHostConfig> config, boolean isMirror) {
    String m = mirror.endsWith("/") ? mirror.substring(0, mirror.length() - 1) : mirror;
    if (m.startsWith("http://") || m.startsWith("https://")) {
      URI uri = URI.create(m);
      return new RegistryEndpoint(
          uri.getAuthority(),
          uri,
          isMirror,
          config.getOrDefault(uri.getAuthority(), RegistryHostConfig.DEFAULT).caPath(),
          false);
    }
    return direct(m, m, config.getOrDefault(m, RegistryHostConfig.DEFAULT), isMirror);
  }

  static boolean isLoopback(String hostPort) {
    String host = hostPort;
    if (host.startsWith("[")) {
      host = host.substring(1, host.indexOf(']'));
    } else if (host.indexOf(':') >= 0) {
      host = host.substring(0, host.indexOf(':'));
    }
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  /** {@code base/v2/<repository>/<kind>/<reference>}. */
  URI uri(String repository, String kind, String reference) {
    return URI.create(base + "/v2/" + repository + "/" + kind + "/" + reference);
  }

  @Override
  public String toString() {
    return base.toString();
  }
}
