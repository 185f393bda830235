package io.spawnlet.agent.node;

import io.fabric8.kubernetes.api.model.Node;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's loop on its own virtual thread: register, then every heartbeat renew the Lease and
 * report the status. Failures (apiserver down) are logged once per outage and retried at the next
 * beat; registration is retried until it succeeds.
 */
public final class NodeHeartbeat implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeHeartbeat.class);

  private final NodeStatusReporter status;
  private final NodeLease lease;
  private final NodeSettings settings;
  private volatile boolean closed;
  private Thread thread;

  public NodeHeartbeat(NodeStatusReporter status, NodeLease lease, NodeSettings settings) {
    this.status = status;
    this.lease = lease;
    this.settings = settings;
  }

  public void start() {
    thread = Thread.ofVirtual().name("node heartbeat").start(this::run);
  }

  private void run() {
    Node node = null;
    boolean failing = false;
    while (!closed) {
      try {
        if (node == null) {
          node = status.register();
        } else {
          status.heartbeat();
        }
        lease.renew(node);
        if (failing) {
          log.info("node {}: apiserver reachable again", settings.nodeName());
        }
        failing = false;
      } catch (RuntimeException e) {
        if (!failing) {
          log.warn(
              "node {}: cannot report to the apiserver: {} (retrying every {}s)",
              settings.nodeName(),
              e.getMessage(),
              settings.heartbeat().toSeconds());
        }
        failing = true;
      }
      try {
        Thread.sleep(settings.heartbeat());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
