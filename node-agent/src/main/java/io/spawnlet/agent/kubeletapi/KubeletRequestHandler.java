package io.spawnlet.agent.kubeletapi;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.spawnlet.agent.pod.PodRuntime.ContainerView;
import io.spawnlet.agent.pod.PodRuntimeException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;

/**
 * The kubelet API's routes: {@code /exec/<ns>/<pod>/<container>}, {@code /attach/…} and {@code
 * /portForward/<ns>/<pod>} resolve the pod, ask the runtime for a streaming URL and splice the
 * connection to it ({@link StreamProxy}); {@code /containerLogs/<ns>/<pod>/<container>} streams the
 * container's log; {@code /healthz} answers ok. Runtime calls block, so they run on {@code
 * blocking}, not on the event loop.
 */
final class KubeletRequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  static final String HTTP_CODEC = "http";
  static final String AGGREGATOR = "aggregator";

  private final PodLocator pods;
  private final PodStreams streams;
  private final ExecutorService blocking;

  KubeletRequestHandler(PodLocator pods, PodStreams streams, ExecutorService blocking) {
    super(false);
    this.pods = pods;
    this.streams = streams;
    this.blocking = blocking;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
    String[] parts = uri.path().substring(1).split("/");
    Map<String, List<String>> query = uri.parameters();
    ctx.channel().config().setAutoRead(false);
    blocking.execute(
        () -> {
          try {
            switch (parts[0]) {
              case "healthz" -> {
                req.release();
                KubeletHttp.respond(ctx, 200, "ok");
              }
              case "exec", "attach" -> {
                expect(parts, 4, "/" + parts[0] + "/<namespace>/<pod>/<container>");
                ContainerView c = pods.running(parts[1], parts[2], parts[3]);
                PodStreams.StreamOptions options = streamOptions(query);
                URI url =
                    parts[0].equals("exec")
                        ? streams.exec(c.id(), command(query), options)
                        : streams.attach(c.id(), options);
                splice(ctx, req, url);
              }
              case "portForward" -> {
                expect(parts, 3, "/portForward/<namespace>/<pod>");
                String sandbox = pods.sandbox(parts[1], parts[2]);
                splice(ctx, req, streams.portForward(sandbox, ports(query)));
              }
              case "containerLogs" -> {
                expect(parts, 4, "/containerLogs/<namespace>/<pod>/<container>");
                req.release();
                logs(ctx, parts, query);
              }
              default -> {
                req.release();
                KubeletHttp.respond(ctx, 404, "no such kubelet API path " + uri.path());
              }
            }
          } catch (KubeletApiException e) {
            release(req);
            KubeletHttp.respond(ctx, e.status(), e.getMessage());
          } catch (PodRuntimeException e) {
            release(req);
            KubeletHttp.respond(
                ctx, e.kind() == PodRuntimeException.Kind.NOT_FOUND ? 404 : 500, e.getMessage());
          } catch (RuntimeException e) {
            release(req);
            KubeletHttp.respond(ctx, 500, "internal error: " + e);
          }
        });
  }

  private void splice(ChannelHandlerContext ctx, FullHttpRequest req, URI url) {
    ctx.executor().execute(() -> StreamProxy.splice(ctx, req, url, HTTP_CODEC, AGGREGATOR));
  }

  private static void release(FullHttpRequest req) {
    if (req.refCnt() > 0) {
      req.release();
    }
  }

  private void logs(ChannelHandlerContext ctx, String[] parts, Map<String, List<String>> query) {
    ContainerView c = pods.container(parts[1], parts[2], parts[3], flag(query, "previous"));
    ContainerLogs.Options options =
        new ContainerLogs.Options(
            flag(query, "timestamps"),
            number(query, "tailLines"),
            since(query),
            number(query, "limitBytes"),
            flag(query, "follow"));
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    ctx.writeAndFlush(head);
    ContainerLogs.copy(
        Path.of(c.logPath()),
        options,
        () -> ctx.channel().isActive() && stillRunning(parts, c.id()),
        text ->
            ctx.writeAndFlush(
                    new DefaultHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8)))
                .syncUninterruptibly());
    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
  }

  private boolean stillRunning(String[] parts, String id) {
    try {
      ContainerView now = pods.container(parts[1], parts[2], parts[3], false);
      return now.id().equals(id) && now.state() == ContainerView.State.RUNNING;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static void expect(String[] parts, int n, String form) {
    if (parts.length != n || List.of(parts).contains("")) {
      throw KubeletApiException.notFound("expected a path " + form);
    }
  }

  /** The apiserver's names ({@code input}, {@code output}, {@code error}) or the option names. */
  private static PodStreams.StreamOptions streamOptions(Map<String, List<String>> query) {
    boolean tty = flag(query, "tty");
    boolean stdin = flag(query, "input") || flag(query, "stdin");
    boolean stdout = flag(query, "output") || flag(query, "stdout");
    boolean stderr = (flag(query, "error") || flag(query, "stderr")) && !tty;
    if (!stdin && !stdout && !stderr) {
      throw KubeletApiException.badRequest(
          "you must specify at least 1 of stdin, stdout, stderr (query input, output, error)");
    }
    return new PodStreams.StreamOptions(stdin, stdout, stderr, tty);
  }

  private static List<String> command(Map<String, List<String>> query) {
    List<String> command = query.getOrDefault("command", List.of());
    if (command.isEmpty()) {
      throw KubeletApiException.badRequest("exec needs a command: query parameter command");
    }
    return command;
  }

  private static List<Integer> ports(Map<String, List<String>> query) {
    List<Integer> ports = new ArrayList<>();
    for (String value : query.getOrDefault("port", List.of())) {
      for (String p : value.split(",")) {
        try {
          int port = Integer.parseInt(p.strip());
          if (port < 1 || port > 65535) {
            throw new NumberFormatException();
          }
          ports.add(port);
        } catch (NumberFormatException e) {
          throw KubeletApiException.badRequest("port \"" + p + "\" is not a TCP port (1-65535)");
        }
      }
    }
    return ports;
  }

  private static boolean flag(Map<String, List<String>> query, String name) {
    List<String> v = query.getOrDefault(name, List.of());
    return !v.isEmpty() && (v.get(0).equals("1") || v.get(0).equalsIgnoreCase("true"));
  }

  private static OptionalLong number(Map<String, List<String>> query, String name) {
    List<String> v = query.getOrDefault(name, List.of());
    if (v.isEmpty()) {
      return OptionalLong.empty();
    }
    try {
      long n = Long.parseLong(v.get(0));
      if (n < 0) {
        throw new NumberFormatException();
      }
      return OptionalLong.of(n);
    } catch (NumberFormatException e) {
      throw KubeletApiException.badRequest(
          "query parameter " + name + " \"" + v.get(0) + "\" is not a non-negative integer");
    }
  }

  private static Optional<Instant> since(Map<String, List<String>> query) {
    OptionalLong seconds = number(query, "sinceSeconds");
    if (seconds.isPresent()) {
      return Optional.of(Instant.now().minusSeconds(seconds.getAsLong()));
    }
    List<String> time = query.getOrDefault("sinceTime", List.of());
    if (time.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(OffsetDateTime.parse(time.get(0)).toInstant());
    } catch (java.time.format.DateTimeParseException e) {
      throw KubeletApiException.badRequest(
          "query parameter sinceTime \"" + time.get(0) + "\" is not RFC 3339");
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
