package io.spawnlet.agent.pod;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Pod manifest → {@link PodPlan}, the way the kubelet builds its CRI requests (labels {@code
 * io.kubernetes.*}, log directory {@code <ns>_<name>_<uid>}, port mappings from container ports,
 * namespace options from hostNetwork/hostPID/hostIPC, {@code $(VAR)} expansion).
 *
 * <p>Fields are checked against what this agent implements: anything else refuses the pod with the
 * field's path, rather than running it differently from what the manifest says. Fields that only
 * matter to a scheduler (affinity, tolerations, nodeSelector, priority) are ignored.
 */
public final class PodPlanner {
  /** Label the agent puts on its sandboxes: which manifest directory they come from. */
  public static final String SOURCE_LABEL = "spawnlet.io/static-pod-source";

  public static final String POD_NAME_LABEL = "io.kubernetes.pod.name";
  public static final String POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
  public static final String POD_UID_LABEL = "io.kubernetes.pod.uid";
  public static final String CONTAINER_NAME_LABEL = "io.kubernetes.container.name";
  public static final String GRACE_ANNOTATION = "io.kubernetes.pod.terminationGracePeriod";

  private static final Duration DEFAULT_GRACE = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Set<String> POD_SPEC_FIELDS =
      Set.of(
          "containers",
          "initContainers",
          "volumes",
          "restartPolicy",
          "terminationGracePeriodSeconds",
          "hostNetwork",
          "hostPID",
          "hostIPC",
          "shareProcessNamespace",
          "hostname",
          "subdomain",
          "runtimeClassName",
          "securityContext",
          "dnsPolicy",
          "enableServiceLinks",
          "automountServiceAccountToken",
          "serviceAccount",
          "serviceAccountName",
          "os",
          "imagePullSecrets",
          // scheduling only: meaningless for a pod already on its node
          "nodeName",
          "nodeSelector",
          "affinity",
          "tolerations",
          "topologySpreadConstraints",
          "schedulerName",
          "priority",
          "priorityClassName",
          "preemptionPolicy",
          "schedulingGates",
          "readinessGates",
          "overhead");
  private static final Set<String> POD_SECURITY_FIELDS =
      Set.of("runAsUser", "runAsGroup", "runAsNonRoot", "sysctls");
  private static final Set<String> CONTAINER_FIELDS =
      Set.of(
          "name",
          "image",
          "imagePullPolicy",
          "command",
          "args",
          "env",
          "envFrom",
          "workingDir",
          "startupProbe",
          "livenessProbe",
          "readinessProbe",
          "ports",
          "volumeMounts",
          "securityContext",
          "resources",
          "stdin",
          "stdinOnce",
          "tty",
          "terminationMessagePath",
          "terminationMessagePolicy",
          "resizePolicy",
          "lifecycle");
  private static final Set<String> CONTAINER_SECURITY_FIELDS =
      Set.of(
          "privileged",
          "runAsUser",
          "runAsGroup",
          "runAsNonRoot",
          "readOnlyRootFilesystem",
          "capabilities",
          "allowPrivilegeEscalation");
  private static final Set<String> MOUNT_FIELDS =
      Set.of("name", "mountPath", "readOnly", "subPath", "mountPropagation");

  private final AgentSettings settings;

  public PodPlanner(AgentSettings settings) {
    this.settings = settings;
  }

  /** A static pod from a manifest file (no apiserver: env and volumes from it are refused). */
  public PodPlan plan(StaticPod staticPod) {
    return plan(
        staticPod.pod(),
        staticPod.uid(),
        "file",
        sourceLabel(settings.manifests().orElseThrow()),
        PodInputs.standalone(settings.nodeName()),
        List.of());
  }

  /**
   * A pod from the apiserver, its env and file volumes read through {@code inputs}; {@code podIps}
   * (empty before the sandbox exists) feed status.podIP(s) references.
   *
   * @throws PodRefusedException naming the first field this agent cannot honour
   * @throws PodInputException when a configMap, secret or key it needs is not there (yet)
   */
  public PodPlan plan(Pod pod, PodInputs inputs, List<String> podIps) {
    return plan(pod, pod.getMetadata().getUid(), "api", API_SOURCE, inputs, podIps);
  }

  /** The value of {@link #SOURCE_LABEL} on sandboxes of pods from the apiserver. */
  public static final String API_SOURCE = "apiserver";

