package io.spawnlet.agent.probe;

import io.spawnlet.agent.pod.PodRuntime;
import io.spawnlet.agent.pod.PodRuntimeException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Runs a container's postStart or preStop hook once, with the kubelet's notion of failure: an exec
 * hook fails when the command exits non-zero (or cannot run), an HTTP hook only when the request
 * cannot be made (the kubelet ignores the status code), a sleep hook never. Every hook is bounded
 * by {@code timeout} (for preStop: the pod's grace period).
 */
public final class LifecycleHookRunner {
  private final PodRuntime runtime;
  private final HttpClient http;

  public LifecycleHookRunner(PodRuntime runtime) {
    this.runtime = runtime;
    this.http =
        HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .sslContext(ProbeRunner.trustingContext())
            .build();
  }

  /** Empty when the hook succeeded; otherwise why it failed (for the Failed*Hook event). */
  public Optional<String> run(
      LifecycleHandler hook, String containerId, String podIp, Duration timeout) {
    try {
      return switch (hook) {
        case LifecycleHandler.Exec e -> exec(e, containerId, timeout);
        case LifecycleHandler.HttpGet h -> httpGet(h, podIp, timeout);
        case LifecycleHandler.Sleep s ->
            sleep(s.duration().compareTo(timeout) < 0 ? s.duration() : timeout);
      };
    } catch (PodRuntimeException e) {
      return Optional.of(e.getMessage());
    }
  }

  private Optional<String> exec(LifecycleHandler.Exec e, String containerId, Duration timeout) {
    PodRuntime.ExecResult r = runtime.execSync(containerId, e.command(), timeout);
    if (r.exitCode() == 0) {
      return Optional.empty();
    }
    String out = (r.stdout() + r.stderr()).strip();
    return Optional.of(
        "command "
            + e.command()
            + " exited with "
            + r.exitCode()
            + (out.isEmpty() ? "" : ": " + (out.length() > 200 ? out.substring(0, 200) : out)));
  }

  private Optional<String> httpGet(LifecycleHandler.HttpGet h, String podIp, Duration timeout) {
    String host = h.host().isEmpty() ? podIp : h.host();
    String path = h.path().startsWith("/") ? h.path() : "/" + h.path();
    URI uri =
        URI.create(
            h.scheme().toLowerCase(Locale.ROOT)
                + "://"
                + (host.contains(":") ? "[" + host + "]" : host)
                + ":"
                + h.port()
                + path);
    HttpRequest.Builder req =
        HttpRequest.newBuilder(uri)
            .timeout(timeout.isZero() ? Duration.ofSeconds(1) : timeout)
            .header("User-Agent", "kube-lifecycle/1.34");
    h.headers().forEach(req::header);
    try {
      http.send(req.GET().build(), HttpResponse.BodyHandlers.discarding());
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of("Get \"" + uri + "\": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of("Get \"" + uri + "\": interrupted");
    }
  }

  private static Optional<String> sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return Optional.empty();
  }
}
