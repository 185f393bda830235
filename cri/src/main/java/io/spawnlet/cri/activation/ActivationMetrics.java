package io.spawnlet.cri.activation;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;

/**
 * Socket activation's Prometheus metrics, in their own registry: wakes, sleeps, wake latency
 * (socket readable → containers started), sleeping pods, listening sockets. {@link #serve} exposes
 * them as {@code /metrics} in the text format.
 */
public final class ActivationMetrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Counter wakes =
      Counter.builder()
          .name("spawnlet_activation_wakes_total")
          .help("Sleeping pods woken by a connection or datagram")
          .register(registry);
  private final Counter sleeps =
      Counter.builder()
          .name("spawnlet_activation_sleeps_total")
          .help("Pods put back to sleep (idle timeout or clean exit)")
          .register(registry);
  private final Histogram wakeSeconds =
      Histogram.builder()
          .name("spawnlet_activation_wake_seconds")
          .help("From the first readable activation socket to the pod's containers started")
          .classicUpperBounds(0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5)
          .register(registry);
  private final Gauge sleepingPods =
      Gauge.builder()
          .name("spawnlet_activation_sleeping_pods")
          .help("Activated pods with no container process")
          .register(registry);
  private final Gauge listeningSockets =
      Gauge.builder()
          .name("spawnlet_activation_listening_sockets")
          .help("Activation sockets the daemon holds")
          .register(registry);

  void woke(long latencyNanos) {
    wakes.inc();
    wakeSeconds.observe(latencyNanos / 1e9);
  }

  void slept() {
    sleeps.inc();
  }

  void sleepingPods(int delta) {
    sleepingPods.inc(delta);
  }

  void socketsOpened(int n) {
    listeningSockets.inc(n);
  }

  void socketsClosed(int n) {
    listeningSockets.dec(n);
  }

  public PrometheusRegistry registry() {
    return registry;
  }

  /** Serves {@code /metrics} on {@code address} (e.g. 127.0.0.1:9464; port 0 picks one). */
  public HTTPServer serve(InetSocketAddress address) {
    try {
      return HTTPServer.builder()
          .hostname(address.getHostString())
          .port(address.getPort())
          .registry(registry)
          .buildAndStart();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot serve /metrics on "
              + address
              + ": "
              + e.getMessage()
              + " (set another metrics address)",
          e);
    }
  }
}
