package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * PullImage end to end: the real daemon pulls with crictl from real registries (docker-registry on
 * loopback, over copies of the storage scripts/test-registry.sh populated), with and without
 * htpasswd auth, through an index, from corrupted storage, concurrently, and across a kill -9.
 */
class RegistryPullIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PASSWORD = "pw-" + Long.toHexString(System.nanoTime());

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static Crictl crictl;
  private static LoopbackRegistry open;
  private static LoopbackRegistry auth;
  private static Path storage;

  @BeforeAll
  static void startRegistries() {
    storage =
        E2eEnvironment.fromSystem().testRegistryStorage().filter(Files::isDirectory).orElse(null);
    Assumptions.assumeTrue(
        storage != null,
        "SPAWNLET_TEST_REGISTRY_STORAGE is not set: run scripts/test-registry.sh populate"
            + " (scripts/test.sh does)");
    crictl = DAEMON.crictl();
    open = LoopbackRegistry.start(storage, DAEMON.base().resolve("registry-open"), null);
    auth = LoopbackRegistry.start(storage, DAEMON.base().resolve("registry-auth"), PASSWORD);
  }

  @AfterAll
  static void stopRegistries() {
    if (open != null) {
      open.close();
    }
    if (auth != null) {
      auth.close();
    }
  }

  @BeforeEach
  void noImages() throws IOException {
    crictl.tryRun("rmi", "--all");
    Files.deleteIfExists(DAEMON.registryAuthFile());
    assertThat(crictl.json("images", "-o", "json").path("images")).isEmpty();
  }

  @Test
  void pullByTagAndByDigestThenInspectListRemove() throws Exception {
    String ref = open.host() + "/busybox:latest";
    String id = pulled(crictl.runTrimmed("pull", ref));
    JsonNode status = crictl.json("inspecti", "-o", "json", ref);
    assertThat(status.path("status").path("id").asText()).isEqualTo(id);
    assertThat(status.path("status").path("repoTags").toString()).contains(ref);
    String repoDigest = status.path("status").path("repoDigests").get(0).asText();
    assertThat(repoDigest)
        .isEqualTo(open.host() + "/busybox@" + manifestDigest(open, "busybox", "latest"));
    // crictl prints the verbose "info" entry parsed: {"status": ..., "info": {"layers": ...}}
    assertThat(status.path("info").path("layers").size()).isEqualTo(1);
    assertThat(crictl.run("images")).contains(open.host() + "/busybox");
    JsonNode fs = crictl.json("imagefsinfo", "-o", "json");
    assertThat(
            fs.path("status")
                .path("imageFilesystems")
                .get(0)
                .path("usedBytes")
                .path("value")
                .asLong())
        .isGreaterThan(1_000_000L);

    crictl.run("rmi", ref);
    assertThat(crictl.run("images")).doesNotContain("busybox");
    assertThat(storedLayers()).isEmpty();

    assertThat(pulled(crictl.runTrimmed("pull", repoDigest))).isEqualTo(id);
    assertThat(crictl.json("inspecti", "-o", "json", repoDigest).path("status").path("id").asText())
        .isEqualTo(id);
    crictl.run("rmi", id);
    assertThat(storedLayers()).isEmpty();
  }

  @Test
  void multiArchIndexResolvesToLinuxAmd64() throws Exception {
    String ref = open.host() + "/multiarch:latest";
    crictl.run("pull", ref);
    JsonNode status = crictl.json("inspecti", "-o", "json", ref);
    // the repo digest is the index's, what the user pulled; the config is amd64's
    assertThat(status.path("status").path("repoDigests").get(0).asText())
        .endsWith("@" + manifestDigest(open, "multiarch", "latest"));
    JsonNode info = status.path("info");
    assertThat(info.path("config").path("architecture").asText()).isEqualTo("amd64");
  }

  @Test
  void clearErrors() {
    Crictl.Result noAmd64 = crictl.tryRun("pull", open.host() + "/arm64-only:latest");
    assertThat(noAmd64.succeeded()).isFalse();
    assertThat(noAmd64.stderr())
        .contains("NotFound")
        .contains("linux/amd64")
        .contains("linux/arm64");

    Crictl.Result unknown = crictl.tryRun("pull", open.host() + "/no-such-image:1");
    assertThat(unknown.stderr()).contains("NotFound").contains("no-such-image");

    Crictl.Result anonymous = crictl.tryRun("pull", auth.host() + "/busybox");
    assertThat(anonymous.stderr()).contains("Unauthenticated").contains("--creds");
    Crictl.Result wrong =
        crictl.tryRun(
            "pull", "--creds", LoopbackRegistry.USER + ":wrong", auth.host() + "/busybox");
    assertThat(wrong.stderr()).contains("Unauthenticated").contains("check the user name");
    assertThat(crictl.json("images", "-o", "json").path("images")).isEmpty();
  }

  @Test
  void pullsWithCredentialsFromTheRequestOrTheAuthFile() throws Exception {
    crictl.run("pull", "--creds", LoopbackRegistry.USER + ":" + PASSWORD, auth.host() + "/busybox");
    crictl.run("rmi", "--all");
    String token =
        Base64.getEncoder()
            .encodeToString(
                (LoopbackRegistry.USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
    Files.writeString(
        DAEMON.registryAuthFile(),
        "{\"auths\": {\"" + auth.host() + "\": {\"auth\": \"" + token + "\"}}}");
    crictl.run("pull", auth.host() + "/busybox:latest");
    assertThat(crictl.run("images")).contains(auth.host() + "/busybox");
  }

  @Test
  void zstdLayer() throws Exception {
    crictl.run("pull", open.host() + "/busybox-zstd:latest");
    assertThat(storedLayers()).hasSize(1);
    assertThat(DAEMON.logTail(200)).contains("(ZSTD)");
  }

  @Test
  void corruptedBlobFailsAndStoresNothing() throws Exception {
    try (LoopbackRegistry corrupt =
        LoopbackRegistry.start(storage, DAEMON.base().resolve("registry-corrupt"), null)) {
      corrupt.corruptBlob(layerDigest(corrupt, "busybox", "latest"));
      Crictl.Result result = crictl.tryRun("pull", corrupt.host() + "/busybox:latest");
      assertThat(result.succeeded()).isFalse();
      assertThat(result.stderr()).contains("DataLoss").contains("nothing was stored");
      assertThat(crictl.json("images", "-o", "json").path("images")).isEmpty();
      assertThat(storedLayers()).isEmpty();
      assertThat(tempDirs()).isEmpty();
    }
  }

  @Test
  void eightConcurrentPullsDownloadTheLayerOnce() throws Exception {
    try (LoopbackRegistry counted =
        LoopbackRegistry.start(storage, DAEMON.base().resolve("registry-counted"), null)) {
      String layer = layerDigest(counted, "busybox", "latest");
      List<CompletableFuture<Crictl.Result>> pulls = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        pulls.add(
            CompletableFuture.supplyAsync(
                () -> crictl.tryRun("pull", counted.host() + "/busybox:latest")));
      }
      for (CompletableFuture<Crictl.Result> pull : pulls) {
        assertThat(pull.join().succeeded()).as(pull.join().toString()).isTrue();
      }
      assertThat(counted.countGets("/blobs/" + layer)).isEqualTo(1);
      assertThat(storedLayers()).hasSize(1);
    }
  }

  @Test
  void killedDuringAPullThenPulledAgainLeavesACompleteImageAndNoOrphans() throws Exception {
    try (ThrottlingProxy slow = new ThrottlingProxy(open.port(), 4096)) {
      String ref = slow.host() + "/busybox:latest";
      CompletableFuture<Crictl.Result> pull =
          CompletableFuture.supplyAsync(() -> crictl.tryRun("pull", ref));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> Files.readString(DAEMON.logFile()).contains(ref + ": layer 1/1"));
      await().atMost(Duration.ofSeconds(30)).until(() -> !tempDirs().isEmpty());
      DAEMON.kill9();
      assertThat(pull.join().succeeded()).isFalse();
      slow.throttle(0);
      DAEMON.start();
      assertThat(tempDirs()).isEmpty();
      assertThat(crictl.json("images", "-o", "json").path("images")).isEmpty();
      crictl.run("pull", ref);
      assertThat(crictl.run("images")).contains(slow.host() + "/busybox");
      assertThat(storedLayers()).hasSize(1);
      assertThat(tempDirs()).isEmpty();
    }
  }

  private static String pulled(String crictlOutput) {
    // "Image is up to date for sha256:..."
    return crictlOutput.substring(crictlOutput.lastIndexOf(' ') + 1).strip();
  }

  private static Set<String> storedLayers() throws IOException {
    Set<String> result = new HashSet<>();
    try (Stream<Path> dirs = Files.list(DAEMON.root().resolve("storage/layers"))) {
      dirs.map(p -> p.getFileName().toString())
          .filter(n -> n.matches("[0-9a-f]{64}"))
          .forEach(result::add);
    }
    return result;
  }

  private static List<Path> tempDirs() throws IOException {
    try (Stream<Path> dirs = Files.list(DAEMON.root().resolve("storage/layers"))) {
      return dirs.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList();
    }
  }

  private static byte[] manifest(LoopbackRegistry registry, String repo, String tag, String accept)
      throws Exception {
    HttpResponse<byte[]> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://" + registry.host() + "/v2/" + repo + "/manifests/" + tag))
                    .header("Accept", accept)
                    .build(),
                HttpResponse.BodyHandlers.ofByteArray());
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }

  private static String manifestDigest(LoopbackRegistry registry, String repo, String tag)
      throws Exception {
    byte[] body =
        manifest(
            registry,
            repo,
            tag,
            "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json");
    return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
  }

  private static String layerDigest(LoopbackRegistry registry, String repo, String tag)
      throws Exception {
    byte[] body = manifest(registry, repo, tag, "application/vnd.oci.image.manifest.v1+json");
    return JSON.readTree(body).path("layers").get(0).path("digest").asText();
  }
}
