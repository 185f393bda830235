package io.spawnlet.cri.streaming;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyVersion;
import io.spawnlet.cri.oci.ContainerStdio;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Serves one HTTP request for a prepared stream: {@code /exec/<token>}, {@code /attach/<token>},
 * {@code /portforward/<token>}. The token is taken (single use) and the connection upgraded to
 * SPDY/3.1 or WebSocket, whose handlers then carry the request out. An unknown, used or expired
 * token gets 404 and nothing runs. Reusable by any netty HTTP server (the node agent's kubelet
 * API): put it after an {@code HttpServerCodec} named {@value #HTTP_CODEC} and an {@code
 * HttpObjectAggregator} named {@value #AGGREGATOR}.
 */
public final class StreamHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  public static final String HTTP_CODEC = "http";
  public static final String AGGREGATOR = "aggregator";
  static final String PROTOCOL_HEADER = "X-Stream-Protocol-Version";
  private static final List<String> SPDY_COMMAND_PROTOCOLS =
      List.of("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io");
  private static final String SPDY_PORT_FORWARD_PROTOCOL = "portforward.k8s.io";
  private static final String WEBSOCKET_COMMAND_PROTOCOLS =
      "v5.channel.k8s.io,v4.channel.k8s.io,v4.base64.channel.k8s.io,channel.k8s.io,"
          + "base64.channel.k8s.io";
  private static final String WEBSOCKET_PORT_FORWARD_PROTOCOLS =
      "v4.channel.k8s.io,v4.base64.channel.k8s.io";
  private static final int MAX_WEBSOCKET_MESSAGE = 16 * 1024 * 1024;

  private final StreamTokens tokens;
  private final StreamTargets targets;

  public StreamHttpHandler(StreamTokens tokens, StreamTargets targets) {
    this.tokens = tokens;
    this.targets = targets;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    String path = new QueryStringDecoder(req.uri()).path();
    String[] parts = path.split("/");
    if (parts.length != 3 || !List.of("exec", "attach", "portforward").contains(parts[1])) {
      respond(ctx, HttpResponseStatus.NOT_FOUND, "no such path " + path);
      return;
    }
    String upgrade = req.headers().get(HttpHeaderNames.UPGRADE, "").toLowerCase(Locale.ROOT);
    boolean websocket = upgrade.contains("websocket");
    if (!websocket && !upgrade.contains("spdy/3.1")) {
      respond(
          ctx,
          HttpResponseStatus.BAD_REQUEST,
          "streams need a connection upgrade: send Upgrade: SPDY/3.1 or Upgrade: websocket");
      return;
    }
    Optional<StreamRequest> found = tokens.take(parts[2]).filter(r -> r.kind().equals(parts[1]));
    if (found.isEmpty()) {
      respond(
          ctx,
          HttpResponseStatus.NOT_FOUND,
          "unknown stream token: streaming URLs work once and expire after "
              + StreamTokens.TTL.toSeconds()
              + " s; ask the CRI for a new one");
      return;
    }
    StreamRequest request = found.get();
    if (websocket) {
      upgradeToWebSocket(ctx, req, request);
    } else {
      upgradeToSpdy(ctx, req, request);
    }
  }

  private void upgradeToSpdy(ChannelHandlerContext ctx, FullHttpRequest req, StreamRequest r) {
    List<String> offered = new ArrayList<>();
    for (String v : req.headers().getAll(PROTOCOL_HEADER)) {
      for (String p : v.split(",")) {
        if (!p.isBlank()) {
          offered.add(p.strip());
        }
      }
    }
    String chosen;
    SpdyConnection.Listener listener;
    SpdyRemoteCommand command = null;
    if (r instanceof StreamRequest.PortForward pf) {
      if (!offered.isEmpty() && !offered.contains(SPDY_PORT_FORWARD_PROTOCOL)) {
        respond(
            ctx, HttpResponseStatus.FORBIDDEN, unsupported(offered, SPDY_PORT_FORWARD_PROTOCOL));
        return;
      }
      chosen = SPDY_PORT_FORWARD_PROTOCOL;
      listener = new SpdyPortForward(pf.sandboxId(), port -> targets.connect(pf.sandboxId(), port));
    } else {
      StreamRequest.Command c = (StreamRequest.Command) r;
      Optional<String> common =
          SPDY_COMMAND_PROTOCOLS.stream().filter(offered::contains).findFirst();
      if (common.isEmpty()) {
        respond(
            ctx,
            HttpResponseStatus.FORBIDDEN,
            unsupported(offered, String.join(", ", SPDY_COMMAND_PROTOCOLS)));
        return;
      }
      chosen = common.get();
      command = new SpdyRemoteCommand(c, chosen.charAt(1) - '0', opener(c));
      listener = command;
    }
    FullHttpResponse response =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
    response.headers().set(HttpHeaderNames.CONNECTION, "Upgrade");
    response.headers().set(HttpHeaderNames.UPGRADE, "SPDY/3.1");
    response.headers().set(PROTOCOL_HEADER, chosen);
    ctx.writeAndFlush(response);
    SpdyConnection connection = new SpdyConnection(listener);
    var pipeline = ctx.pipeline();
    pipeline.addAfter(ctx.name(), "spdy", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
    pipeline.addAfter("spdy", "spdy-session", connection);
    pipeline.remove(this);
    pipeline.remove(AGGREGATOR);
    pipeline.remove(HTTP_CODEC);
    if (command != null) {
      command.attach(connection, ctx.channel());
    }
  }

  private void upgradeToWebSocket(ChannelHandlerContext ctx, FullHttpRequest req, StreamRequest r) {
    List<Integer> ports = List.of();
    if (r instanceof StreamRequest.PortForward pf) {
      Optional<List<Integer>> asked =
          pf.ports().isEmpty() ? queryPorts(ctx, req.uri()) : Optional.of(pf.ports());
      if (asked.isEmpty()) {
        return;
      }
      ports = asked.get();
    }
    WebSocketServerHandshaker handshaker =
        new WebSocketServerHandshakerFactory(
                "ws://" + req.headers().get(HttpHeaderNames.HOST) + req.uri(),
                r instanceof StreamRequest.PortForward
                    ? WEBSOCKET_PORT_FORWARD_PROTOCOLS
                    : WEBSOCKET_COMMAND_PROTOCOLS,
                false,
                MAX_WEBSOCKET_MESSAGE)
            .newHandshaker(req);
    if (handshaker == null) {
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
      return;
    }
    var pipeline = ctx.pipeline();
    List<Integer> forwarded = ports;
    handshaker
        .handshake(ctx.channel(), req)
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                ctx.close();
                return;
              }
              String protocol = Optional.ofNullable(handshaker.selectedSubprotocol()).orElse("");
              WebSocketChannels channels = new WebSocketChannels(protocol.contains("base64"));
              pipeline.addLast(
                  "ws-aggregator", new WebSocketFrameAggregator(MAX_WEBSOCKET_MESSAGE));
              pipeline.addLast("ws-channels", channels);
              switch (r) {
                case StreamRequest.Command c -> {
                  int version = protocol.startsWith("v5.") ? 5 : protocol.startsWith("v4.") ? 4 : 1;
                  new WebSocketRemoteCommand(c, version, opener(c), channels).start();
                }
                case StreamRequest.PortForward pf ->
                    new WebSocketPortForward(
                            pf.sandboxId(),
                            forwarded,
                            port -> targets.connect(pf.sandboxId(), port),
                            channels)
                        .start();
              }
            });
    pipeline.remove(this);
  }

  /**
   * The ports of a WebSocket port-forward whose CRI request named none: the {@code port} query
   * parameters (repeated or comma-separated), as the kubelet reads them; empty after a 400.
   */
  private static Optional<List<Integer>> queryPorts(ChannelHandlerContext ctx, String uri) {
    List<Integer> ports = new ArrayList<>();
    for (String value : new QueryStringDecoder(uri).parameters().getOrDefault("port", List.of())) {
      for (String p : value.split(",")) {
        try {
          int port = Integer.parseInt(p.strip());
          if (port < 1 || port > 65535) {
            throw new NumberFormatException();
          }
          ports.add(port);
        } catch (NumberFormatException e) {
          respond(
              ctx,
              HttpResponseStatus.BAD_REQUEST,
              "query parameter port: \"" + p + "\" is not a TCP port (1-65535)");
          return Optional.empty();
        }
      }
    }
    if (ports.isEmpty()) {
      respond(
          ctx,
          HttpResponseStatus.BAD_REQUEST,
          "port-forward over WebSocket needs its ports: give them in the CRI request or as"
              + " query parameters port=N");
      return Optional.empty();
    }
    return Optional.of(ports);
  }

  private Supplier<ContainerStdio> opener(StreamRequest.Command c) {
    return switch (c) {
      case StreamRequest.Exec e -> () -> targets.exec(e);
      case StreamRequest.Attach a -> () -> targets.attach(a);
    };
  }

  private static String unsupported(List<String> offered, String supported) {
    return "unable to upgrade: no common stream protocol: the client offered "
        + offered
        + ", spawnlet speaks "
        + supported;
  }

  private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String text) {
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            status,
            Unpooled.copiedBuffer(text + "\n", StandardCharsets.UTF_8));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
    ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
