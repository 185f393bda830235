package io.spawnlet.cri.info;

import io.spawnlet.cri.net.PodNetwork;
import io.spawnlet.cri.oci.RuntimeHandlers;
import io.spawnlet.cri.oci.SystemContainerSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.CgroupDriver;
import runtime.v1.LinuxRuntimeConfiguration;
import runtime.v1.RuntimeCondition;
import runtime.v1.RuntimeConfigResponse;
import runtime.v1.RuntimeHandler;
import runtime.v1.RuntimeHandlerFeatures;
import runtime.v1.RuntimeStatus;
import runtime.v1.StatusRequest;
import runtime.v1.StatusResponse;
import runtime.v1.UpdateRuntimeConfigRequest;
import runtime.v1.UpdateRuntimeConfigResponse;
import runtime.v1.VersionRequest;
import runtime.v1.VersionResponse;

/**
 * Version, Status, RuntimeConfig and UpdateRuntimeConfig: what the runtime is and whether it can
 * work.
 */
public final class RuntimeInfo {
  public static final String RUNTIME_NAME = "spawnlet";
  public static final String CRI_API_VERSION = "v1";
  private static final Logger log = LoggerFactory.getLogger(RuntimeInfo.class);

  private final String version;
  private final RuntimeHandlers handlers;
  private final PodNetwork network;
  private final AtomicReference<String> podCidr = new AtomicReference<>("");

  public RuntimeInfo(String version, RuntimeHandlers handlers, PodNetwork network) {
    this.version = version;
    this.handlers = handlers;
    this.network = network;
  }

  public VersionResponse version(VersionRequest req) {
    return VersionResponse.newBuilder()
        .setVersion("0.1.0")
        .setRuntimeName(RUNTIME_NAME)
        .setRuntimeVersion(version)
        .setRuntimeApiVersion(CRI_API_VERSION)
        .build();
  }

  public StatusResponse status(StatusRequest req) {
    List<RuntimeCondition> conditions = new ArrayList<>();
    var runtimeProblem = handlers.problem();
    conditions.add(
        RuntimeCondition.newBuilder()
            .setType("RuntimeReady")
            .setStatus(runtimeProblem.isEmpty())
            .setReason(runtimeProblem.isEmpty() ? "" : "RuntimeNotReady")
            .setMessage(runtimeProblem.orElse(""))
            .build());
    var net = network.readiness();
    conditions.add(
        RuntimeCondition.newBuilder()
            .setType("NetworkReady")
            .setStatus(net.ready())
            .setReason(net.ready() ? "" : "NetworkPluginNotReady")
            .setMessage(net.message())
            .build());
    StatusResponse.Builder b =
        StatusResponse.newBuilder()
            .setStatus(RuntimeStatus.newBuilder().addAllConditions(conditions));
    // The default handler is listed under "" as the kubelet expects, then every handler by name.
    b.addRuntimeHandlers(handler(""));
    handlers.names().forEach(name -> b.addRuntimeHandlers(handler(name)));
    if (req.getVerbose()) {
      b.putInfo(
          "config",
          "{\"defaultRuntime\":\""
              + handlers.defaultName()
              + "\",\"podCIDR\":\""
              + podCidr.get()
              + "\"}");
    }
    return b.build();
  }

  private static RuntimeHandler handler(String name) {
    return RuntimeHandler.newBuilder()
        .setName(name)
        .setFeatures(
            RuntimeHandlerFeatures.newBuilder()
                .setRecursiveReadOnlyMounts(false)
                .setUserNamespaces(name.equals(SystemContainerSpec.HANDLER)))
        .build();
  }

  public RuntimeConfigResponse runtimeConfig() {
    return RuntimeConfigResponse.newBuilder()
        .setLinux(LinuxRuntimeConfiguration.newBuilder().setCgroupDriver(CgroupDriver.CGROUPFS))
        .build();
  }

  /**
   * kubelet tells us the node's pod CIDR; the CNI config decides addresses, so it is recorded only.
   */
  public UpdateRuntimeConfigResponse updateRuntimeConfig(UpdateRuntimeConfigRequest req) {
    String cidr = req.getRuntimeConfig().getNetworkConfig().getPodCidr();
    if (!cidr.equals(podCidr.getAndSet(cidr))) {
      log.info("pod CIDR from the kubelet: {} (addresses still come from the CNI config)", cidr);
    }
    return UpdateRuntimeConfigResponse.getDefaultInstance();
  }
}