  private PodPlan plan(
      Pod pod,
      String uid,
      String configSource,
      String sourceLabel,
      PodInputs inputs,
      List<String> podIps) {
    PodSpec spec = pod.getSpec();
    if (spec == null || spec.getContainers() == null || spec.getContainers().isEmpty()) {
      throw new PodRefusedException("spec.containers", "a pod needs at least one container");
    }
    onlyKnownFields(spec, "spec", POD_SPEC_FIELDS);
    if (spec.getOs() != null && !"linux".equals(spec.getOs().getName())) {
      throw new PodRefusedException("spec.os.name", "spawnlet runs linux pods only");
    }
    PodSecurityContext podSecurity =
        Objects.requireNonNullElseGet(spec.getSecurityContext(), PodSecurityContext::new);
    onlyKnownFields(podSecurity, "spec.securityContext", POD_SECURITY_FIELDS);

    String name = pod.getMetadata().getName();
    String namespace = EnvResolver.namespace(pod);
    Path podDir = settings.stateDir().resolve("pods").resolve(uid);
    VolumePlanner.Planned volumes = new VolumePlanner(inputs).plan(pod, podDir, podIps);
    EnvResolver envResolver = new EnvResolver(inputs);

    List<ContainerPlan> init = new ArrayList<>();
    List<ContainerPlan> app = new ArrayList<>();
    List<PortPlan> ports = new ArrayList<>();
    boolean privileged = false;
    Map<String, String> seen = new HashMap<>();
    List<Container> inits = Objects.requireNonNullElse(spec.getInitContainers(), List.of());
    for (int i = 0; i < inits.size(); i++) {
      String field = "spec.initContainers[" + i + "]";
      ContainerPlan c =
          container(
              inits.get(i),
              field,
              podSecurity,
              volumes,
              envResolver.resolve(pod, inits.get(i), field, podIps),
              seen);
      init.add(c);
      privileged |= c.privileged();
    }
    for (int i = 0; i < spec.getContainers().size(); i++) {
      String field = "spec.containers[" + i + "]";
      Container container = spec.getContainers().get(i);
      ContainerPlan c =
          container(
              container,
              field,
              podSecurity,
              volumes,
              envResolver.resolve(pod, container, field, podIps),
              seen);
      app.add(c);
      ports.addAll(c.ports());
      privileged |= c.privileged();
    }

    Duration grace =
        spec.getTerminationGracePeriodSeconds() == null
            ? DEFAULT_GRACE
            : Duration.ofSeconds(Math.max(0, spec.getTerminationGracePeriodSeconds()));
    Map<String, String> labels =
        new TreeMap<>(Objects.requireNonNullElse(pod.getMetadata().getLabels(), Map.of()));
    labels.put(POD_NAME_LABEL, name);
    labels.put(POD_NAMESPACE_LABEL, namespace);
    labels.put(POD_UID_LABEL, uid);
    labels.put(SOURCE_LABEL, sourceLabel);
    Map<String, String> annotations =
        new TreeMap<>(Objects.requireNonNullElse(pod.getMetadata().getAnnotations(), Map.of()));
    annotations.put("kubernetes.io/config.source", configSource);
    if (configSource.equals("file")) {
      annotations.put("kubernetes.io/config.hash", uid);
    }
    annotations.put(GRACE_ANNOTATION, Long.toString(grace.toSeconds()));

    Map<String, String> sysctls = new TreeMap<>();
    if (podSecurity.getSysctls() != null) {
      podSecurity.getSysctls().forEach(s -> sysctls.put(s.getName(), s.getValue()));
    }
    boolean hostNetwork = Boolean.TRUE.equals(spec.getHostNetwork());
    String hostname = hostNetwork ? "" : Optional.ofNullable(spec.getHostname()).orElse(name);
    SandboxPlan sandbox =
        new SandboxPlan(
            name,
            namespace,
            uid,
            hostname,
            settings.podLogDir().resolve(namespace + "_" + name + "_" + uid),
            labels,
            annotations,
            ports,
            runtimeHandler(spec.getRuntimeClassName()),
            hostNetwork,
            Boolean.TRUE.equals(spec.getHostPID()),
            Boolean.TRUE.equals(spec.getHostIPC()),
            Boolean.TRUE.equals(spec.getShareProcessNamespace()),
            privileged,
            sysctls,
            grace);
    return new PodPlan(
        sandbox,
        init,
        app,
        RestartPolicy.parse(spec.getRestartPolicy()),
        volumes.directories(),
        volumes.memory(),
        volumes.files(),
        PullSecrets.credentials(pod, inputs));
  }

  /** The value of {@link #SOURCE_LABEL} for a manifest directory: short, stable, no slashes. */
  public static String sourceLabel(Path manifests) {
    return Integer.toHexString(manifests.toAbsolutePath().normalize().toString().hashCode());
  }

