package io.spawnlet.bench;

import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.RuntimeServiceGrpc.RuntimeServiceBlockingStub;

/**
 * Socket activation of a whole Debian machine, spawnlet next to systemd's own ({@code
 * systemd-socket-activate} + {@code systemd-nspawn -b}) in one run: cold wake (connect → first byte
 * of the HTTP response on a sleeping pod), awake latency (the same on a running one, next to a
 * plain, never-activated spawnlet pod), and the memory a sleeping pod costs (holder PSS with many
 * sleeping pods, and the daemon's growth). Samples alternate between the sides (A,B then B,A), and
 * each side is back asleep before the other is measured, so neither measures the other's poweroff.
 * bench/activation.sh sets up both sides and writes docs/BENCHMARKS.md.
 */
@Command(
    name = "activation-bench",
    mixinStandardHelpOptions = true,
    description = "Cold wake, awake latency and sleeping-pod memory: spawnlet vs systemd-nspawn.")
public final class ActivationBench implements Callable<Integer> {
  static final String COLD_SPAWNLET = "cold wake, spawnlet";
  static final String COLD_NSPAWN = "cold wake, systemd-socket-activate + nspawn";
  static final String AWAKE_SPAWNLET = "awake, spawnlet (socket-activated pod)";
  static final String AWAKE_PLAIN = "awake, spawnlet (plain pod, no activation)";
  static final String AWAKE_NSPAWN = "awake, systemd-socket-activate + nspawn";
  static final String READY_PLAIN = "boot to READY=1, spawnlet (CreateContainer+StartContainer)";
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STATE_TIMEOUT = Duration.ofSeconds(120);

  @Option(names = "--socket", required = true, description = "spawnlet's CRI socket")
  Path socket;

  @Option(names = "--image", required = true, description = "the Debian systemd image, imported")
  String image;

  @Option(names = "--samples", defaultValue = "20", description = "cold wakes per side")
  int samples;

  @Option(names = "--awake-samples", defaultValue = "50", description = "awake requests per side")
  int awakeSamples;

  @Option(names = "--warmup", defaultValue = "2", description = "uncounted cold wakes per side")
  int warmup;

  @Option(names = "--ready-samples", defaultValue = "5", description = "plain pods booted")
  int readySamples;

  @Option(names = "--sleeping-pods", defaultValue = "100", description = "for the memory figure")
  int sleepingPods;

  @Option(names = "--daemon-pid", required = true, description = "spawnlet daemon's pid")
  long daemonPid;

  @Option(names = "--nspawn-netns", required = true, description = "netns for the reference")
  String nspawnNetns;

  @Option(names = "--nspawn-address", required = true, description = "its veth address")
  String nspawnAddress;

  @Option(names = "--nspawn-rootfs", required = true, description = "writable rootfs for nspawn")
  Path nspawnRootfs;

  @Option(names = "--work", required = true, description = "logs and pod log directories")
  Path work;

  @Option(names = "--settle-ms", defaultValue = "300", description = "pause before each sample")
  long settleMillis;

  @Option(names = "--out", required = true, description = "writes OUT.md (tables), OUT.json")
  Path out;

