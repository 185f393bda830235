package io.spawnlet.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/** gRPC channels to a CRI endpoint on a unix socket, the way kubelet and crictl reach one. */
final class UnixSocketChannels {

  private UnixSocketChannels() {}

  static ManagedChannel open(Path socket) {
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException(
          "netty epoll is unavailable ("
              + Epoll.unavailabilityCause()
              + "): it is needed for unix sockets");
    }
    if (!Files.exists(socket)) {
      throw new IllegalArgumentException(
          "CRI socket " + socket + " does not exist: start the runtime first or fix --socket");
    }
    return NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toFile()))
        .eventLoopGroup(new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory()))
        .channelType(EpollDomainSocketChannel.class)
        .usePlaintext()
        .maxInboundMessageSize(16 * 1024 * 1024)
        .build();
  }
}
