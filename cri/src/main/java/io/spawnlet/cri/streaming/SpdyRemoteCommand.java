package io.spawnlet.cri.streaming;

import io.spawnlet.cri.oci.ContainerStdio;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Kubernetes remote command (exec, attach) over SPDY, protocols {@code v2}, {@code v3} and {@code
 * v4.channel.k8s.io}. The client opens one stream per standard stream it wants, named by the {@code
 * streamType} header, plus {@code error} (how it ended) and, with a terminal from v3 on, {@code
 * resize}. Once all expected streams are open the command runs; until then nothing does.
 *
 * <pre>
 *  client                         server
 *   SYN error, stdin, stdout, …  ──►  SYN_REPLY each; all there → start the command
 *   DATA stdin / resize          ──►  process input
 *                                ◄──  DATA stdout / stderr
 *   (reads error to EOF)         ◄──  FIN stdout/stderr; DATA error (Status); FIN error
 *   closes the connection
 * </pre>
 */
final class SpdyRemoteCommand implements SpdyConnection.Listener {
  /** How long the client has to open its streams (the kubelet's streamCreationTimeout). */
  private static final long STREAM_CREATION_SECONDS = 30;

  private enum Type {
    ERROR,
    STDIN,
    STDOUT,
    STDERR,
    RESIZE
  }

  private final StreamRequest.Command request;
  private final int version;
  private final Supplier<ContainerStdio> open;
  private final Set<Type> expected = EnumSet.of(Type.ERROR);
  private final Map<Type, SpdyConnection.Stream> streams = new EnumMap<>(Type.class);
  private final ResizeDecoder resizes = new ResizeDecoder();
  private SpdyConnection connection;
  private CommandSession session;

  SpdyRemoteCommand(StreamRequest.Command request, int version, Supplier<ContainerStdio> open) {
    this.request = request;
    this.version = version;
    this.open = open;
    if (request.stdin()) {
      expected.add(Type.STDIN);
    }
    if (request.stdout()) {
      expected.add(Type.STDOUT);
    }
    if (request.stderr() && !request.tty()) {
      expected.add(Type.STDERR);
    }
    if (request.tty() && version >= 3) {
      expected.add(Type.RESIZE);
    }
  }

  /** Binds to the connection and gives the client its time to open the streams. */
  void attach(SpdyConnection connection, io.netty.channel.Channel channel) {
    this.connection = connection;
    channel
        .eventLoop()
        .schedule(
            () -> {
              if (session == null) {
                connection.close();
              }
            },
            STREAM_CREATION_SECONDS,
            TimeUnit.SECONDS);
  }

  @Override
  public void stream(SpdyConnection.Stream stream) {
    Type type;
    try {
      type = Type.valueOf(stream.header("streamtype").toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      stream.listen(ignored());
      return;
    }
    streams.put(type, stream);
    switch (type) {
      case STDIN ->
          stream.listen(
              new SpdyConnection.StreamListener() {
                @Override
                public void data(byte[] bytes) {
                  session().ifPresent(s -> s.stdin(bytes));
                }

                @Override
                public void end() {
                  session().ifPresent(CommandSession::stdinEnd);
                }
              });
      case RESIZE ->
          stream.listen(
              new SpdyConnection.StreamListener() {
                @Override
                public void data(byte[] bytes) {
                  for (ResizeDecoder.Size size : resizes.feed(bytes)) {
                    session().ifPresent(s -> s.resize(size.width(), size.height()));
                  }
                }

                @Override
                public void end() {}
              });
      default -> stream.listen(ignored());
    }
    if (session == null && streams.keySet().containsAll(expected)) {
      session =
          new CommandSession(
              request.kind() + "-" + shortId(request.containerId()), open, clientStreams());
      session.start();
    }
  }

  private java.util.Optional<CommandSession> session() {
    return java.util.Optional.ofNullable(session);
  }

  private CommandSession.ClientStreams clientStreams() {
    SpdyConnection.Stream out = streams.get(Type.STDOUT);
    SpdyConnection.Stream err = streams.get(Type.STDERR);
    SpdyConnection.Stream error = streams.get(Type.ERROR);
    return new CommandSession.ClientStreams() {
      @Override
      public ContainerStdio.Sink stdout() {
        return out == null ? (d, n) -> {} : out::write;
      }

      @Override
      public ContainerStdio.Sink stderr() {
        return err == null ? (d, n) -> {} : err::write;
      }

      @Override
      public void finish(ExitStatus status) {
        if (out != null) {
          out.end();
        }
        if (err != null) {
          err.end();
        }
        byte[] report = status.encode(version);
        try {
          if (report.length > 0) {
            error.write(report, report.length);
          }
        } catch (java.io.IOException e) {
          // the client has gone
        }
        error.end();
        streams.values().forEach(SpdyConnection.Stream::end);
        connection.closeSoon();
      }
    };
  }

  @Override
  public void closed() {
    session().ifPresent(CommandSession::clientGone);
  }

  static SpdyConnection.StreamListener ignored() {
    return new SpdyConnection.StreamListener() {
      @Override
      public void data(byte[] bytes) {}

      @Override
      public void end() {}
    };
  }

  static String shortId(String id) {
    return id.length() > 12 ? id.substring(0, 12) : id;
  }
}
