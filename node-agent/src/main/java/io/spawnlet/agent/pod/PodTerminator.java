package io.spawnlet.agent.pod;

import io.spawnlet.agent.pod.PodRuntime.ContainerView;
import io.spawnlet.agent.pod.PodRuntime.SandboxView;
import io.spawnlet.agent.volume.MemoryVolumes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops and removes every sandbox of a pod uid (the runtime is asked, so a sandbox created by a
 * call that was interrupted is found too): running containers get their grace period in parallel,
 * then the sandbox is stopped and removed, then the pod's volumes are unmounted and deleted.
 */
final class PodTerminator {
  private static final Logger log = LoggerFactory.getLogger(PodTerminator.class);

  private final PodRuntime runtime;
  private final Path stateDir;

  PodTerminator(PodRuntime runtime, Path stateDir) {
    this.runtime = runtime;
    this.stateDir = stateDir;
  }

  void terminate(String key, String uid, Duration grace) {
    for (SandboxView sandbox : runtime.sandboxes(Map.of(PodPlanner.POD_UID_LABEL, uid))) {
      List<Thread> stops = new ArrayList<>();
      for (ContainerView c : runtime.containers(sandbox.id())) {
        if (c.state() == ContainerView.State.RUNNING) {
          stops.add(Thread.ofVirtual().start(() -> runtime.stopContainer(c.id(), grace)));
        }
      }
      for (Thread t : stops) {
        joinUninterruptibly(t);
      }
      runtime.stopSandbox(sandbox.id());
      runtime.removeSandbox(sandbox.id());
      log.info("pod {} stopped and removed (sandbox {})", key, shortId(sandbox.id()));
    }
    Path podDir = stateDir.resolve("pods").resolve(uid);
    try {
      MemoryVolumes.unmountBelow(podDir);
    } catch (IOException e) {
      log.warn("pod {}: cannot unmount its memory volumes: {} (umount them by hand)", key, e);
    }
    deleteTree(podDir);
  }

  static String shortId(String id) {
    return id.length() > 13 ? id.substring(0, 13) : id;
  }

  private static void joinUninterruptibly(Thread t) {
    boolean interrupted = false;
    while (true) {
      try {
        t.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> tree = Files.walk(dir)) {
      for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      log.warn("cannot delete the pod's volumes at {}: {} (delete it by hand)", dir, e.toString());
    }
  }
}
