package io.spawnlet.agent.kubeletapi;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Hands an upgrade request (SPDY or WebSocket) on to the runtime's streaming server and then relays
 * bytes both ways, whatever protocol the two ends agree on: the kubelet's proxy mode of {@code
 * /exec}, {@code /attach} and {@code /portForward}. The request goes out as it came (its headers,
 * its query), only its path and Host are the streaming URL's; the answer (101 or an error) comes
 * back unread. Each side reads only when the other has written what it got (back-pressure).
 *
 * <pre>
 *  apiserver ══TLS══► [ssl][http][aggregator][handler]   ──request──► streaming server
 *  apiserver ══TLS══► [ssl][relay] ◄──────── bytes ────────► [relay] streaming server
 * </pre>
 */
final class StreamProxy {
  private StreamProxy() {}

  /**
   * Connects to {@code target}, sends {@code request} there and replaces the HTTP handlers of the
   * client's pipeline (from {@code ctx} and the named {@code httpHandlers}) with a relay. Call on
   * the client channel's event loop; takes over {@code request}'s reference.
   */
  static void splice(
      ChannelHandlerContext ctx, FullHttpRequest request, URI target, String... httpHandlers) {
    Channel client = ctx.channel();
    byte[] head = requestHead(request, target);
    request.release();
    new Bootstrap()
        .group(client.eventLoop())
        .channel(NioSocketChannel.class)
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new Relay(client))
        .connect(target.getHost(), target.getPort())
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (!f.isSuccess()) {
                    KubeletHttp.respond(
                        ctx,
                        502,
                        "cannot reach the runtime's streaming server at "
                            + target.getAuthority()
                            + ": "
                            + f.cause().getMessage());
                    return;
                  }
                  Channel backend = f.channel();
                  backend.writeAndFlush(Unpooled.wrappedBuffer(head));
                  var pipeline = client.pipeline();
                  pipeline.addLast("relay", new Relay(backend));
                  // Bytes the HTTP decoder holds beyond the request flow on to the relay.
                  for (String name : httpHandlers) {
                    pipeline.remove(name);
                  }
                  pipeline.remove(ctx.handler());
                  client.config().setAutoRead(false);
                  client.read();
                  backend.read();
                });
  }

  /** The request line and headers for the streaming server: its path, the client's query. */
  private static String requestLine(FullHttpRequest request, URI target) {
    String query = new QueryStringDecoder(request.uri()).rawQuery();
    return request.method().name()
        + " "
        + target.getRawPath()
        + (query.isEmpty() ? "" : "?" + query)
        + " HTTP/1.1\r\n";
  }

  private static byte[] requestHead(FullHttpRequest request, URI target) {
    StringBuilder head = new StringBuilder(requestLine(request, target));
    head.append("Host: ").append(target.getAuthority()).append("\r\n");
    for (Map.Entry<String, String> h : request.headers()) {
      if (!h.getKey().equalsIgnoreCase(HttpHeaderNames.HOST.toString())
          && !h.getKey().equalsIgnoreCase(HttpHeaderNames.CONTENT_LENGTH.toString())
          && !h.getKey().equalsIgnoreCase(HttpHeaderNames.TRANSFER_ENCODING.toString())) {
        head.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
      }
    }
    head.append("Content-Length: 0\r\n\r\n");
    return head.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  /** Writes what its channel reads to {@code other}, reading on once it is written. */
  private static final class Relay extends ChannelInboundHandlerAdapter {
    private final Channel other;

    Relay(Channel other) {
      this.other = other;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      other
          .writeAndFlush(msg)
          .addListener(
              (ChannelFutureListener)
                  f -> {
                    if (f.isSuccess()) {
                      ctx.channel().read();
                    } else {
                      f.channel().close();
                      ctx.close();
                    }
                  });
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (other.isActive()) {
        other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
