package io.spawnlet.cri.image.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.CriException.Kind;
import io.spawnlet.cri.storage.Digest;
import io.spawnlet.cri.storage.OciDocuments;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Reads one repository of one registry endpoint over the Docker Registry HTTP API v2 / OCI
 * distribution spec: manifests and blobs, with anonymous, basic or bearer-token authentication (see
 * {@link AuthChallenge} for the exchange). One instance serves one pull; it keeps the token it
 * obtained.
 *
 * <p>Uses the JDK's {@link HttpClient}: it does HTTP/1.1 and HTTP/2 over TLS with the system trust
 * store and streams bodies as an InputStream that feeds the layer unpacker directly, with no
 * dependency to add; netty would need a hand-built client pipeline for the same. Redirects are
 * followed by hand, because blob downloads are often redirected to a storage host that must not see
 * the registry's Authorization header.
 */
public final class RegistryClient {
  static final String MANIFEST_ACCEPT =
      String.join(
          ", ",
          OciDocuments.OCI_INDEX,
          OciDocuments.OCI_MANIFEST,
          OciDocuments.DOCKER_LIST,
          OciDocuments.DOCKER_MANIFEST);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(2);
  private static final int MAX_REDIRECTS = 5;

  private final HttpClient http;
  private volatile RegistryEndpoint endpoint;
  private final String repository;
  private final Credentials credentials;
  private volatile Optional<String> authorization = Optional.empty();

  /** A manifest or index as served, with the media type from its Content-Type. */
  public record Fetched(byte[] content, String mediaType, Digest digest) {}

  public RegistryClient(
      HttpClient http, RegistryEndpoint endpoint, String repository, Credentials credentials) {
    this.http = http;
    this.endpoint = endpoint;
    this.repository = repository;
    this.credentials = credentials;
    credentials.registryToken().ifPresent(t -> authorization = Optional.of("Bearer " + t));
  }

