package io.spawnlet.cri.container;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.Rollback;
import io.spawnlet.cri.Validation;
import io.spawnlet.cri.events.ContainerEvents;
import io.spawnlet.cri.image.ImageResolver;
import io.spawnlet.cri.sandbox.PodSandboxQueries;
import io.spawnlet.cri.sandbox.SandboxLayout;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.Ids;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerEventType;
import runtime.v1.CreateContainerRequest;
import runtime.v1.CreateContainerResponse;
import runtime.v1.Mount;

/**
 * CreateContainer: validate, reserve the name, resolve the image, make the root filesystem (overlay
 * over the shared layers), write the OCI bundle, and have conmon + the OCI runtime create the
 * container (its process exists, stopped before the user's program, until StartContainer).
 */
public final class ContainerCreator {
  private static final Logger log = LoggerFactory.getLogger(ContainerCreator.class);

  private final StateStore state;
  private final ImageResolver images;
  private final ContainerBundles bundles;
  private final SandboxLayout sandboxLayout;
  private final ContainerEvents events;

  // Socket activation hook (io.spawnlet.cri.activation): a no-op unless the daemon sets it.
  private io.spawnlet.cri.activation.PodActivation activation =
      io.spawnlet.cri.activation.PodActivation.NONE;

  public void useActivation(io.spawnlet.cri.activation.PodActivation activation) {
    this.activation = activation;
  }

  public ContainerCreator(
      StateStore state,
      ImageResolver images,
      ContainerBundles bundles,
      SandboxLayout sandboxLayout,
      ContainerEvents events) {
    this.state = state;
    this.images = images;
    this.bundles = bundles;
    this.sandboxLayout = sandboxLayout;
    this.events = events;
  }

  public CreateContainerResponse create(CreateContainerRequest req) {
    SandboxRecord sandbox = state.sandbox("pod_sandbox_id", req.getPodSandboxId());
    ContainerConfig config = req.getConfig();
    validate(req);
    if (sandbox.state() != SandboxRecord.State.READY) {
      throw CriException.precondition(
          "pod sandbox "
              + sandbox.id()
              + " is not ready (stopped): containers can only be created in a running sandbox");
    }
    var image = images.resolve("config.image.image", config.getImage().getImage());
    var sandboxConfig = PodSandboxQueries.config(sandbox);
    Path logDir =
        Validation.logDirectory("sandbox_config.log_directory", sandboxConfig.getLogDirectory());
    Path logPath = Validation.logPath("config.log_path", logDir, config.getLogPath());

    String id = Ids.newId();
    var md = config.getMetadata();
    String unique = StateStore.containerName(sandbox.id(), md.getName(), md.getAttempt());
    state.containerNames.reserve(unique, id);
    try (Rollback undo = new Rollback("container " + md.getName())) {
      undo.push("release name", () -> state.containerNames.release(unique, id));
      log.info(
          "CreateContainer {} in pod {}: id {}, image {}",
          md.getName(),
          sandbox.id(),
          id,
          image.id());
      int pid =
          bundles.create(
              id,
              sandbox,
              sandboxConfig,
              activation.withListenEnv(sandbox.id(), config),
              image,
              logPath,
              sandboxLayout.files(sandbox.id()),
              undo,
              activation.activated(sandbox.id()));
      ContainerRecord rec =
          new ContainerRecord(
              id,
              sandbox.id(),
              md.getName(),
              md.getAttempt(),
              config.getLabelsMap(),
              config.getAnnotationsMap(),
              toJson(config),
              config.getImage().getImage(),
              image.id(),
              sandbox.runtimeHandler(),
              logPath == null ? "" : logPath.toString(),
              System.currentTimeMillis() * 1_000_000L,
              0,
              0,
              0,
              pid,
              bundles.stopSignal(config, image, sandbox.runtimeHandler()),
              "",
              "");
      state.containers.put(rec);
      undo.commit();
      events.publish(
          () -> ContainerEvents.event(id, ContainerEventType.CONTAINER_CREATED_EVENT).build());
      return CreateContainerResponse.newBuilder().setContainerId(id).build();
    }
  }

  private static void validate(CreateContainerRequest req) {
    if (!req.hasConfig()) {
      throw CriException.invalid("config", "is required");
    }
    ContainerConfig c = req.getConfig();
    if (!c.hasMetadata()) {
      throw CriException.invalid("config.metadata", "is required");
    }
    Validation.name("config.metadata.name", c.getMetadata().getName());
    if (c.getImage().getImage().isEmpty()) {
      throw CriException.invalid("config.image.image", "is required");
    }
    Validation.keyValues("config.labels", c.getLabelsMap());
    Validation.keyValues("config.annotations", c.getAnnotationsMap());
    for (int i = 0; i < c.getMountsCount(); i++) {
      Mount m = c.getMounts(i);
      String f = "config.mounts[" + i + "]";
      if (!m.getContainerPath().startsWith("/")) {
        throw CriException.invalid(
            f + ".container_path", "\"" + m.getContainerPath() + "\" must be an absolute path");
      }
      if (!m.getHostPath().startsWith("/")) {
        throw CriException.invalid(
            f + ".host_path", "\"" + m.getHostPath() + "\" must be an absolute path");
      }
    }
    for (int i = 0; i < c.getEnvsCount(); i++) {
      if (c.getEnvs(i).getKey().isEmpty() || c.getEnvs(i).getKey().contains("=")) {
        throw CriException.invalid("config.envs[" + i + "].key", "must be non-empty without '='");
      }
    }
  }

  static String toJson(ContainerConfig config) {
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(config);
    } catch (InvalidProtocolBufferException e) {
      throw CriException.internal("encoding the container config", e);
    }
  }

  public static ContainerConfig fromJson(String json) {
    try {
      ContainerConfig.Builder b = ContainerConfig.newBuilder();
      JsonFormat.parser().ignoringUnknownFields().merge(json, b);
      return b.build();
    } catch (InvalidProtocolBufferException e) {
      throw CriException.internal("decoding a stored container config", e);
    }
  }
}