  private String runtimeHandler(String runtimeClass) {
    if (runtimeClass == null || runtimeClass.isEmpty()) {
      return "";
    }
    return settings.runtimeClassHandlers().getOrDefault(runtimeClass, runtimeClass);
  }

  private ContainerPlan container(
      Container c,
      String field,
      PodSecurityContext podSecurity,
      VolumePlanner.Planned volumes,
      Map<String, String> env,
      Map<String, String> seen) {
    onlyKnownFields(c, field, CONTAINER_FIELDS);
    if (c.getName() == null || c.getName().isEmpty() || seen.put(c.getName(), field) != null) {
      throw new PodRefusedException(field + ".name", "missing or not unique in the pod");
    }
    if (c.getImage() == null || c.getImage().isEmpty()) {
      throw new PodRefusedException(field + ".image", "missing");
    }
    SecurityContext security =
        Objects.requireNonNullElseGet(c.getSecurityContext(), SecurityContext::new);
    onlyKnownFields(security, field + ".securityContext", CONTAINER_SECURITY_FIELDS);
    Optional<Long> runAsUser =
        Optional.ofNullable(security.getRunAsUser())
            .or(() -> Optional.ofNullable(podSecurity.getRunAsUser()));
    Optional<Long> runAsGroup =
        Optional.ofNullable(security.getRunAsGroup())
            .or(() -> Optional.ofNullable(podSecurity.getRunAsGroup()));
    boolean nonRoot =
        Boolean.TRUE.equals(security.getRunAsNonRoot())
            || (security.getRunAsNonRoot() == null
                && Boolean.TRUE.equals(podSecurity.getRunAsNonRoot()));
    if (nonRoot && runAsUser.orElse(0L) == 0L) {
      throw new PodRefusedException(
          field + ".securityContext.runAsNonRoot",
          "set runAsUser to a non-zero uid as well (the image's user is not checked)");
    }
    List<String> add = List.of();
    List<String> drop = List.of();
    if (security.getCapabilities() != null) {
      add = Objects.requireNonNullElse(security.getCapabilities().getAdd(), List.of());
      drop = Objects.requireNonNullElse(security.getCapabilities().getDrop(), List.of());
    }
    return new ContainerPlan(
        c.getName(),
        c.getImage(),
        PullPolicy.parse(c.getImagePullPolicy(), c.getImage(), field + ".imagePullPolicy"),
        expandAll(c.getCommand(), env),
        expandAll(c.getArgs(), env),
        env,
        Objects.requireNonNullElse(c.getWorkingDir(), ""),
        mounts(c, field, volumes),
        ports(c, field),
        Boolean.TRUE.equals(security.getPrivileged()),
        runAsUser,
        runAsGroup,
        Boolean.TRUE.equals(security.getReadOnlyRootFilesystem()),
        add,
        drop,
        resources(c, field),
        Boolean.TRUE.equals(c.getStdin()),
        Boolean.TRUE.equals(c.getTty()),
        Objects.requireNonNullElse(c.getTerminationMessagePath(), "/dev/termination-log"),
        ProbePlans.of(c.getStartupProbe(), c, field + ".startupProbe"),
        ProbePlans.of(c.getLivenessProbe(), c, field + ".livenessProbe"),
        ProbePlans.of(c.getReadinessProbe(), c, field + ".readinessProbe"),
        LifecyclePlans.postStart(c, field),
        LifecyclePlans.preStop(c, field));
  }

  private List<MountPlan> mounts(Container c, String field, VolumePlanner.Planned volumes) {
    List<MountPlan> mounts = new ArrayList<>();
    List<VolumeMount> list = Objects.requireNonNullElse(c.getVolumeMounts(), List.of());
    for (int i = 0; i < list.size(); i++) {
      VolumeMount m = list.get(i);
      String f = field + ".volumeMounts[" + i + "]";
      onlyKnownFields(m, f, MOUNT_FIELDS);
      Path source = volumes.sources().get(m.getName());
      if (source == null) {
        throw new PodRefusedException(f + ".name", "no volume '" + m.getName() + "' in the pod");
      }
      if (m.getMountPath() == null || !m.getMountPath().startsWith("/")) {
        throw new PodRefusedException(f + ".mountPath", "must be an absolute path");
      }
      if (m.getMountPropagation() != null && !"None".equals(m.getMountPropagation())) {
        throw new PodRefusedException(f + ".mountPropagation", "only None is supported");
      }
      String sub = Objects.requireNonNullElse(m.getSubPath(), "");
      if (!sub.isEmpty()) {
        Path resolved = source.resolve(sub).normalize();
        if (sub.startsWith("/") || !resolved.startsWith(source)) {
          throw new PodRefusedException(f + ".subPath", "must stay inside the volume");
        }
        source = resolved;
      }
      boolean readOnly =
          Boolean.TRUE.equals(m.getReadOnly()) || volumes.readOnly().contains(m.getName());
      mounts.add(new MountPlan(m.getMountPath(), source, readOnly));
    }
    return mounts;
  }

