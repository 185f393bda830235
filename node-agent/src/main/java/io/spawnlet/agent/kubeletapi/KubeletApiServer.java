package io.spawnlet.agent.kubeletapi;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.spawnlet.agent.pod.PodRuntime;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.security.cert.CertificateException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLException;

/**
 * The kubelet's HTTPS API as far as {@code kubectl exec/attach/port-forward/logs} reach it through
 * the apiserver. Clients must present a certificate signed by the client CA (the apiserver's
 * kubelet client certificate is); any such client may use every route, since spawnlet does not ask
 * the apiserver to authorize (the kubelet's webhook mode).
 */
public final class KubeletApiServer implements AutoCloseable {
  private final EventLoopGroup group;
  private final Channel server;
  private final ExecutorService blocking;

  private KubeletApiServer(EventLoopGroup group, Channel server, ExecutorService blocking) {
    this.group = group;
    this.server = server;
    this.blocking = blocking;
  }

  public static KubeletApiServer start(
      KubeletApiSettings settings, PodRuntime runtime, PodStreams streams) {
    SslContext tls = tls(settings);
    PodLocator pods = new PodLocator(runtime);
    ExecutorService blocking = Executors.newVirtualThreadPerTaskExecutor();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      Channel server =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                      ch.pipeline()
                          .addLast("tls", tls.newHandler(ch.alloc()))
                          .addLast(KubeletRequestHandler.HTTP_CODEC, new HttpServerCodec())
                          .addLast(
                              KubeletRequestHandler.AGGREGATOR, new HttpObjectAggregator(65536))
                          .addLast("kubelet", new KubeletRequestHandler(pods, streams, blocking));
                    }
                  })
              .bind(new InetSocketAddress(settings.address(), settings.port()))
              .syncUninterruptibly()
              .channel();
      return new KubeletApiServer(group, server, blocking);
    } catch (RuntimeException e) {
      group.shutdownGracefully();
      blocking.shutdown();
      throw new IllegalStateException(
          "cannot listen for the kubelet API on "
              + settings.address()
              + ":"
              + settings.port()
              + " (--kubelet-address, --kubelet-port): "
              + e.getMessage(),
          e);
    }
  }

  public InetSocketAddress address() {
    return (InetSocketAddress) server.localAddress();
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully();
    blocking.shutdownNow();
  }

  @SuppressWarnings("deprecation") // SelfSignedCertificate: the kubelet, too, makes its own cert
  private static SslContext tls(KubeletApiSettings settings) {
    try {
      SslContextBuilder builder;
      if (settings.tlsCertFile().isPresent()) {
        builder =
            SslContextBuilder.forServer(
                settings.tlsCertFile().get().toFile(), settings.tlsKeyFile().get().toFile());
      } else {
        SelfSignedCertificate self = new SelfSignedCertificate(settings.nodeName());
        try {
          builder = SslContextBuilder.forServer(self.key(), self.cert());
        } finally {
          self.delete();
        }
      }
      return builder
          .trustManager(settings.clientCaFile().toFile())
          .clientAuth(ClientAuth.REQUIRE)
          .build();
    } catch (SSLException | CertificateException | IllegalArgumentException e) {
      throw new UncheckedIOException(
          new IOException(
              "cannot set up TLS for the kubelet API (--client-ca-file "
                  + settings.clientCaFile()
                  + ", --tls-cert-file/--tls-private-key-file): "
                  + e.getMessage(),
              e));
    }
  }
}
