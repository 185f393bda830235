package io.spawnlet.bench;

import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import runtime.v1.ImageServiceGrpc;
import runtime.v1.ImageSpec;
import runtime.v1.ImageStatusRequest;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.RuntimeServiceGrpc.RuntimeServiceBlockingStub;
import runtime.v1.VersionRequest;
import runtime.v1.VersionResponse;

/**
 * Measures the CRI latency of a pod's life cycle against one or more CRI runtimes on unix sockets.
 * The same code drives every runtime. With several targets the pods are interleaved (pod i goes to
 * A then B, pod i+1 to B then A), so a busy neighbour on the machine or a slow drift weighs on
 * every runtime alike. bench/cri-latency.sh runs it against containerd and spawnlet and writes
 * docs/BENCHMARKS.md.
 */
@Command(
    name = "cri-latency-bench",
    mixinStandardHelpOptions = true,
    description =
        "Times RunPodSandbox, CreateContainer+StartContainer, StopContainer+RemoveContainer and"
            + " StopPodSandbox+RemovePodSandbox for N pods per runtime, one pod at a time, and"
            + " prints p50/p99/mean per operation.")
public final class CriLatencyBench implements Callable<Integer> {

  @Option(
      names = "--target",
      required = true,
      converter = TargetConverter.class,
      description = "LABEL=SOCKET of a CRI runtime; repeat to compare runtimes (interleaved)")
  List<Target> targets;

  @Option(names = "--pods", defaultValue = "100", description = "measured pods per runtime")
  int pods;

  @Option(names = "--warmup", defaultValue = "5", description = "uncounted pods first, per runtime")
  int warmup;

  @Option(
      names = "--image",
      defaultValue = "docker.io/library/busybox:latest",
      description = "image of the sleeping container; must already be in every runtime")
  String image;

  @Option(names = "--runtime-handler", defaultValue = "", description = "CRI runtime handler")
  String runtimeHandler;

  @Option(
      names = "--log-root",
      description = "pod log directories go to LOG_ROOT/LABEL (default: a temp dir)")
  Path logRoot;

  @Option(names = "--cgroup-parent", defaultValue = "", description = "pod cgroup parent")
  String cgroupParent;

  @Option(names = "--call-timeout", defaultValue = "120", description = "seconds per CRI call")
  long callTimeoutSeconds;

  @Option(names = "--json-dir", description = "also write LABEL.json reports into this directory")
  Path jsonDir;

  @Option(
      names = "--cleanup-only",
      description = "stop and remove pods left by earlier benchmark runs, then exit")
  boolean cleanupOnly;

  public static void main(String[] args) {
    System.exit(new CommandLine(new CriLatencyBench()).execute(args));
  }

  @Override
  public Integer call() throws IOException, InterruptedException {
    if (pods < 1 || warmup < 0) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--pods must be >= 1 and --warmup >= 0");
    }
    List<ManagedChannel> channels = new ArrayList<>();
    try {
      List<Runtime> runtimes = new ArrayList<>();
      Path logs = logRoot != null ? logRoot : Files.createTempDirectory("spawnlet-bench-logs-");
      String runId = UUID.randomUUID().toString().substring(0, 8);
      for (Target target : targets) {
        ManagedChannel channel = UnixSocketChannels.open(target.socket());
        channels.add(channel);
        runtimes.add(connect(target, channel, logs.resolve(target.label()), runId));
      }
      if (cleanupOnly) {
        return 0;
      }
      for (Runtime runtime : measure(runtimes)) {
        System.out.print(runtime.report().toText());
        if (jsonDir != null) {
          Files.createDirectories(jsonDir);
          Files.writeString(
              jsonDir.resolve(runtime.target().label() + ".json"), runtime.report().toJson());
        }
      }
      return 0;
    } finally {
      for (ManagedChannel channel : channels) {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }

  private Runtime connect(Target target, ManagedChannel channel, Path logs, String runId) {
    RuntimeServiceBlockingStub stub = RuntimeServiceGrpc.newBlockingStub(channel);
    int leftovers = LeftoverPods.removeAll(stub);
    if (leftovers > 0 || cleanupOnly) {
      System.out.printf("%s: removed %d pods left by earlier runs%n", target.label(), leftovers);
    }
    VersionResponse version =
        stub.withDeadlineAfter(30, TimeUnit.SECONDS).version(VersionRequest.getDefaultInstance());
    if (!cleanupOnly) {
      requireImage(target, channel);
    }
    PodCycle cycle =
        new PodCycle(
            stub,
            new BenchPodConfigs(runId, image, logs, cgroupParent),
            runtimeHandler,
            callTimeoutSeconds);
    return new Runtime(target, version, cycle);
  }

  private List<Runtime> measure(List<Runtime> runtimes) {
    for (int i = 0; i < warmup; i++) {
      for (Runtime runtime : turnOrder(runtimes, i)) {
        runtime.cycle().run(i);
      }
    }
    for (int i = 0; i < pods; i++) {
      for (Runtime runtime : turnOrder(runtimes, i)) {
        runtime.record(i, runtime.cycle().run(warmup + i));
      }
      if ((i + 1) % 25 == 0) {
        System.out.printf("%d/%d pods per runtime%n", i + 1, pods);
      }
    }
    return runtimes;
  }

  /** Who goes first alternates from pod to pod, so no runtime always follows the other. */
  static <T> List<T> turnOrder(List<T> runtimes, int pod) {
    return pod % 2 == 0 ? runtimes : runtimes.reversed();
  }

  private void requireImage(Target target, ManagedChannel channel) {
    boolean present =
        ImageServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .imageStatus(
                ImageStatusRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(image))
                    .build())
            .hasImage();
    if (!present) {
      throw new IllegalStateException(
          "image "
              + image
              + " is not in "
              + target.label()
              + " at "
              + target.socket()
              + ": import it first (the benchmark never pulls)");
    }
  }

  /** One runtime under test and the samples measured on it so far. */
  private final class Runtime {
    private final Target target;
    private final VersionResponse version;
    private final PodCycle cycle;
    private final Map<Operation, long[]> samples = new EnumMap<>(Operation.class);
    private final Instant startedAt = Instant.now();
    private long busyNanos;

    Runtime(Target target, VersionResponse version, PodCycle cycle) {
      this.target = target;
      this.version = version;
      this.cycle = cycle;
      for (Operation operation : Operation.values()) {
        samples.put(operation, new long[pods]);
      }
    }

    Target target() {
      return target;
    }

    PodCycle cycle() {
      return cycle;
    }

    void record(int pod, PodTimings timings) {
      for (Operation operation : Operation.values()) {
        samples.get(operation)[pod] = timings.of(operation);
        busyNanos += timings.of(operation);
      }
    }

    BenchReport report() {
      return new BenchReport(
          target.label(),
          target.socket().toString(),
          version.getRuntimeName(),
          version.getRuntimeVersion(),
          runtimeHandler,
          image,
          pods,
          warmup,
          startedAt,
          busyNanos / 1e9,
          samples);
    }
  }

  static final class TargetConverter implements CommandLine.ITypeConverter<Target> {
    @Override
    public Target convert(String value) {
      return Target.parse(value);
    }
  }
}
