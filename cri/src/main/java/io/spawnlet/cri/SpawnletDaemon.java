package io.spawnlet.cri;

import io.spawnlet.cri.activation.ActivationMetrics;
import io.spawnlet.cri.activation.SocketActivation;
import io.spawnlet.cri.config.DaemonConfig;
import io.spawnlet.cri.container.ContainerBundles;
import io.spawnlet.cri.container.ContainerCreator;
import io.spawnlet.cri.container.ContainerExits;
import io.spawnlet.cri.container.ContainerLifecycle;
import io.spawnlet.cri.container.ContainerQueries;
import io.spawnlet.cri.container.OomKills;
import io.spawnlet.cri.events.ContainerEvents;
import io.spawnlet.cri.grpc.CriServer;
import io.spawnlet.cri.grpc.ImageServiceEndpoint;
import io.spawnlet.cri.grpc.RuntimeServiceEndpoint;
import io.spawnlet.cri.host.CgroupAccounting;
import io.spawnlet.cri.host.CgroupHierarchies;
import io.spawnlet.cri.host.NamespacePinner;
import io.spawnlet.cri.host.NetnsConnections;
import io.spawnlet.cri.host.PodCgroups;
import io.spawnlet.cri.host.ProcessSpawner;
import io.spawnlet.cri.image.ImageResolver;
import io.spawnlet.cri.image.Images;
import io.spawnlet.cri.image.registry.AuthFile;
import io.spawnlet.cri.image.registry.ImagePuller;
import io.spawnlet.cri.info.RuntimeInfo;
import io.spawnlet.cri.net.NetworkSettings;
import io.spawnlet.cri.net.PodNetwork;
import io.spawnlet.cri.oci.RuntimeHandlers;
import io.spawnlet.cri.sandbox.HostIdRanges;
import io.spawnlet.cri.sandbox.PodPidNamespace;
import io.spawnlet.cri.sandbox.PodSandboxQueries;
import io.spawnlet.cri.sandbox.PodSandboxRunner;
import io.spawnlet.cri.sandbox.PodSandboxTeardown;
import io.spawnlet.cri.sandbox.SandboxLayout;
import io.spawnlet.cri.storage.ImageStore;
import io.spawnlet.cri.storage.LayerStore;
import io.spawnlet.cri.storage.RootfsDriver;
import io.spawnlet.cri.storage.StorageDriver;
import io.spawnlet.cri.store.StateStore;
import io.spawnlet.cri.streaming.StreamTargets;
import io.spawnlet.cri.streaming.StreamingServer;
import io.spawnlet.cri.streaming.StreamingService;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root of the CRI daemon: builds every part from the config, opens the socket
 * (answering UNAVAILABLE until recovery is done), recovers state from disk and the runtime, then
 * serves.
 */
