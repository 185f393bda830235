package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Pulls over HTTPS from a loopback registry whose certificate a CA made here (openssl) signed: the
 * daemon refuses it, naming the host and the config key, until the config trusts that CA for that
 * host ({@code registries: {HOST: {caFile: ...}}}).
 */
class RegistryTlsIT {
  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  @Test
  void pullsOverTlsOnceTheHostsCaIsConfigured() throws Exception {
    Path storage =
        E2eEnvironment.fromSystem().testRegistryStorage().filter(Files::isDirectory).orElse(null);
    Assumptions.assumeTrue(
        storage != null,
        "SPAWNLET_TEST_REGISTRY_STORAGE is not set: run scripts/test-registry.sh populate");
    Crictl crictl = DAEMON.crictl();
    LoopbackCertificates certificates = LoopbackCertificates.generate(DAEMON.base().resolve("tls"));
    try (LoopbackRegistry registry =
        LoopbackRegistry.startTls(storage, DAEMON.base().resolve("registry-tls"), certificates)) {
      String ref = registry.host() + "/busybox:latest";

      Crictl.Result untrusted = crictl.tryRun("pull", ref);
      assertThat(untrusted.succeeded()).isFalse();
      assertThat(untrusted.stderr())
          .contains("registry " + registry.host())
          .contains("certificate is not trusted")
          .contains("registries: {")
          .contains(registry.host() + "\\\": {caFile: /path/to/ca.pem}}");
      assertThat(crictl.json("images", "-o", "json").path("images")).isEmpty();

      Files.writeString(
          DAEMON.configFile(),
          "registries:\n  \""
              + registry.host()
              + "\": {caFile: \""
              + certificates.caCertificate()
              + "\"}\n");
      DAEMON.restart();
      crictl.run("pull", ref);
      assertThat(crictl.run("images")).contains(registry.host() + "/busybox");
      assertThat(registry.countGets("/v2/busybox/blobs/")).isGreaterThan(0);
      crictl.run("rmi", ref);
    }
  }
}
