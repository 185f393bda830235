package io.spawnlet.e2e;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A client of Kubernetes' binary {@code channel.k8s.io} WebSocket protocols (the JDK's WebSocket,
 * not ours): each message is one channel byte then data. Collects what arrives per channel until
 * the server closes the connection.
 */
final class ChannelWebSocket implements AutoCloseable {
  private final WebSocket socket;
  private final Map<Integer, ByteArrayOutputStream> received;
  private final CompletableFuture<Integer> closed;

  private ChannelWebSocket(
      WebSocket socket,
      Map<Integer, ByteArrayOutputStream> received,
      CompletableFuture<Integer> closed) {
    this.socket = socket;
    this.received = received;
    this.closed = closed;
  }

  /** Connects to {@code url} (http: or ws:) offering {@code subprotocol}. */
  static ChannelWebSocket connect(String url, String subprotocol) throws Exception {
    Map<Integer, ByteArrayOutputStream> received = new ConcurrentHashMap<>();
    CompletableFuture<Integer> closed = new CompletableFuture<>();
    ByteArrayOutputStream message = new ByteArrayOutputStream();
    WebSocket.Listener listener =
        new WebSocket.Listener() {
          @Override
          public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            message.writeBytes(b);
            if (last) {
              byte[] whole = message.toByteArray();
              message.reset();
              if (whole.length > 0) {
                ByteArrayOutputStream ch =
                    received.computeIfAbsent(whole[0] & 0xff, k -> new ByteArrayOutputStream());
                synchronized (ch) {
                  ch.write(whole, 1, whole.length - 1);
                }
              }
            }
            ws.request(1);
            return null;
          }

          @Override
          public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
            closed.complete(status);
            return null;
          }

          @Override
          public void onError(WebSocket ws, Throwable error) {
            closed.completeExceptionally(error);
          }
        };
    WebSocket socket =
        HttpClient.newHttpClient()
            .newWebSocketBuilder()
            .subprotocols(subprotocol)
            .connectTimeout(Duration.ofSeconds(30))
            .buildAsync(URI.create(url.replaceFirst("^http", "ws")), listener)
            .get(30, TimeUnit.SECONDS);
    return new ChannelWebSocket(socket, received, closed);
  }

  String subprotocol() {
    return socket.getSubprotocol();
  }

  void send(int channel, String text) throws Exception {
    send(channel, text.getBytes(StandardCharsets.UTF_8));
  }

  void send(int channel, byte[] data) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(data.length + 1).put((byte) channel).put(data).flip();
    socket.sendBinary(b, true).get(30, TimeUnit.SECONDS);
  }

  /** Waits for the server to close the connection; its close status. */
  int awaitClose(Duration timeout) throws Exception {
    return closed.get(timeout.toSeconds(), TimeUnit.SECONDS);
  }

  /** Everything received so far on {@code channel}. */
  byte[] bytes(int channel) {
    ByteArrayOutputStream ch = received.get(channel);
    if (ch == null) {
      return new byte[0];
    }
    synchronized (ch) {
      return ch.toByteArray();
    }
  }

  String text(int channel) {
    return new String(bytes(channel), StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    socket.abort();
  }
}
