package io.spawnlet.cri.streaming;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyPingFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrame;
import io.netty.handler.codec.spdy.SpdyGoAwayFrame;
import io.netty.handler.codec.spdy.SpdyHeaders;
import io.netty.handler.codec.spdy.SpdyPingFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import io.netty.handler.codec.spdy.SpdySynStreamFrame;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The server side of a SPDY/3.1 session as Kubernetes clients use it (moby/spdystream): the client
 * opens every stream (SYN_STREAM with headers such as {@code streamType}), we accept each with an
 * empty SYN_REPLY, and both sides send DATA until they half-close (FIN). spdystream implements no
 * flow control (it neither sends nor honours WINDOW_UPDATE), so neither do we: backpressure comes
 * from TCP through {@link Channel#isWritable()}. Client PINGs (odd ids) are echoed.
 */
final class SpdyConnection extends SimpleChannelInboundHandler<SpdyFrame> {
  /** What the protocol on top (remote command, port-forward) hears about. */
  interface Listener {
    /** A new stream; set its {@link Stream#listen listener} before returning. */
    void stream(Stream stream);

    /** The connection closed (client gone, or we closed it). */
    void closed();
  }

  /** Hears one stream's data; called on the event loop, must not block. */
  interface StreamListener {
    void data(byte[] bytes);

    /** The client half-closed the stream (FIN) or reset it. */
    void end();
  }

  /** One stream opened by the client. */
  final class Stream {
    private final int id;
    private final SpdyHeaders headers;
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile StreamListener listener;

    Stream(int id, SpdyHeaders headers) {
      this.id = id;
      this.headers = headers;
    }

    /** A request header, lower case name (SPDY/3 sends lower case names). */
    String header(String name) {
      String v = headers.getAsString(name);
      return v == null ? "" : v;
    }

    void listen(StreamListener l) {
      this.listener = l;
    }

    /** Sends {@code length} bytes; from any thread; waits while the connection is congested. */
    void write(byte[] data, int length) throws java.io.IOException {
      if (ended.get()) {
        throw new java.io.IOException("stream " + id + " already ended");
      }
      ChannelFuture f =
          channel.writeAndFlush(
              new DefaultSpdyDataFrame(id, Unpooled.copiedBuffer(data, 0, length)));
      if (!channel.isWritable()) {
        f.awaitUninterruptibly();
      }
      if (f.isDone() && !f.isSuccess()) {
        throw new java.io.IOException("client connection closed", f.cause());
      }
      if (!channel.isActive()) {
        throw new java.io.IOException("client connection closed");
      }
    }

    /** Half-closes our side (an empty DATA with FIN); once. */
    void end() {
      if (ended.compareAndSet(false, true) && channel.isActive()) {
        DefaultSpdyDataFrame fin = new DefaultSpdyDataFrame(id);
        fin.setLast(true);
        channel.writeAndFlush(fin);
      }
    }
  }

  private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
  private final Listener listener;
  private volatile Channel channel;
  private final AtomicBoolean closing = new AtomicBoolean();

  SpdyConnection(Listener listener) {
    this.listener = listener;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, SpdyFrame frame) {
    switch (frame) {
      case SpdySynStreamFrame syn -> {
        Stream s = new Stream(syn.streamId(), syn.headers());
        streams.put(syn.streamId(), s);
        // A reply with no headers would be encoded as an empty header block, which Go's SPDY
        // framer cannot inflate (it fails the whole session): echo the stream type instead.
        DefaultSpdySynReplyFrame reply = new DefaultSpdySynReplyFrame(syn.streamId());
        reply.headers().set("streamtype", s.header("streamtype"));
        ctx.writeAndFlush(reply);
        listener.stream(s);
        if (syn.isLast()) {
          ended(s);
        }
      }
      case SpdyDataFrame data -> {
        Stream s = streams.get(data.streamId());
        if (s == null) {
          ctx.writeAndFlush(
              new DefaultSpdyRstStreamFrame(data.streamId(), SpdyStreamStatus.INVALID_STREAM));
          return;
        }
        StreamListener l = s.listener;
        if (data.content().isReadable() && l != null) {
          l.data(ByteBufUtil.getBytes(data.content()));
        }
        if (data.isLast()) {
          ended(s);
        }
      }
      case SpdyRstStreamFrame rst -> {
        Stream s = streams.get(rst.streamId());
        if (s != null) {
          s.ended.set(true);
          ended(s);
        }
      }
      case SpdyPingFrame ping -> {
        if ((ping.id() & 1) == 1) {
          ctx.writeAndFlush(new DefaultSpdyPingFrame(ping.id()));
        }
      }
      case SpdyGoAwayFrame goAway -> ctx.close();
      default -> {
        // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do without flow control
      }
    }
  }

  private void ended(Stream s) {
    StreamListener l = s.listener;
    if (l != null) {
      l.end();
    }
  }

  /**
   * Closes the connection once the client had time to read what we sent: the client closes it
   * itself after reading the error stream, and closing first with its data unread would reset it.
   */
  void closeSoon() {
    if (closing.compareAndSet(false, true)) {
      channel.eventLoop().schedule(() -> channel.close(), 10, TimeUnit.SECONDS);
    }
  }

  void close() {
    channel.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    for (Stream s : streams.values()) {
      s.ended.set(true);
      ended(s);
    }
    listener.closed();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    org.slf4j.LoggerFactory.getLogger(SpdyConnection.class).debug("spdy failure", cause);
    ctx.close();
  }
}
