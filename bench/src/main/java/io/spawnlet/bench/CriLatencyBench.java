package io.spawnlet.bench;

import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
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
 * Measures the CRI latency of a pod's life cycle against any CRI runtime on a unix socket. The same
 * code drives every runtime under comparison; bench/cri-latency.sh runs it against containerd and
 * spawnlet in one go and writes docs/BENCHMARKS.md.
 */
@Command(
    name = "cri-latency-bench",
    mixinStandardHelpOptions = true,
    description =
        "Times RunPodSandbox, CreateContainer+StartContainer, StopContainer+RemoveContainer and"
            + " StopPodSandbox+RemovePodSandbox for N pods, one pod at a time, and prints"
            + " p50/p99/mean per operation.")
public final class CriLatencyBench implements Callable<Integer> {

  @Option(names = "--socket", required = true, description = "CRI unix socket of the runtime")
  Path socket;

  @Option(names = "--label", defaultValue = "runtime", description = "name used in the report")
  String label;

  @Option(names = "--pods", defaultValue = "100", description = "measured pods (${DEFAULT-VALUE})")
  int pods;

  @Option(
      names = "--warmup",
      defaultValue = "5",
      description = "uncounted pods first (${DEFAULT-VALUE})")
  int warmup;

  @Option(
      names = "--image",
      defaultValue = "docker.io/library/busybox:latest",
      description = "image of the sleeping container; must already be in the runtime")
  String image;

  @Option(names = "--runtime-handler", defaultValue = "", description = "CRI runtime handler")
  String runtimeHandler;

  @Option(names = "--log-root", description = "where pod log directories go (default: a temp dir)")
  Path logRoot;

  @Option(names = "--cgroup-parent", defaultValue = "", description = "pod cgroup parent")
  String cgroupParent;

  @Option(names = "--call-timeout", defaultValue = "120", description = "seconds per CRI call")
  long callTimeoutSeconds;

  @Option(names = "--json", description = "also write the report as JSON to this file")
  Path json;

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
    ManagedChannel channel = UnixSocketChannels.open(socket);
    try {
      RuntimeServiceBlockingStub runtime = RuntimeServiceGrpc.newBlockingStub(channel);
      int leftovers = LeftoverPods.removeAll(runtime);
      if (leftovers > 0 || cleanupOnly) {
        System.out.printf("%s: removed %d pods left by earlier runs%n", label, leftovers);
      }
      if (cleanupOnly) {
        return 0;
      }
      VersionResponse version =
          runtime
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .version(VersionRequest.getDefaultInstance());
      requireImage(channel);
      BenchReport report = measure(runtime, version);
      System.out.print(report.toText());
      if (json != null) {
        Optional.ofNullable(json.toAbsolutePath().getParent()).ifPresent(CriLatencyBench::mkdirs);
        Files.writeString(json, report.toJson());
      }
      return 0;
    } finally {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  private BenchReport measure(RuntimeServiceBlockingStub runtime, VersionResponse version)
      throws IOException {
    String runId = UUID.randomUUID().toString().substring(0, 8);
    Path logs = logRoot != null ? logRoot : Files.createTempDirectory("spawnlet-bench-logs-");
    PodCycle cycle =
        new PodCycle(
            runtime,
            new BenchPodConfigs(runId, image, logs, cgroupParent),
            runtimeHandler,
            callTimeoutSeconds);
    Instant startedAt = Instant.now();
    long start = System.nanoTime();
    for (int i = 0; i < warmup; i++) {
      cycle.run(i);
    }
    Map<Operation, long[]> samples = new EnumMap<>(Operation.class);
    for (Operation operation : Operation.values()) {
      samples.put(operation, new long[pods]);
    }
    for (int i = 0; i < pods; i++) {
      PodTimings timings = cycle.run(warmup + i);
      for (Operation operation : Operation.values()) {
        samples.get(operation)[i] = timings.of(operation);
      }
      if ((i + 1) % 25 == 0) {
        System.out.printf("%s: %d/%d pods%n", label, i + 1, pods);
      }
    }
    return new BenchReport(
        label,
        socket.toString(),
        version.getRuntimeName(),
        version.getRuntimeVersion(),
        runtimeHandler,
        image,
        pods,
        warmup,
        startedAt,
        (System.nanoTime() - start) / 1e9,
        samples);
  }

  private void requireImage(ManagedChannel channel) {
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
              + label
              + " at "
              + socket
              + ": import it first (the benchmark never pulls)");
    }
  }

  private static void mkdirs(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot create " + dir, e);
    }
  }
}
