package io.spawnlet.e2e;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import runtime.v1.ImageServiceGrpc;
import runtime.v1.RuntimeServiceGrpc;

/**
 * A CRI client over the daemon's unix socket, as the kubelet talks to a runtime: blocking stubs of
 * RuntimeService and ImageService (each call with a deadline), and an async stub for the streaming
 * GetContainerEvents.
 */
final class CriClient implements AutoCloseable {
  private static final Duration DEFAULT_DEADLINE = Duration.ofMinutes(2);

  private final EventLoopGroup loop;
  private final ManagedChannel channel;

  CriClient(Path socket) {
    this.loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    this.channel =
        NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollDomainSocketChannel.class)
            .eventLoopGroup(loop)
            .usePlaintext()
            .maxInboundMessageSize(16 * 1024 * 1024)
            .build();
  }

  /** RuntimeService with the default deadline of two minutes per call. */
  RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
    return runtime(DEFAULT_DEADLINE);
  }

  RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime(Duration deadline) {
    return RuntimeServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** For the server-streaming GetContainerEvents (no deadline: the caller cancels). */
  RuntimeServiceGrpc.RuntimeServiceStub runtimeAsync() {
    return RuntimeServiceGrpc.newStub(channel);
  }

  ImageServiceGrpc.ImageServiceBlockingStub images() {
    return ImageServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(DEFAULT_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The gRPC code a call failed with, or a failure if it succeeded. */
  static Status.Code codeOf(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
    throw new AssertionError("the call succeeded; expected it to fail");
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
