package io.spawnlet.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * The health endpoint of {@code spawnlet node} for its DaemonSet's probes: {@code /healthz} answers
 * 200 while the process serves, {@code /readyz} 200 once {@code ready} holds (the CRI daemon is up)
 * and 503 before. Plain HTTP on the host network, like the kubelet's healthz port.
 */
final class HealthEndpoint implements AutoCloseable {
  private final HttpServer server;

  private HealthEndpoint(HttpServer server) {
    this.server = server;
  }

  /** Serves on {@code address} ({@code HOST:PORT}) until closed. */
  static HealthEndpoint start(String address, BooleanSupplier ready) {
    int colon = address.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(
          "--health-address " + address + ": expected HOST:PORT, e.g. 0.0.0.0:10358");
    }
    String host = address.substring(0, colon).replace("[", "").replace("]", "");
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "--health-address " + address + ": the port is not a number", e);
    }
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
      server.createContext("/healthz", exchange -> answer(exchange, true));
      server.createContext("/readyz", exchange -> answer(exchange, ready.getAsBoolean()));
      server.setExecutor(null);
      server.start();
      return new HealthEndpoint(server);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve health checks on " + address, e);
    }
  }

  private static void answer(HttpExchange exchange, boolean ok) throws IOException {
    byte[] body = (ok ? "ok\n" : "not ready\n").getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(ok ? 200 : 503, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
