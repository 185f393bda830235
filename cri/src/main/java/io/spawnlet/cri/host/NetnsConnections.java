package io.spawnlet.cri.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * Opens TCP connections to a port on the loopback of another network namespace (port-forward). A
 * socket belongs to the namespace its creator was in at {@code socket()} time: a dedicated platform
 * thread ({@link NamespaceSwitchThread}) enters the pod's netns only to create the channel, comes
 * back, and the caller connects and uses it like any other channel.
 */
public final class NetnsConnections {
  private final NamespaceSwitchThread thread =
      new NamespaceSwitchThread("spawnlet-netns-connections");

  /** Connects to {@code 127.0.0.1:port} in the network namespace pinned at {@code netns}. */
  public SocketChannel connect(Path netns, int port) throws IOException {
    SocketChannel channel = thread.run(new OpenJob(netns));
    try {
      channel.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return channel;
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  /** Runs switched: the channel's socket() only (see {@link NamespaceSwitchThread}). */
  private static final class OpenJob extends NetnsJob<SocketChannel> {
    OpenJob(Path netns) {
      super(netns);
    }

    @Override
    SocketChannel inside() {
      try {
        return SocketChannel.open(StandardProtocolFamily.INET);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot open a socket in a pod's network namespace", e);
      }
    }

    @Override
    void discard(SocketChannel made) {
      try {
        made.close();
      } catch (IOException e) {
        // closing
      }
    }
  }
}
