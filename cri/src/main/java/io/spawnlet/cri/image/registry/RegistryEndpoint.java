package io.spawnlet.cri.image.registry;

import io.spawnlet.cri.config.RegistryHostConfig;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One place to fetch a repository's content from: the registry host itself or one of its mirrors.
 * {@code host} is what credentials are looked up under.
 */
public record RegistryEndpoint(String host, URI base, boolean mirror) {

  /**
   * Where to pull {@code registry}'s content from, in order: its configured mirrors, then the host
   * itself. docker.io is served at registry-1.docker.io. Plain HTTP is used for hosts configured
   * {@code insecure} and for loopback hosts (localhost, 127.0.0.0/8, [::1]), as containers/image
   * treats them: nothing leaves the machine there.
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
      result.add(new RegistryEndpoint(registry, replaced.base(), false));
      return result;
    }
    String server = registry.equals("docker.io") ? "registry-1.docker.io" : registry;
    result.add(
        new RegistryEndpoint(
            registry, URI.create(scheme(registry, hostConfig.insecure()) + "://" + server), false));
    return result;
  }

  private static RegistryEndpoint endpoint(
      String mirror, Map<String, RegistryHostConfig> config, boolean isMirror) {
    String m = mirror.endsWith("/") ? mirror.substring(0, mirror.length() - 1) : mirror;
    if (m.startsWith("http://") || m.startsWith("https://")) {
      URI uri = URI.create(m);
      return new RegistryEndpoint(uri.getAuthority(), uri, isMirror);
    }
    boolean insecure = config.getOrDefault(m, RegistryHostConfig.DEFAULT).insecure();
    return new RegistryEndpoint(m, URI.create(scheme(m, insecure) + "://" + m), isMirror);
  }

  private static String scheme(String host, boolean insecure) {
    return insecure || isLoopback(host) ? "http" : "https";
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
