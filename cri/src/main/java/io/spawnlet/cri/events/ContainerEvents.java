package io.spawnlet.cri.events;

import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.ContainerEventResponse;
import runtime.v1.ContainerEventType;

/**
 * The GetContainerEvents stream (the kubelet's "evented PLEG"). Each subscriber gets its own
 * bounded queue drained by a virtual thread, so one slow client never blocks a container operation;
 * a client that falls 1000 events behind is disconnected and re-lists, as the kubelet does after a
 * stream error.
 */
public final class ContainerEvents {
  private static final Logger log = LoggerFactory.getLogger(ContainerEvents.class);
  private static final int QUEUE = 1000;
  private final CopyOnWriteArrayList<Subscriber> subscribers = new CopyOnWriteArrayList<>();

  /** Publishes an event; {@code event} builds the response only if someone listens. */
  public void publish(Supplier<ContainerEventResponse> event) {
    if (subscribers.isEmpty()) {
      return;
    }
    ContainerEventResponse e = event.get();
    for (Subscriber s : subscribers) {
      if (!s.queue.offer(e)) {
        log.warn("container event subscriber fell {} events behind; closing its stream", QUEUE);
        s.close();
      }
    }
  }

  public static ContainerEventResponse.Builder event(String containerId, ContainerEventType type) {
    return ContainerEventResponse.newBuilder()
        .setContainerId(containerId)
        .setContainerEventType(type)
        .setCreatedAt(System.currentTimeMillis() * 1_000_000L);
  }

  public void subscribe(ServerCallStreamObserver<ContainerEventResponse> out) {
    Subscriber s = new Subscriber(out);
    subscribers.add(s);
    out.setOnCancelHandler(s::close);
    Thread.ofVirtual().name("container-events").start(s::drain);
  }

  private final class Subscriber {
    final BlockingQueue<ContainerEventResponse> queue = new ArrayBlockingQueue<>(QUEUE);
    final ServerCallStreamObserver<ContainerEventResponse> out;
    volatile boolean closed;
    volatile Thread drainer;

    Subscriber(ServerCallStreamObserver<ContainerEventResponse> out) {
      this.out = out;
    }

    void drain() {
      drainer = Thread.currentThread();
      try {
        while (!closed) {
          ContainerEventResponse e = queue.take();
          synchronized (this) {
            if (!closed) {
              out.onNext(e);
            }
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        log.debug("container event stream ended: {}", e.toString());
      } finally {
        close();
      }
    }

    synchronized void close() {
      if (closed) {
        return;
      }
      closed = true;
      subscribers.remove(this);
      if (!out.isCancelled()) {
        try {
          out.onError(
              io.grpc.Status.ABORTED
                  .withDescription("event stream closed by spawnlet; re-subscribe and re-list")
                  .asRuntimeException());
        } catch (RuntimeException ignored) {
          // the stream is already gone
        }
      }
      Thread d = drainer;
      if (d != null && d != Thread.currentThread()) {
        d.interrupt();
      }
    }
  }
}
