package io.spawnlet.cri.streaming;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.spawnlet.cri.CriException;
import java.net.InetSocketAddress;
import java.net.URI;

/**
 * The CRI streaming server: an HTTP server on its own address (config {@code streamAddress},
 * default {@code 127.0.0.1:0}, a free port) that serves the URLs Exec, Attach and PortForward
 * return. {@link #url} records a request under a new token; {@link StreamHttpHandler} serves it.
 */
public final class StreamingServer implements AutoCloseable {
  private final EventLoopGroup group;
  private final Channel server;
  private final StreamTokens tokens;
  private final InetSocketAddress address;

  private StreamingServer(
      EventLoopGroup group, Channel server, StreamTokens tokens, InetSocketAddress address) {
    this.group = group;
    this.server = server;
    this.tokens = tokens;
    this.address = address;
  }

  /** Listens on {@code bind} ("host:port"; port 0: any free port). */
  public static StreamingServer start(String bind, StreamTargets targets) {
    int colon = bind.lastIndexOf(':');
    if (colon < 0) {
      throw CriException.invalid("streamAddress", "\"" + bind + "\" is not host:port");
    }
    String host = bind.substring(0, colon).replace("[", "").replace("]", "");
    int port;
    try {
      port = Integer.parseInt(bind.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw CriException.invalid("streamAddress", "\"" + bind + "\" has no numeric port");
    }
    StreamTokens tokens = new StreamTokens();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    try {
      Channel server =
          new ServerBootstrap()
              .group(group)
              .channel(EpollServerSocketChannel.class)
              // Writers (output pumps, port streams) wait while the channel is unwritable: a
              // 64 KiB high-water mark made them wait on every second 32 KiB chunk.
              .childOption(
                  ChannelOption.WRITE_BUFFER_WATER_MARK,
                  new WriteBufferWaterMark(512 * 1024, 1024 * 1024))
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                      ch.pipeline()
                          .addLast(StreamHttpHandler.HTTP_CODEC, new HttpServerCodec())
                          .addLast(StreamHttpHandler.AGGREGATOR, new HttpObjectAggregator(65536))
                          .addLast("stream", new StreamHttpHandler(tokens, targets));
                    }
                  })
              .bind(new InetSocketAddress(host, port))
              .syncUninterruptibly()
              .channel();
      return new StreamingServer(group, server, tokens, (InetSocketAddress) server.localAddress());
    } catch (RuntimeException e) {
      group.shutdownGracefully();
      throw CriException.internal(
          "cannot listen for streams on " + bind + " (streamAddress): " + e.getMessage(), e);
    }
  }

  /** Records {@code request} and returns its single-use URL. */
  public URI url(StreamRequest request) {
    String token = tokens.put(request);
    String host =
        address.getAddress().isAnyLocalAddress()
            ? "127.0.0.1"
            : address.getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return URI.create(
        "http://" + host + ":" + address.getPort() + "/" + request.kind() + "/" + token);
  }

  public InetSocketAddress address() {
    return address;
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully();
  }
}
