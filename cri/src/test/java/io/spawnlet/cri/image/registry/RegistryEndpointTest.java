package io.spawnlet.cri.image.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.spawnlet.cri.config.RegistryHostConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RegistryEndpointTest {
  @Test
  void mirrorsFirstThenTheHostWithDockerHubServer() {
    Map<String, RegistryHostConfig> config =
        Map.of(
            "docker.io",
            new RegistryHostConfig(List.of("mirror.example", "http://10.0.0.5:5000/"), null, null),
            "mirror.example",
            new RegistryHostConfig(null, true, null));
    List<RegistryEndpoint> endpoints = RegistryEndpoint.of("docker.io", config);
    assertThat(endpoints)
        .extracting(e -> e.base().toString())
        .containsExactly(
            "http://mirror.example", "http://10.0.0.5:5000", "https://registry-1.docker.io");
    assertThat(endpoints).extracting(RegistryEndpoint::mirror).containsExactly(true, true, false);
    assertThat(endpoints.get(2).host()).isEqualTo("docker.io");
  }

  @Test
  void serverReplacesTheHost() {
    List<RegistryEndpoint> endpoints =
        RegistryEndpoint.of(
            "registry.k8s.io",
            Map.of("registry.k8s.io", new RegistryHostConfig(null, null, "http://127.0.0.1:5000")));
    assertThat(endpoints).hasSize(1);
    assertThat(endpoints.get(0).base().toString()).isEqualTo("http://127.0.0.1:5000");
    assertThat(endpoints.get(0).host()).isEqualTo("registry.k8s.io");
  }

  @Test
  void loopbackIsTlsFallingBackToPlainHttpOthersTls() {
    RegistryEndpoint loopback = RegistryEndpoint.of("127.0.0.1:5000", Map.of()).get(0);
    assertThat(loopback.base().toString()).isEqualTo("https://127.0.0.1:5000");
    assertThat(loopback.plainHttpFallback()).isTrue();
    assertThat(loopback.overPlainHttp().base().toString()).isEqualTo("http://127.0.0.1:5000");
    assertThat(RegistryEndpoint.of("localhost:5000", Map.of()).get(0).plainHttpFallback()).isTrue();
    assertThat(RegistryEndpoint.of("registry.k8s.io", Map.of()).get(0).plainHttpFallback())
        .isFalse();
    assertThat(RegistryEndpoint.of("registry.k8s.io", Map.of()).get(0).base().getScheme())
        .isEqualTo("https");
    assertThat(
            RegistryEndpoint.of(
                    "reg.lan:5000",
                    Map.of("reg.lan:5000", new RegistryHostConfig(null, true, null)))
                .get(0)
                .base()
                .getScheme())
        .isEqualTo("http");
  }

  @Test
  void caFileMakesTheHostTlsOnlyWithThatCa() {
    RegistryEndpoint endpoint =
        RegistryEndpoint.of(
                "127.0.0.1:5443",
                Map.of(
                    "127.0.0.1:5443",
                    new RegistryHostConfig(null, null, null, "/etc/spawnlet/ca.pem")))
            .get(0);
    assertThat(endpoint.base().toString()).isEqualTo("https://127.0.0.1:5443");
    assertThat(endpoint.plainHttpFallback()).isFalse();
    assertThat(endpoint.caFile()).contains(Path.of("/etc/spawnlet/ca.pem"));
  }
}