  private static List<PortPlan> ports(Container c, String field) {
    List<PortPlan> ports = new ArrayList<>();
    List<ContainerPort> list = Objects.requireNonNullElse(c.getPorts(), List.of());
    for (int i = 0; i < list.size(); i++) {
      ContainerPort p = list.get(i);
      String protocol = Objects.requireNonNullElse(p.getProtocol(), "TCP");
      if (!Set.of("TCP", "UDP", "SCTP").contains(protocol)) {
        throw new PodRefusedException(
            field + ".ports[" + i + "].protocol", "'" + protocol + "' is not TCP, UDP or SCTP");
      }
      if (p.getContainerPort() == null
          || p.getContainerPort() < 1
          || p.getContainerPort() > 65535) {
        throw new PodRefusedException(field + ".ports[" + i + "].containerPort", "not 1..65535");
      }
      ports.add(
          new PortPlan(
              protocol,
              p.getContainerPort(),
              Objects.requireNonNullElse(p.getHostPort(), 0),
              Objects.requireNonNullElse(p.getHostIP(), "")));
    }
    return ports;
  }

  /** Limits and requests → the CRI's Linux resources, as the kubelet converts them. */
  private static ContainerPlan.Resources resources(Container c, String field) {
    if (c.getResources() == null) {
      return ContainerPlan.Resources.NONE;
    }
    if (c.getResources().getClaims() != null && !c.getResources().getClaims().isEmpty()) {
      throw new PodRefusedException(field + ".resources.claims", "not supported");
    }
    Map<String, Quantity> limits =
        Objects.requireNonNullElse(c.getResources().getLimits(), Map.of());
    Map<String, Quantity> requests =
        Objects.requireNonNullElse(c.getResources().getRequests(), Map.of());
    long shares = 0;
    long quota = 0;
    long period = 0;
    long memory = 0;
    Quantity cpuRequest = requests.getOrDefault("cpu", limits.get("cpu"));
    if (cpuRequest != null) {
      shares = Math.max(2, milli(cpuRequest) * 1024 / 1000);
    }
    if (limits.containsKey("cpu")) {
      period = 100_000;
      quota = Math.max(1000, milli(limits.get("cpu")) * period / 1000);
    }
    if (limits.containsKey("memory")) {
      memory = Quantity.getAmountInBytes(limits.get("memory")).longValue();
    }
    return new ContainerPlan.Resources(shares, quota, period, memory);
  }

  private static long milli(Quantity q) {
    return Quantity.getAmountInBytes(q).multiply(BigDecimal.valueOf(1000)).longValue();
  }

  private static List<String> expandAll(List<String> values, Map<String, String> env) {
    if (values == null) {
      return List.of();
    }
    return values.stream().map(v -> expand(v, env)).toList();
  }

  /**
   * Kubernetes' {@code $(VAR)} expansion: a defined variable is replaced, an undefined reference
   * stays as written, {@code $$} is a literal {@code $}.
   */
  static String expand(String value, Map<String, String> env) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < value.length(); i++) {
      char ch = value.charAt(i);
      if (ch != '$' || i + 1 >= value.length()) {
        out.append(ch);
        continue;
      }
      char next = value.charAt(i + 1);
      if (next == '$') {
        out.append('$');
        i++;
      } else if (next == '(') {
        int close = value.indexOf(')', i + 2);
        if (close < 0) {
          out.append(value, i, value.length());
          break;
        }
        String name = value.substring(i + 2, close);
        out.append(env.containsKey(name) ? env.get(name) : value.substring(i, close + 1));
        i = close;
      } else {
        out.append(ch);
      }
    }
    return out.toString();
  }

  private static void onlyKnownFields(Object model, String field, Set<String> known) {
    JsonNode tree = JSON.valueToTree(model);
    for (var it = tree.fields(); it.hasNext(); ) {
      var entry = it.next();
      if (!known.contains(entry.getKey()) && !entry.getValue().isNull()) {
        throw new PodRefusedException(field + "." + entry.getKey(), "not supported by spawnlet");
      }
    }
  }
}