  public static void main(String[] args) {
    System.exit(new CommandLine(new ActivationBench()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    ManagedChannel channel = UnixSocketChannels.open(socket);
    try {
      RuntimeServiceBlockingStub cri = RuntimeServiceGrpc.newBlockingStub(channel);
      LeftoverPods.removeAll(cri);
      String runId = UUID.randomUUID().toString().substring(0, 6);
      SpawnletPods pods = new SpawnletPods(cri, image, work.resolve("pod-logs"), runId);
      NspawnActivation nspawn =
          new NspawnActivation(
              nspawnNetns, nspawnAddress, nspawnRootfs, work.resolve("nspawn.log"));
      ActivationReport report = new ActivationReport(Instant.now(), samples, warmup);
      try {
        coldWakes(pods, nspawn, runId, report);
        awake(pods, nspawn, runId, report);
        memory(pods, report);
      } finally {
        LeftoverPods.removeAll(cri);
      }
      Files.writeString(Path.of(out + ".json"), report.toJson());
      Files.writeString(Path.of(out + ".md"), report.toMarkdown());
      System.out.print(report.toMarkdown());
      return 0;
    } finally {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  private void coldWakes(
      SpawnletPods pods, NspawnActivation nspawn, String runId, ActivationReport report)
      throws Exception {
    SpawnletPods.Pod pod = pods.activated("wake-" + runId, "1s");
    awaitState(pods, pod, "sleeping");
    List<Long> spawnlet = new ArrayList<>();
    List<Long> reference = new ArrayList<>();
    for (int i = 0; i < warmup + samples; i++) {
      boolean counted = i >= warmup;
      for (int side : i % 2 == 0 ? new int[] {0, 1} : new int[] {1, 0}) {
        if (side == 0) {
          settle();
          long took = FirstByte.nanos(pod.http(), REQUEST_TIMEOUT);
          awaitState(pods, pod, "sleeping"); // idle timeout 1 s, then poweroff
          if (counted) {
            spawnlet.add(took);
          }
        } else {
          NspawnActivation.Listener listener = nspawn.listen("actb" + runId + i);
          if (i == 0) {
            report.socketActivatePssKib(ProcessMemory.pssKib(listener.pid()));
          }
          settle();
          long took = FirstByte.nanos(nspawn.http(), REQUEST_TIMEOUT);
          nspawn.powerOff(listener);
          if (counted) {
            reference.add(took);
          }
        }
      }
      System.out.printf("cold wake %d/%d per side%n", i + 1, warmup + samples);
    }
    report.series(COLD_SPAWNLET, spawnlet);
    report.series(COLD_NSPAWN, reference);
    pods.remove(pod.podId());
  }

  private void awake(
      SpawnletPods pods, NspawnActivation nspawn, String runId, ActivationReport report)
      throws Exception {
    List<Long> ready = new ArrayList<>();
    SpawnletPods.Pod plain = null;
    for (int i = 0; i < readySamples; i++) {
      if (plain != null) {
        pods.remove(plain.podId());
      }
      settle();
      plain = pods.plain("plain-" + runId + "-" + i);
      ready.add(plain.createStartNanos());
    }
    report.series(READY_PLAIN, ready);
    SpawnletPods.Pod activated = pods.activated("awake-" + runId, "0");
    NspawnActivation.Listener listener = nspawn.listen("actb" + runId + "awake");
    try {
      Map<String, java.net.InetSocketAddress> sides = new LinkedHashMap<>();
      sides.put(AWAKE_SPAWNLET, activated.http());
      sides.put(AWAKE_PLAIN, plain.http());
      sides.put(AWAKE_NSPAWN, nspawn.http());
      Map<String, List<Long>> measured = new LinkedHashMap<>();
      List<String> names = new ArrayList<>(sides.keySet());
      int warmupRequests = Math.max(3, warmup * 5); // the first one wakes the activated pods
      for (int i = 0; i < warmupRequests + awakeSamples; i++) {
        for (int k = 0; k < names.size(); k++) {
          String name = names.get((i + k) % names.size()); // each side leads in turn
          long took = FirstByte.nanos(sides.get(name), REQUEST_TIMEOUT);
          if (i >= warmupRequests) {
            measured.computeIfAbsent(name, n -> new ArrayList<>()).add(took);
          }
        }
        Thread.sleep(20); // one request at a time, as a client would send them
      }
      names.forEach(n -> report.series(n, measured.get(n)));
    } finally {
      nspawn.powerOff(listener);
      pods.remove(activated.podId());
      pods.remove(plain.podId());
    }
  }

  private void memory(SpawnletPods pods, ActivationReport report) throws Exception {
    settle();
    long before = ProcessMemory.pssKib(daemonPid);
    List<SpawnletPods.Pod> sleeping = new ArrayList<>();
    for (int i = 0; i < sleepingPods; i++) {
      sleeping.add(
          pods.activated("mem-" + i + "-" + UUID.randomUUID().toString().substring(0, 4), "5m"));
    }
    Thread.sleep(3000);
    List<Long> holders = new ArrayList<>();
    for (SpawnletPods.Pod pod : sleeping) {
      if (!pods.activationState(pod.podId()).orElse("").equals("sleeping")) {
        throw new IllegalStateException("pod " + pod.podId() + " is not asleep");
      }
      holders.add(ProcessMemory.pssKib(pods.holderPid(pod.podId())));
    }
    long after = ProcessMemory.pssKib(daemonPid);
    report.memory(sleepingPods, holders, before, after);
    System.out.printf("memory: %d sleeping pods measured%n", sleepingPods);
  }

  private static void awaitState(SpawnletPods pods, SpawnletPods.Pod pod, String state)
      throws InterruptedException {
    long deadline = System.nanoTime() + STATE_TIMEOUT.toNanos();
    while (!pods.activationState(pod.podId()).orElse("").equals(state)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "pod " + pod.podId() + " not " + state + " within " + STATE_TIMEOUT);
      }
      Thread.sleep(50);
    }
  }

  private void settle() throws InterruptedException {
    Thread.sleep(settleMillis);
  }
}