  public static HttpClient newHttpClient() {
    return HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(30))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  /** A client that also trusts the CA certificates in {@code caFile} (PEM); see RegistryTls. */
  public static HttpClient newHttpClient(Path caFile, String field) {
    return HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(30))
        .followRedirects(HttpClient.Redirect.NEVER)
        .sslContext(RegistryTls.trusting(caFile, field))
        .build();
  }

  public RegistryEndpoint endpoint() {
    return endpoint;
  }

  /** GET /v2/&lt;repo&gt;/manifests/&lt;tag or digest&gt;. */
  public Fetched manifest(String reference) {
    HttpResponse<InputStream> response =
        get(endpoint.uri(repository, "manifests", reference), true);
    try (InputStream body = response.body()) {
      byte[] content = body.readAllBytes();
      String mediaType =
          response
              .headers()
              .firstValue("Content-Type")
              .map(t -> t.split(";", 2)[0].trim())
              .orElse("");
      return new Fetched(content, mediaType, Digest.of(content));
    } catch (IOException e) {
      throw unreachable("reading manifest " + reference, e);
    }
  }

  /** GET /v2/&lt;repo&gt;/blobs/&lt;digest&gt;; the caller closes the stream and verifies it. */
  public InputStream blob(Digest digest) {
    return get(endpoint.uri(repository, "blobs", digest.toString()), false).body();
  }

  private HttpResponse<InputStream> get(URI uri, boolean manifest) {
    URI current = uri;
    boolean retriedAuth = false;
    for (int hop = 0; hop <= MAX_REDIRECTS; ) {
      boolean sameHost = current.getAuthority().equals(endpoint.base().getAuthority());
      HttpRequest.Builder request = HttpRequest.newBuilder(current).GET().timeout(REQUEST_TIMEOUT);
      if (manifest) {
        request.header("Accept", MANIFEST_ACCEPT);
      }
      if (sameHost) {
        authorization.ifPresent(a -> request.header("Authorization", a));
      }
      HttpResponse<InputStream> response;
      try {
        response = trySend(request.build());
      } catch (IOException e) {
        RegistryEndpoint now = endpoint;
        if (sameHost && now.plainHttpFallback() && RegistryTls.notTls(e)) {
          // an unconfigured loopback registry without TLS: the same address over plain HTTP
          endpoint = now.overPlainHttp();
          current = URI.create("http" + current.toString().substring("https".length()));
          uri = current;
          continue;
        }
        throw unreachable("GET " + current, e);
      }
      int status = response.statusCode();
      if (status == 200) {
        return response;
      }
      String body = drain(response);
      if (status == 401 && sameHost && !retriedAuth) {
        retriedAuth = true;
        authenticate(response.headers().firstValue("WWW-Authenticate"), body);
        continue;
      }
      if (status >= 300 && status < 400 && response.headers().firstValue("Location").isPresent()) {
        current = current.resolve(response.headers().firstValue("Location").get());
        hop++;
        continue;
      }
      throw error(status, uri, body);
    }
    throw new CriException(
        Kind.UNAVAILABLE, "registry " + endpoint + ": more than 5 redirects for " + uri);
  }

  /** Answers a 401 challenge: sets {@link #authorization} for the retry, or fails clearly. */
  private void authenticate(Optional<String> header, String body) {
    AuthChallenge challenge =
        header
            .flatMap(AuthChallenge::parse)
            .orElseThrow(
                () ->
                    denied(
                        Kind.UNAUTHENTICATED,
                        "answered 401 without a WWW-Authenticate challenge" + detail(body)));
    if (challenge.isBasic()) {
      authorization =
          Optional.of(
              credentials
                  .basicHeader()
                  .orElseThrow(
                      () ->
                          denied(
                              Kind.UNAUTHENTICATED,
                              "requires a user name and password (basic auth)")));
      return;
    }
    if (challenge.isBearer()) {
      authorization = Optional.of("Bearer " + token(challenge));
      return;
    }
    throw denied(
        Kind.UNAUTHENTICATED, "asks for unsupported authentication \"" + challenge.scheme() + "\"");
  }

  private String token(AuthChallenge challenge) {
    String realm =
        challenge
            .param("realm")
            .orElseThrow(
                () -> denied(Kind.UNAUTHENTICATED, "sent a Bearer challenge without realm"));
    StringBuilder query = new StringBuilder();
    challenge.param("service").ifPresent(s -> query.append("service=").append(encode(s)));
    String scope = challenge.param("scope").orElse("repository:" + repository + ":pull");
    query.append(query.isEmpty() ? "" : "&").append("scope=").append(encode(scope));
    HttpRequest.Builder request;
    if (credentials.identityToken().isPresent()) {
      // OAuth2 refresh-token grant, as docker does with an identity token
      String form =
          "grant_type=refresh_token&client_id=spawnlet&refresh_token="
              + encode(credentials.identityToken().get())
              + "&"
              + query;
      request =
          HttpRequest.newBuilder(URI.create(realm))
              .header("Content-Type", "application/x-www-form-urlencoded")
              .POST(HttpRequest.BodyPublishers.ofString(form));
    } else {
      request =
          HttpRequest.newBuilder(URI.create(realm + (realm.contains("?") ? "&" : "?") + query))
              .GET();
      credentials.basicHeader().ifPresent(b -> request.header("Authorization", b));
    }
    HttpResponse<InputStream> response = send(request.timeout(REQUEST_TIMEOUT).build());
    String body = drain(response);
    if (response.statusCode() == 401 || response.statusCode() == 403) {
      throw denied(
          credentials.isAnonymous() ? Kind.UNAUTHENTICATED : Kind.PERMISSION_DENIED,
          "token endpoint " + realm + " refused " + credentials + detail(body));
    }
    if (response.statusCode() != 200) {
      throw new CriException(
          Kind.UNAVAILABLE,
          "registry token endpoint "
              + realm
              + " answered HTTP "
              + response.statusCode()
              + detail(body));
    }
    try {
      JsonNode json = JSON.readTree(body);
      String token = json.path("token").asText(json.path("access_token").asText(""));
      if (token.isEmpty()) {
        throw new CriException(
            Kind.UNAVAILABLE, "registry token endpoint " + realm + " returned no token");
      }
      return token;
    } catch (IOException e) {
      throw new CriException(
          Kind.UNAVAILABLE, "registry token endpoint " + realm + " returned invalid JSON");
    }
  }

  private CriException error(int status, URI uri, String body) {
    String what = uri.getPath().contains("/manifests/") ? "manifest" : "blob";
    return switch (status) {
      case 401 -> denied(Kind.UNAUTHENTICATED, "refused " + credentials + detail(body));
      case 403 -> denied(Kind.PERMISSION_DENIED, "denied access for " + credentials + detail(body));
      case 404 ->
          new CriException(
              Kind.NOT_FOUND,
              "registry "
                  + endpoint
                  + " has no "
                  + what
                  + " "
                  + uri.getPath().substring(uri.getPath().lastIndexOf('/') + 1)
                  + " in repository "
                  + repository
                  + detail(body)
                  + "; check the image name and tag");
      default ->
          new CriException(
              status == 429 || status >= 500 ? Kind.UNAVAILABLE : Kind.INTERNAL,
              "registry " + endpoint + " answered HTTP " + status + " for " + uri + detail(body));
    };
  }

  private CriException denied(Kind kind, String problem) {
    String hint =
        credentials.isAnonymous()
            ? "; give credentials: crictl pull --creds USER:PASSWORD, a kubelet imagePullSecret,"
                + " or an entry for "
                + endpoint.host()
                + " in the registry auth file (registryAuthFile)"
            : "; check the user name and password for " + endpoint.host();
    return new CriException(
        kind, "registry " + endpoint + " (repository " + repository + ") " + problem + hint);
  }

  private HttpResponse<InputStream> send(HttpRequest request) {
    try {
      return trySend(request);
    } catch (IOException e) {
      throw unreachable("GET " + request.uri(), e);
    }
  }

  private HttpResponse<InputStream> trySend(HttpRequest request) throws IOException {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CriException(Kind.UNAVAILABLE, "interrupted while talking to " + endpoint);
    }
  }

  private CriException unreachable(String what, IOException e) {
    Optional<String> untrusted = RegistryTls.untrustedCertificate(e);
    if (untrusted.isPresent()) {
      String host = endpoint.base().getAuthority();
      return new CriException(
          Kind.UNAVAILABLE,
          "registry "
              + host
              + ": its TLS certificate is not trusted ("
              + untrusted.get()
              + ")"
              + (endpoint.caFile().isPresent()
                  ? "; the CA in "
                      + endpoint.caFile().get()
                      + " (registries: \""
                      + host
                      + "\": caFile) did not sign it, or the certificate does not name "
                      + host
                  : "; give spawnlet the CA that signed it: in the config file, registries: {\""
                      + host
                      + "\": {caFile: /path/to/ca.pem}}, then restart spawnlet"),
          e);
    }
    return new CriException(
        Kind.UNAVAILABLE,
        "registry "
            + endpoint
            + ": "
            + what
            + " failed: "
            + e
            + (endpoint.base().getScheme().equals("https")
                ? " (a plain-HTTP registry needs 'insecure: true' under registries: in the config)"
                : ""),
        e);
  }

  private static String drain(HttpResponse<InputStream> response) {
    try (InputStream in = response.body()) {
      byte[] b = in.readNBytes(4096);
      return new String(b, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private static String detail(String body) {
    String b = body == null ? "" : body.strip().replaceAll("\\s+", " ");
    if (b.isEmpty()) {
      return "";
    }
    return " (" + (b.length() > 300 ? b.substring(0, 300) + "…" : b) + ")";
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