public final class SpawnletDaemon implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SpawnletDaemon.class);

  private final CriServer server;
  private final RuntimeHandlers handlers;
  private final AtomicBoolean closed = new AtomicBoolean();

  private final NamespacePinner pinner;

  private final SocketActivation activation;

  private final StreamingServer streams;

  private SpawnletDaemon(
      CriServer server,
      RuntimeHandlers handlers,
      NamespacePinner pinner,
      SocketActivation activation,
      StreamingServer streams) {
    this.activation = activation;
    this.streams = streams;
    this.server = server;
    this.handlers = handlers;
    this.pinner = pinner;
  }

  public static SpawnletDaemon start(DaemonConfig cfg, String version) throws IOException {
    long t0 = System.nanoTime();
    Files.createDirectories(cfg.root());
    Files.createDirectories(cfg.runRoot());
    CgroupHierarchies cgroupLayout = CgroupHierarchies.detect();
    log.info(
        "spawnlet {} starting: root {}, run root {}, cgroups {}",
        version,
        cfg.root(),
        cfg.runRoot(),
        cgroupLayout.layout());

    StateStore state = new StateStore(cfg.root());
    LayerStore layers = new LayerStore(cfg.root().resolve("storage"));
    ImageStore imageStore = new ImageStore(cfg.root().resolve("storage"), layers);
    StorageDriver storageDriver =
        StorageDriver.parse(java.util.Optional.ofNullable(cfg.storageDriver()));
    RootfsDriver rootfs = storageDriver.open(cfg.root().resolve("storage"));
    log.info("storage driver {}", storageDriver.name().toLowerCase(java.util.Locale.ROOT));
    PodCgroups cgroups = new PodCgroups(cgroupLayout);
    NamespacePinner pinner = new NamespacePinner(cfg.runRoot());
    PodNetwork network =
        new PodNetwork(
            new NetworkSettings(
                cfg.cniConfDirs(),
                cfg.cniPluginDirs(),
                cfg.root(),
                true,
                cfg.cniBridge(),
                cfg.cniSubnet(),
                java.time.Duration.ofMinutes(2)));
    RuntimeHandlers handlers =
        RuntimeHandlers.open(
            cfg.runtimes(), cfg.defaultRuntime(), cfg.conmon(), cgroupLayout, cfg.runRoot());

    ContainerEvents events = new ContainerEvents();
    ContainerExits exits = new ContainerExits(state, events);
    SandboxLayout sandboxLayout = new SandboxLayout(cfg.root(), cfg.runRoot());
    ContainerBundles bundles = new ContainerBundles(cfg.root(), state, handlers, layers, rootfs);
    exits.useOomKills(new OomKills(bundles, new CgroupAccounting(cgroupLayout)));
    ContainerLifecycle lifecycle = new ContainerLifecycle(state, handlers, bundles, exits, events);
    ContainerQueries containerQueries =
        new ContainerQueries(state, bundles, new CgroupAccounting(cgroupLayout));
    PodPidNamespace pidNamespaces = new PodPidNamespace(new ProcessSpawner(), cgroups);
    PodSandboxRunner runner =
        new PodSandboxRunner(
            state,
            sandboxLayout,
            pinner,
            cgroups,
            network,
            handlers,
            new HostIdRanges(state),
            pidNamespaces);
    PodSandboxTeardown teardown =
        new PodSandboxTeardown(
            state, sandboxLayout, pinner, cgroups, network, lifecycle, pidNamespaces);
    PodSandboxQueries sandboxQueries = new PodSandboxQueries(state, containerQueries);
    ContainerCreator creator =
        new ContainerCreator(state, new ImageResolver(imageStore), bundles, sandboxLayout, events);
    ImagePuller puller =
        new ImagePuller(imageStore, cfg.registries(), AuthFile.standard(cfg.registryAuthFile()));
    Images images = new Images(imageStore, puller, rootfs, state, cfg.root().resolve("storage"));
    SocketActivation activation =
        wireActivation(
            state,
            sandboxLayout,
            bundles,
            handlers,
            cgroups,
            exits,
            runner,
            teardown,
            creator,
            lifecycle,
            containerQueries,
            sandboxQueries,
            cfg.metricsEndpoint());
    activation.useDefaultIdleTimeout(cfg.idleTimeout());

    StreamingServer streams =
        StreamingServer.start(
            cfg.streamAddress(),
            new StreamTargets(state, handlers, bundles, new NetnsConnections()));
    log.info("streaming server on {}", streams.address());

    AtomicBoolean ready = new AtomicBoolean();
    CriServer server =
        CriServer.start(
            cfg.socket(),
            List.of(
                new RuntimeServiceEndpoint(
                    ready::get,
                    new RuntimeInfo(version, handlers, network),
                    runner,
                    teardown,
                    sandboxQueries,
                    creator,
                    lifecycle,
                    containerQueries,
                    events,
                    new StreamingService(state, streams)),
                new ImageServiceEndpoint(ready::get, images)));
    try {
      new StateRecovery(state, handlers, bundles, exits, pinner, teardown, activation).recover();
      activation.start();
      handlers.watchExits(
          (exit) ->
              exits.exited(
                  exit.containerId(),
                  exit.exitCode(),
                  exit.finishedAt().toEpochMilli() * 1_000_000L));
    } catch (RuntimeException e) {
      streams.close();
      server.close();
      handlers.close();
      activation.close();
      throw e;
    }
    ready.set(true);
    log.info("spawnlet ready in {} ms", (System.nanoTime() - t0) / 1_000_000);
    return new SpawnletDaemon(server, handlers, pinner, activation, streams);
  }

  /**
   * Socket activation (io.spawnlet.cri.activation) joins the sandbox and container paths through
   * their {@code useActivation} hooks; its metrics are served on the configured {@code
   * metricsAddress} (none for "off").
   */
  private static SocketActivation wireActivation(
      StateStore state,
      SandboxLayout layout,
      ContainerBundles bundles,
      RuntimeHandlers handlers,
      PodCgroups cgroups,
      ContainerExits exits,
      PodSandboxRunner runner,
      PodSandboxTeardown teardown,
      ContainerCreator creator,
      ContainerLifecycle lifecycle,
      ContainerQueries containerQueries,
      PodSandboxQueries sandboxQueries,
      Optional<InetSocketAddress> metricsEndpoint) {
    ActivationMetrics metrics = new ActivationMetrics();
    SocketActivation activation =
        new SocketActivation(
            state,
            layout,
            bundles,
            handlers,
            cgroups,
            metrics,
            (id, code) -> exits.exited(id, code, System.currentTimeMillis() * 1_000_000L));
    runner.useActivation(activation);
    teardown.useActivation(activation);
    creator.useActivation(activation);
    lifecycle.useActivation(activation);
    exits.useActivation(activation);
    containerQueries.useActivation(activation);
    sandboxQueries.useActivation(activation);
    metricsEndpoint.ifPresent(
        address -> {
          try {
            metrics.serve(address);
            log.info("activation metrics on http://{}/metrics", address);
          } catch (RuntimeException e) {
            // Another daemon (a test's) may hold the port: metrics are not worth failing the start.
            log.warn("no /metrics endpoint on {}: {}", address, e.getMessage());
          }
        });
    return activation;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Stops serving; containers keep running under conmon. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      server.close();
      streams.close();
      activation.close();
      handlers.close();
      pinner.releaseRootIfUnused();
    }
  }
}
