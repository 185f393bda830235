package io.spawnlet.cri.streaming;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import runtime.v1.AttachRequest;
import runtime.v1.AttachResponse;
import runtime.v1.ExecRequest;
import runtime.v1.ExecResponse;
import runtime.v1.PortForwardRequest;
import runtime.v1.PortForwardResponse;

/**
 * The CRI's Exec, Attach and PortForward: each checks its request as the kubelet's streaming server
 * does (plus that the container runs, the sandbox is ready), records it and answers the URL where a
 * client carries it out.
 */
public final class StreamingService {
  private final StateStore state;
  private final StreamingServer server;

  public StreamingService(StateStore state, StreamingServer server) {
    this.state = state;
    this.server = server;
  }

  public ExecResponse exec(ExecRequest req) {
    if (req.getCmdCount() == 0 || req.getCmd(0).isEmpty()) {
      throw CriException.invalid("cmd", "is empty: give the command to run in the container");
    }
    checkStreams(req.getTty(), req.getStdin(), req.getStdout(), req.getStderr());
    ContainerRecord c = running(req.getContainerId());
    StreamRequest r =
        new StreamRequest.Exec(
            c.id(),
            req.getCmdList(),
            req.getTty(),
            req.getStdin(),
            req.getStdout(),
            req.getStderr());
    return ExecResponse.newBuilder().setUrl(server.url(r).toString()).build();
  }

  public AttachResponse attach(AttachRequest req) {
    checkStreams(req.getTty(), req.getStdin(), req.getStdout(), req.getStderr());
    ContainerRecord c = running(req.getContainerId());
    StreamRequest r =
        new StreamRequest.Attach(
            c.id(), req.getTty(), req.getStdin(), req.getStdout(), req.getStderr());
    return AttachResponse.newBuilder().setUrl(server.url(r).toString()).build();
  }

  public PortForwardResponse portForward(PortForwardRequest req) {
    if (req.getPodSandboxId().isEmpty()) {
      throw CriException.invalid("pod_sandbox_id", "is required");
    }
    for (int port : req.getPortList()) {
      if (port <= 0 || port > 65535) {
        throw CriException.invalid("port", port + " is not a TCP port (1-65535)");
      }
    }
    SandboxRecord s = state.sandbox("pod_sandbox_id", req.getPodSandboxId());
    if (s.state() != SandboxRecord.State.READY) {
      throw CriException.precondition(
          "pod sandbox " + s.id() + " is not ready: port-forward needs a running pod");
    }
    StreamRequest r = new StreamRequest.PortForward(s.id(), req.getPortList());
    return PortForwardResponse.newBuilder().setUrl(server.url(r).toString()).build();
  }

  /** The kubelet's rules: some stream asked for, and no separate stderr with a terminal. */
  private static void checkStreams(boolean tty, boolean stdin, boolean stdout, boolean stderr) {
    if (!stdin && !stdout && !stderr) {
      throw CriException.invalid("stdin", "one of stdin, stdout or stderr must be true");
    }
    if (tty && stderr) {
      throw CriException.invalid(
          "stderr", "tty and stderr cannot both be true: a terminal has one output stream");
    }
  }

  private ContainerRecord running(String id) {
    if (id.isEmpty()) {
      throw CriException.invalid("container_id", "is required");
    }
    ContainerRecord c = state.container("container_id", id);
    if (c.state() != ContainerRecord.State.RUNNING) {
      throw CriException.precondition(
          "container " + c.id() + " is " + c.state() + ": streams need a running container");
    }
    return c;
  }
}
