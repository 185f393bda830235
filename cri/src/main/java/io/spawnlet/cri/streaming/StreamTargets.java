package io.spawnlet.cri.streaming;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.container.ContainerBundles;
import io.spawnlet.cri.host.NetnsConnections;
import io.spawnlet.cri.oci.ConmonAttach;
import io.spawnlet.cri.oci.ContainerStdio;
import io.spawnlet.cri.oci.RuntimeHandlers;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What a prepared stream request reaches once its client is connected: the process to exec, the
 * container to attach to, the pod port to connect to. Checked again here, since the container may
 * have stopped between the CRI call and the connection.
 */
public final class StreamTargets {
  private final StateStore state;
  private final RuntimeHandlers handlers;
  private final ContainerBundles bundles;
  private final NetnsConnections connections;

  public StreamTargets(
      StateStore state,
      RuntimeHandlers handlers,
      ContainerBundles bundles,
      NetnsConnections connections) {
    this.state = state;
    this.handlers = handlers;
    this.bundles = bundles;
    this.connections = connections;
  }

  ContainerStdio exec(StreamRequest.Exec r) {
    ContainerRecord c = running(r.containerId());
    return handlers
        .runtime(c.runtimeHandler())
        .startExec(c.id(), Optional.of(bundles.bundleDir(c.id())), r.cmd(), r.tty(), r.stdin());
  }

  ContainerStdio attach(StreamRequest.Attach r) {
    ContainerRecord c = running(r.containerId());
    return ConmonAttach.connect(c.id(), bundles.bundleDir(c.id()));
  }

  /**
   * Connects to {@code port} on the pod's loopback. A socket-activated pod that sleeps holds its
   * ports in its network namespace, so the connection itself wakes it.
   */
  SocketChannel connect(String sandboxId, int port) throws IOException {
    SandboxRecord s = state.sandbox("pod_sandbox_id", sandboxId);
    if (s.state() != SandboxRecord.State.READY) {
      throw CriException.precondition("pod sandbox " + s.id() + " is not ready");
    }
    if (s.hostNetwork()) {
      return SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    }
    String netns = s.namespacePaths().get("network");
    if (netns == null || netns.isEmpty()) {
      throw CriException.precondition("pod sandbox " + s.id() + " has no network namespace");
    }
    return connections.connect(Path.of(netns), port);
  }

  private ContainerRecord running(String id) {
    ContainerRecord c = state.container("container_id", id);
    if (c.state() != ContainerRecord.State.RUNNING) {
      throw CriException.precondition(
          "container " + c.id() + " is " + c.state() + ": it must be running");
    }
    return c;
  }
}
