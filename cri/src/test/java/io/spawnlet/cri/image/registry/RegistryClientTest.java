package io.spawnlet.cri.image.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.storage.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The bearer-token exchange and redirects against an HTTP server on loopback playing registry,
 * token endpoint and blob storage (docker-registry's htpasswd mode, used by the e2e suite, only
 * covers basic auth).
 */
class RegistryClientTest {
  private static final byte[] MANIFEST =
      "{\"schemaVersion\":2,\"config\":{},\"layers\":[]}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] BLOB = "blob-bytes".getBytes(StandardCharsets.UTF_8);

  private HttpServer server;
  private String base;
  private final List<String> tokenQueries = new CopyOnWriteArrayList<>();
  private final List<String> storageAuthorization = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    base = "http://127.0.0.1:" + server.getAddress().getPort();
    server.createContext(
        "/token",
        ex -> {
          tokenQueries.add(
              ex.getRequestURI().getQuery()
                  + " auth="
                  + ex.getRequestHeaders().getFirst("Authorization"));
          String expected =
              "Basic "
                  + java.util.Base64.getEncoder()
                      .encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
          if (!expected.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
            reply(ex, 401, "{}".getBytes(StandardCharsets.UTF_8), null);
          } else {
            reply(ex, 200, "{\"token\":\"T0K\"}".getBytes(StandardCharsets.UTF_8), null);
          }
        });
    server.createContext(
        "/v2/",
        ex -> {
          if (!"Bearer T0K".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
            ex.getResponseHeaders()
                .add(
                    "WWW-Authenticate",
                    "Bearer realm=\""
                        + base
                        + "/token\",service=\"test\",scope=\"repository:team/app:pull\"");
            reply(ex, 401, new byte[0], null);
          } else if (ex.getRequestURI().getPath().contains("/manifests/")) {
            reply(ex, 200, MANIFEST, "application/vnd.oci.image.manifest.v1+json");
          } else {
            // blobs live "elsewhere": the storage must not see the registry's token
            ex.getResponseHeaders().add("Location", "/storage/blob");
            reply(ex, 307, new byte[0], null);
          }
        });
    server.createContext(
        "/storage/",
        ex -> {
          storageAuthorization.add(
              String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
          reply(ex, 200, BLOB, null);
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private static void reply(HttpExchange ex, int status, byte[] body, String type)
      throws IOException {
    if (type != null) {
      ex.getResponseHeaders().add("Content-Type", type);
    }
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      ex.getResponseBody().write(body);
    }
    ex.close();
  }

  private RegistryClient client(Credentials credentials) {
    return new RegistryClient(
        RegistryClient.newHttpClient(),
        new RegistryEndpoint("127.0.0.1", URI.create(base), false),
        "team/app",
        credentials);
  }

  @Test
  void bearerTokenDanceWithBasicCredentials() throws IOException {
    RegistryClient client = client(Credentials.basic("alice", "secret"));
    RegistryClient.Fetched manifest = client.manifest("v1");
    assertThat(manifest.content()).isEqualTo(MANIFEST);
    assertThat(manifest.mediaType()).isEqualTo("application/vnd.oci.image.manifest.v1+json");
    assertThat(manifest.digest()).isEqualTo(Digest.of(MANIFEST));
    assertThat(tokenQueries).hasSize(1);
    assertThat(tokenQueries.get(0))
        .contains("service=test")
        .contains("scope=repository:team/app:pull");
    // the token is kept: the blob needs no second exchange
    try (InputStream blob = client.blob(Digest.of(BLOB))) {
      assertThat(blob.readAllBytes()).isEqualTo(BLOB);
    }
    assertThat(tokenQueries).hasSize(1);
    // the redirect target is the same host here, so the header may follow; a different host would
    // not get it (checked by authority in RegistryClient)
    assertThat(storageAuthorization).hasSize(1);
  }

  @Test
  void wrongPasswordIsPermissionDeniedWithHint() {
    assertThatThrownBy(() -> client(Credentials.basic("alice", "nope")).manifest("v1"))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("refused user alice")
        .hasMessageContaining("check the user name and password")
        .extracting(e -> ((CriException) e).kind())
        .isEqualTo(CriException.Kind.PERMISSION_DENIED);
  }

  @Test
  void anonymousIsUnauthenticatedWithHint() {
    assertThatThrownBy(() -> client(Credentials.ANONYMOUS).manifest("v1"))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("--creds")
        .extracting(e -> ((CriException) e).kind())
        .isEqualTo(CriException.Kind.UNAUTHENTICATED);
  }
}
