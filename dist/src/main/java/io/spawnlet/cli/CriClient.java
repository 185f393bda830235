package io.spawnlet.cli;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import runtime.v1.RuntimeServiceGrpc;

/** A CRI client over the daemon's unix socket, for CLI commands that ask the daemon. */
final class CriClient implements AutoCloseable {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private final ManagedChannel channel;

  CriClient(Path socket, CommandLine cmd) {
    if (!Files.exists(socket)) {
      throw new CommandLine.ParameterException(
          cmd,
          "no spawnlet daemon socket at "
              + socket
              + ": start one with 'spawnlet cri' or pass --socket");
    }
    channel =
        NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .eventLoopGroup(group)
            .channelType(EpollDomainSocketChannel.class)
            .usePlaintext()
            .build();
  }

  RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
    return RuntimeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  runtime.v1.ImageServiceGrpc.ImageServiceBlockingStub images() {
    return runtime.v1.ImageServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(5, TimeUnit.MINUTES);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
