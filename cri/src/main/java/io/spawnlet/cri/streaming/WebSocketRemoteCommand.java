package io.spawnlet.cri.streaming;

import io.spawnlet.cri.oci.ContainerStdio;
import java.util.function.Supplier;

/**
 * Kubernetes remote command over WebSocket ({@code v5.channel.k8s.io}, {@code v4.channel.k8s.io},
 * their base64 variants and the unversioned {@code channel.k8s.io}): channel 0 stdin, 1 stdout, 2
 * stderr, 3 error (a Status from v4 on), 4 resize. v5 adds channel 255, "close": {@code [255, n]}
 * ends the client's channel n (stdin's end, which v4 cannot express).
 */
final class WebSocketRemoteCommand implements WebSocketChannels.Listener {
  private static final int STDIN = 0;
  private static final int STDOUT = 1;
  private static final int STDERR = 2;
  private static final int ERROR = 3;
  private static final int RESIZE = 4;
  private static final int CLOSE = 255;

  private final WebSocketChannels channels;
  private final int version;
  private final CommandSession session;
  private final ResizeDecoder resizes = new ResizeDecoder();

  WebSocketRemoteCommand(
      StreamRequest.Command request,
      int version,
      Supplier<ContainerStdio> open,
      WebSocketChannels channels) {
    this.channels = channels;
    this.version = version;
    this.session =
        new CommandSession(
            request.kind() + "-" + SpdyRemoteCommand.shortId(request.containerId()),
            open,
            new CommandSession.ClientStreams() {
              @Override
              public ContainerStdio.Sink stdout() {
                return request.stdout() ? (d, n) -> channels.write(STDOUT, d, n) : (d, n) -> {};
              }

              @Override
              public ContainerStdio.Sink stderr() {
                return request.stderr() ? (d, n) -> channels.write(STDERR, d, n) : (d, n) -> {};
              }

              @Override
              public void finish(ExitStatus status) {
                byte[] report = status.encode(version);
                try {
                  if (report.length > 0) {
                    channels.write(ERROR, report, report.length);
                  }
                } catch (java.io.IOException e) {
                  // the client has gone
                }
                channels.close();
              }
            });
  }

  void start() {
    channels.listen(this);
    session.start();
  }

  @Override
  public void message(int channel, byte[] data) {
    switch (channel) {
      case STDIN -> session.stdin(data);
      case RESIZE -> {
        for (ResizeDecoder.Size size : resizes.feed(data)) {
          session.resize(size.width(), size.height());
        }
      }
      case CLOSE -> {
        if (version >= 5 && data.length > 0 && data[0] == STDIN) {
          session.stdinEnd();
        }
      }
      default -> {
        // output channels carry nothing from the client
      }
    }
  }

  @Override
  public void closed() {
    session.clientGone();
  }
}
