package io.spawnlet.cri.grpc;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CRI endpoint: gRPC over a unix socket with netty's epoll transport. Owns the socket file: one
 * daemon per socket (a lock file beside it), a stale socket left by a dead daemon is replaced, a
 * live one is never stolen.
 */
public final class CriServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CriServer.class);

  private final Path socket;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final ExecutorService executor;
  private final Server server;

  private CriServer(
      Path socket, FileChannel lockChannel, FileLock lock, List<BindableService> services)
      throws IOException {
    this.socket = socket;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.boss = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    this.workers = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
    this.executor = Executors.newVirtualThreadPerTaskExecutor();
    NettyServerBuilder b =
        NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers)
            .executor(executor)
            .maxInboundMessageSize(16 * 1024 * 1024);
    services.forEach(b::addService);
    this.server = b.build().start();
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
    log.info("CRI server listening on unix://{}", socket);
  }

  /** Takes ownership of {@code socket} and serves {@code services} on it. */
  public static CriServer start(Path socket, List<BindableService> services) throws IOException {
    Files.createDirectories(socket.toAbsolutePath().getParent());
    Path lockFile = socket.resolveSibling(socket.getFileName() + ".lock");
    FileChannel ch =
        FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock = ch.tryLock();
    if (lock == null) {
      ch.close();
      throw new IOException(
          "another spawnlet daemon owns "
              + socket
              + " (lock "
              + lockFile
              + " is held): stop it first, or give this one another --socket");
    }
    try {
      replaceStaleSocket(socket);
      return new CriServer(socket, ch, lock, services);
    } catch (IOException | RuntimeException e) {
      lock.release();
      ch.close();
      throw e;
    }
  }

  private static void replaceStaleSocket(Path socket) throws IOException {
    if (!Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!Files.isRegularFile(socket) && !Files.isDirectory(socket) && acceptsConnections(socket)) {
      throw new IOException(
          "something else is listening on "
              + socket
              + ": stop it, or give spawnlet another --socket");
    }
    if (Files.isDirectory(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(socket + " is a directory; remove it or choose another --socket");
    }
    log.info("replacing stale socket {}", socket);
    Files.delete(socket);
  }

  private static boolean acceptsConnections(Path socket) {
    try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      return c.connect(UnixDomainSocketAddress.of(socket));
    } catch (IOException e) {
      return false;
    }
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Graceful: no new calls, running ones get a few seconds to finish. */
  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    executor.shutdown();
    try {
      Files.deleteIfExists(socket);
      lock.release();
      lockChannel.close();
    } catch (IOException e) {
      log.warn("cleaning up {}: {}", socket, e.toString());
    }
    log.info("CRI server stopped");
  }
}
