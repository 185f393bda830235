package io.spawnlet.cri.streaming;

import java.util.List;

/**
 * What a streaming URL is for: checked and recorded when the CRI call (Exec, Attach, PortForward)
 * returns the URL, carried out when a client connects to it. The client cannot change it: the URL
 * holds only a token.
 */
public sealed interface StreamRequest {
  /** The path segment of URLs for this kind of request ({@code /exec/<token>} …). */
  String kind();

  /** exec or attach: a command's stdio relayed over remote-command streams. */
  sealed interface Command extends StreamRequest {
    String containerId();

    boolean tty();

    boolean stdin();

    boolean stdout();

    boolean stderr();
  }

  record Exec(
      String containerId,
      List<String> cmd,
      boolean tty,
      boolean stdin,
      boolean stdout,
      boolean stderr)
      implements Command {
    public Exec {
      cmd = List.copyOf(cmd);
    }

    @Override
    public String kind() {
      return "exec";
    }
  }

  record Attach(String containerId, boolean tty, boolean stdin, boolean stdout, boolean stderr)
      implements Command {
    @Override
    public String kind() {
      return "attach";
    }
  }

  record PortForward(String sandboxId, List<Integer> ports) implements StreamRequest {
    public PortForward {
      ports = List.copyOf(ports);
    }

    @Override
    public String kind() {
      return "portforward";
    }
  }
}
