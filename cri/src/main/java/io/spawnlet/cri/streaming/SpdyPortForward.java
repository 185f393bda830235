package io.spawnlet.cri.streaming;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Port-forward over SPDY ({@code portforward.k8s.io}): for each connection the client opens an
 * {@code error} stream and a {@code data} stream, both with headers {@code port} and {@code
 * requestID}; when both are there a {@link PortStream} connects to the port in the pod.
 */
final class SpdyPortForward implements SpdyConnection.Listener {
  /** Opens a connection to a port of the pod. */
  interface Ports {
    java.nio.channels.SocketChannel connect(int port) throws IOException;
  }

  private static final class Pair {
    SpdyConnection.Stream data;
    SpdyConnection.Stream error;
    PortStream forward;
  }

  private final String sandboxId;
  private final Ports ports;
  private final Map<String, Pair> pairs = new HashMap<>();

  SpdyPortForward(String sandboxId, Ports ports) {
    this.sandboxId = sandboxId;
    this.ports = ports;
  }

  @Override
  public void stream(SpdyConnection.Stream stream) {
    String portText = stream.header("port");
    String requestId = stream.header("requestid");
    String key = requestId.isEmpty() ? "port-" + portText : requestId;
    Pair pair = pairs.computeIfAbsent(key, k -> new Pair());
    switch (stream.header("streamtype")) {
      case "data" -> pair.data = stream;
      case "error" -> pair.error = stream;
      default -> {
        stream.listen(SpdyRemoteCommand.ignored());
        return;
      }
    }
    stream.listen(SpdyRemoteCommand.ignored());
    if (pair.data == null || pair.error == null) {
      return;
    }
    pairs.remove(key);
    int port;
    try {
      port = Integer.parseInt(portText);
      if (port <= 0 || port > 65535) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      fail(pair, "invalid port \"" + portText + "\": want 1-65535");
      return;
    }
    SpdyConnection.Stream data = pair.data;
    SpdyConnection.Stream error = pair.error;
    pair.forward =
        new PortStream(
            SpdyRemoteCommand.shortId(sandboxId) + ":" + port,
            () -> ports.connect(port),
            new PortStream.ClientSide() {
              @Override
              public void data(byte[] bytes, int length) throws IOException {
                data.write(bytes, length);
              }

              @Override
              public void endData() {
                data.end();
              }

              @Override
              public void error(String message) {
                byte[] b = message.getBytes(StandardCharsets.UTF_8);
                try {
                  error.write(b, b.length);
                } catch (IOException e) {
                  // the client has gone
                }
              }

              @Override
              public void finished() {
                data.end();
                error.end();
                active.remove(pair.forward);
              }
            });
    PortStream forward = pair.forward;
    data.listen(
        new SpdyConnection.StreamListener() {
          @Override
          public void data(byte[] bytes) {
            forward.fromClient(bytes);
          }

          @Override
          public void end() {
            forward.clientEnd();
          }
        });
    forward.start();
    active.add(forward);
  }

  private final java.util.Set<PortStream> active =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private static void fail(Pair pair, String message) {
    byte[] b = message.getBytes(StandardCharsets.UTF_8);
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              try {
                pair.error.write(b, b.length);
              } catch (IOException e) {
                // the client has gone
              }
              pair.error.end();
              pair.data.end();
            });
  }

  @Override
  public void closed() {
    active.forEach(PortStream::clientGone);
  }
}
