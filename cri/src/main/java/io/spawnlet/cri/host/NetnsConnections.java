package io.spawnlet.cri.host;

import io.spawnlet.cri.CriException;
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

  /** Runs switched: setns and the channel's socket() only (see {@link NamespaceSwitchThread}). */
  private static final class OpenJob extends NamespaceSwitchThread.Job<SocketChannel> {
    private final Path netns;

    OpenJob(Path netns) {
      this.netns = netns;
    }

    @Override
    public SocketChannel get() {
      int home = Syscalls.openReadOnly("/proc/thread-self/ns/net");
      int target;
      try {
        target = Syscalls.openReadOnly(netns.toString());
      } catch (RuntimeException e) {
        Syscalls.close(home);
        throw e;
      }
      SocketChannel channel = null;
      RuntimeException failure = null;
      try {
        Syscalls.setns(target, Syscalls.CLONE_NEWNET);
        channel = SocketChannel.open(StandardProtocolFamily.INET);
      } catch (IOException e) {
        failure = new UncheckedIOException("cannot open a socket in " + netns, e);
      } catch (RuntimeException e) {
        failure = e;
      } finally {
        try {
          Syscalls.setns(home, Syscalls.CLONE_NEWNET);
        } catch (RuntimeException e) {
          poison();
          RuntimeException back =
              CriException.internal(
                  "cannot return the connecting thread to the host network namespace", e);
          if (failure != null) {
            back.addSuppressed(failure);
          }
          failure = back;
        }
        Syscalls.close(home);
        Syscalls.close(target);
      }
      if (failure != null) {
        if (channel != null) {
          try {
            channel.close();
          } catch (IOException e) {
            failure.addSuppressed(e);
          }
        }
        throw failure;
      }
      return channel;
    }
  }
}
