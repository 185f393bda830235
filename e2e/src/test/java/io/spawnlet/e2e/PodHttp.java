package io.spawnlet.e2e;

import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.Consumer;

/** HTTP from the host to a pod, as the suites check that a pod serves on its IP. */
final class PodHttp {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private PodHttp() {}

  /**
   * Waits until {@code url} answers with a body that passes {@code check}; connection errors and
   * failed checks are retried until {@code atMost} (the pod may still be starting).
   */
  static void awaitBody(String url, Duration atMost, Consumer<String> check) {
    await("GET " + url)
        .atMost(atMost)
        .ignoreExceptions()
        .untilAsserted(
            () ->
                check.accept(
                    HTTP.send(
                            HttpRequest.newBuilder(URI.create(url))
                                .timeout(Duration.ofSeconds(5))
                                .build(),
                            HttpResponse.BodyHandlers.ofString())
                        .body()));
  }
}
