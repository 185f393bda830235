package io.spawnlet.cri.streaming;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Port-forward over WebSocket ({@code v4.channel.k8s.io}, its base64 variant, or no subprotocol),
 * as the kubelet's streaming server speaks it: the ports are fixed when the connection opens, and
 * port {@code i} gets channel {@code 2i} for data (both ways) and {@code 2i+1} for errors (to the
 * client). The first message on each of them is the port, 2 bytes little-endian, so the client can
 * tell which port a channel is for. One TCP connection per port for the life of the WebSocket; the
 * WebSocket closes when all of them have ended.
 *
 * <pre>
 *  client ──[2i, data…]──► PortStream i ──► pod:port
 *  client ◄──[2i, port LE][2i, data…] ◄──── pod:port
 *  client ◄──[2i+1, port LE][2i+1, "error forwarding …"]  (when the dial fails)
 * </pre>
 */
final class WebSocketPortForward implements WebSocketChannels.Listener {
  private final WebSocketChannels channels;
  private final List<Integer> ports;
  private final List<PortStream> streams = new ArrayList<>();
  private final AtomicInteger running = new AtomicInteger();

  WebSocketPortForward(
      String sandboxId,
      List<Integer> ports,
      SpdyPortForward.Ports dialer,
      WebSocketChannels channels) {
    this.channels = channels;
    this.ports = List.copyOf(ports);
    for (int i = 0; i < this.ports.size(); i++) {
      int port = this.ports.get(i);
      int data = 2 * i;
      int error = data + 1;
      int index = i;
      streams.add(
          new PortStream(
              SpdyRemoteCommand.shortId(sandboxId) + ":" + port,
              () -> dialer.connect(port),
              new PortStream.ClientSide() {
                @Override
                public void data(byte[] bytes, int length) throws IOException {
                  channels.write(data, bytes, length);
                }

                @Override
                public void endData() {
                  // v4 channels cannot end one by one, nor can the client half-close: once the
                  // pod has said all, the connection is over (the WebSocket closes with the last).
                  streams.get(index).clientEnd();
                }

                @Override
                public void error(String message) {
                  byte[] b = message.getBytes(StandardCharsets.UTF_8);
                  try {
                    channels.write(error, b, b.length);
                  } catch (IOException e) {
                    // the client has gone
                  }
                }

                @Override
                public void finished() {
                  if (running.decrementAndGet() == 0) {
                    channels.close();
                  }
                }
              }));
    }
  }

  /** Announces each channel's port, then dials them all; call once the handshake is done. */
  void start() throws IOException {
    channels.listen(this);
    if (ports.isEmpty()) {
      channels.close();
      return;
    }
    for (int i = 0; i < ports.size(); i++) {
      byte[] port = {(byte) ports.get(i).intValue(), (byte) (ports.get(i) >>> 8)};
      channels.write(2 * i, port, 2);
      channels.write(2 * i + 1, port, 2);
    }
    running.set(streams.size());
    streams.forEach(PortStream::start);
  }

  @Override
  public void message(int channel, byte[] data) {
    if (channel % 2 == 0 && channel / 2 < streams.size() && data.length > 0) {
      streams.get(channel / 2).fromClient(data);
    }
    // error channels carry nothing from the client
  }

  @Override
  public void closed() {
    streams.forEach(PortStream::clientGone);
  }
}
