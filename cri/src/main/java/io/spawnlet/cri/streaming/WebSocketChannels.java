package io.spawnlet.cri.streaming;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Numbered channels multiplexed over one WebSocket, as Kubernetes' {@code channel.k8s.io} protocols
 * do: every message starts with its channel number, one byte ({@code 0}…), or in the base64
 * variants one ASCII digit followed by the data in base64 (text messages).
 */
final class WebSocketChannels extends SimpleChannelInboundHandler<WebSocketFrame> {
  interface Listener {
    /** A message for {@code channel}; on the event loop, must not block. */
    void message(int channel, byte[] data);

    void closed();
  }

  private final boolean base64;
  private volatile Listener listener;
  private volatile Channel channel;
  private final AtomicBoolean closing = new AtomicBoolean();

  WebSocketChannels(boolean base64) {
    this.base64 = base64;
  }

  void listen(Listener l) {
    this.listener = l;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
    switch (frame) {
      case PingWebSocketFrame ping ->
          ctx.writeAndFlush(new PongWebSocketFrame(ping.content().retain()));
      case CloseWebSocketFrame close -> ctx.close();
      case BinaryWebSocketFrame bin -> deliver(ByteBufUtil.getBytes(bin.content()));
      case TextWebSocketFrame text -> deliver(ByteBufUtil.getBytes(text.content()));
      default -> {
        // pong, continuation (the aggregator joins fragments)
      }
    }
  }

  private void deliver(byte[] message) {
    if (message.length == 0 || listener == null) {
      return;
    }
    if (!base64) {
      listener.message(message[0] & 0xff, Arrays.copyOfRange(message, 1, message.length));
      return;
    }
    int ch = message[0] - '0';
    byte[] data =
        Base64.getDecoder()
            .decode(new String(message, 1, message.length - 1, StandardCharsets.US_ASCII).strip());
    listener.message(ch, data);
  }

  /** Sends {@code length} bytes on {@code ch}; from any thread; waits while congested. */
  void write(int ch, byte[] data, int length) throws IOException {
    WebSocketFrame frame;
    if (base64) {
      String text =
          (char) ('0' + ch) + Base64.getEncoder().encodeToString(Arrays.copyOf(data, length));
      frame = new TextWebSocketFrame(text);
    } else {
      byte[] msg = new byte[length + 1];
      msg[0] = (byte) ch;
      System.arraycopy(data, 0, msg, 1, length);
      frame = new BinaryWebSocketFrame(Unpooled.wrappedBuffer(msg));
    }
    ChannelFuture f = channel.writeAndFlush(frame);
    if (!channel.isWritable()) {
      f.awaitUninterruptibly();
    }
    if ((f.isDone() && !f.isSuccess()) || !channel.isActive()) {
      throw new IOException("client connection closed");
    }
  }

  /** Ends the WebSocket with a normal close; once. */
  void close() {
    if (closing.compareAndSet(false, true) && channel.isActive()) {
      channel
          .writeAndFlush(new CloseWebSocketFrame(1000, ""))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    Listener l = listener;
    if (l != null) {
      l.closed();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
