package io.spawnlet.agent.pod;

import io.spawnlet.agent.pod.PodRuntime.SandboxView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The static pod source: rescans the manifest directory every poll interval and keeps one {@link
 * PodWorker} per pod ({@code namespace/name}). A new file starts its pods, a removed file stops and
 * removes them, an edited file (new content → new uid) replaces them: the old pod is removed before
 * the new one starts, so host ports and names are free.
 *
 * <p>At start-up, sandboxes this directory's agent made in an earlier run whose pod no longer is in
 * the directory (or changed meanwhile) are removed; the others are adopted by their workers.
 * Manifests that cannot be run are logged once, naming the file and field.
 */
public final class StaticPodController implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StaticPodController.class);
  private static final Duration DEFAULT_GRACE = Duration.ofSeconds(30);

  private final AgentSettings settings;
  private final Path manifests;
  private final PodRuntime runtime;
  private final ManifestFiles manifestFiles;
  private final PodPlanner planner;
  private final PodTerminator terminator;
  private final Map<String, PodWorker> workers = new ConcurrentHashMap<>();
  private final Map<String, Thread> replacing = new ConcurrentHashMap<>();
  private final Map<String, String> reported = new HashMap<>();
  private volatile boolean closed;
  private Thread loop;

  public StaticPodController(AgentSettings settings, PodRuntime runtime) {
    this.settings = settings;
    this.manifests =
        settings
            .manifests()
            .orElseThrow(() -> new IllegalArgumentException("static pods need a manifest dir"));
    this.runtime = runtime;
    this.manifestFiles = new ManifestFiles(settings.nodeName());
    this.planner = new PodPlanner(settings);
    this.terminator = new PodTerminator(runtime, settings.stateDir());
  }

  /** Reads the directory once, removes orphans of an earlier run, then watches on a thread. */
  public void start() throws IOException {
    if (!Files.isDirectory(manifests)) {
      throw new IOException(
          "manifest directory " + manifests + " does not exist: create it or fix --manifests");
    }
    Map<String, PodPlan> desired = scan();
    removeOrphans(desired);
    reconcile(desired);
    loop = Thread.ofVirtual().name("static pods").start(this::watch);
    log.info("watching {} for pod manifests ({} pods)", manifests, desired.size());
  }

  /** Stops watching; the pods keep running unless {@code stopPods}. Waits for the workers. */
  public void close(boolean stopPods) {
    closed = true;
    if (loop != null) {
      loop.interrupt();
      joinQuietly(loop);
    }
    replacing.values().forEach(StaticPodController::joinQuietly);
    List<PodWorker> all = new ArrayList<>(workers.values());
    for (PodWorker w : all) {
      if (stopPods) {
        w.terminate();
      } else {
        w.detach();
      }
    }
    all.forEach(w -> joinQuietly(w));
    workers.clear();
  }

  @Override
  public void close() {
    close(false);
  }

  private void watch() {
    while (!closed) {
      try {
        Thread.sleep(settings.pollInterval());
        reconcile(scan());
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException | IOException e) {
        log.warn("cannot read {}: {}", manifests, e.toString());
      }
    }
  }

  /** The pods the directory asks for, by key; refused manifests are logged and left out. */
  Map<String, PodPlan> scan() throws IOException {
    List<Path> files;
    try (Stream<Path> list = Files.list(manifests)) {
      files = list.filter(ManifestFiles::isManifest).filter(Files::isRegularFile).sorted().toList();
    }
    Map<String, PodPlan> desired = new LinkedHashMap<>();
    Map<String, Path> sources = new HashMap<>();
    Set<String> problems = new java.util.HashSet<>();
    for (Path file : files) {
      List<StaticPod> pods;
      try {
        pods = manifestFiles.read(file);
      } catch (PodRefusedException e) {
        report(file.toString(), "manifest refused: " + e.getMessage(), problems);
        continue;
      } catch (IOException e) {
        report(file.toString(), "cannot read manifest " + file + ": " + e, problems);
        continue;
      }
      for (StaticPod pod : pods) {
        if (sources.containsKey(pod.key())) {
          report(
              file + "#" + pod.key(),
              "pod "
                  + pod.key()
                  + " in "
                  + file
                  + " refused: "
                  + sources.get(pod.key())
                  + " already defines it",
              problems);
          continue;
        }
        try {
          desired.put(pod.key(), planner.plan(pod));
          sources.put(pod.key(), file);
        } catch (PodRefusedException e) {
          report(
              file + "#" + pod.key(),
              "pod " + pod.key() + " (" + file + ") refused: " + e.getMessage(),
              problems);
        }
      }
    }
    reported.keySet().retainAll(problems);
    return desired;
  }

  private void report(String where, String message, Set<String> problems) {
    problems.add(where);
    if (!message.equals(reported.put(where, message))) {
      log.error(message);
    }
  }

  private synchronized void reconcile(Map<String, PodPlan> desired) {
    if (closed) {
      return;
    }
    for (var entry : new ArrayList<>(workers.entrySet())) {
      PodPlan wanted = desired.get(entry.getKey());
      if (wanted == null || !wanted.sandbox().uid().equals(entry.getValue().uid())) {
        String key = entry.getKey();
        PodWorker old = entry.getValue();
        workers.remove(key);
        log.info(
            "pod {}: manifest {}: stopping the pod", key, wanted == null ? "removed" : "changed");
        old.terminate();
        replacing.put(
            key,
            Thread.ofVirtual()
                .name("replace " + key)
                .start(
                    () -> {
                      joinQuietly(old);
                      replacing.remove(key);
                    }));
      }
    }
    for (var entry : desired.entrySet()) {
      String key = entry.getKey();
      if (!workers.containsKey(key) && !replacing.containsKey(key)) {
        PodWorker worker =
            PodWorker.forStaticPod(entry.getValue(), runtime, terminator, settings.pollInterval());
        workers.put(key, worker);
        worker.start();
      }
    }
  }

  private void removeOrphans(Map<String, PodPlan> desired) {
    Set<String> uids =
        desired.values().stream().map(p -> p.sandbox().uid()).collect(Collectors.toSet());
    String source = PodPlanner.sourceLabel(manifests);
    Set<String> done = new java.util.HashSet<>();
    for (SandboxView s : runtime.sandboxes(Map.of(PodPlanner.SOURCE_LABEL, source))) {
      String uid = s.labels().getOrDefault(PodPlanner.POD_UID_LABEL, "");
      if (uids.contains(uid) || !done.add(uid)) {
        continue;
      }
      String key =
          s.labels().getOrDefault(PodPlanner.POD_NAMESPACE_LABEL, "?")
              + "/"
              + s.labels().getOrDefault(PodPlanner.POD_NAME_LABEL, "?");
      log.info("pod {} (uid {}) is no longer in {}: removing it", key, uid, manifests);
      terminator.terminate(key, uid, grace(s));
    }
  }

  private static Duration grace(SandboxView s) {
    try {
      return Duration.ofSeconds(
          Long.parseLong(s.annotations().getOrDefault(PodPlanner.GRACE_ANNOTATION, "")));
    } catch (NumberFormatException e) {
      return DEFAULT_GRACE;
    }
  }

  private static void joinQuietly(PodWorker w) {
    try {
      w.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void joinQuietly(Thread t) {
    try {
      t.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
