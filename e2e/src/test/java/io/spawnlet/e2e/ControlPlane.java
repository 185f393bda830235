package io.spawnlet.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler
 * v1.34, built by scripts/k8s-tools.sh) on loopback, started and stopped through
 * scripts/control-plane.sh so tests and people share one way of running it. Everything it writes is
 * under its directory: certificates in {@code pki/}, the etcd store, {@code logs/*.log}.
 *
 * <p>Identities: {@link #adminKubeconfig()} is {@code kubernetes-admin} in {@code system:masters};
 * {@link #nodeKubeconfig()} is {@code system:node:<nodeName>} in {@code system:nodes}, held to the
 * Node authorizer and the NodeRestriction admission plugin exactly like a kubelet.
 */
public final class ControlPlane implements AutoCloseable {
  /** The node name of {@link #nodeKubeconfig()} unless {@code --node-name} says another. */
  public static final String NODE_NAME = "spawnlet-node";

  private static final Duration START_TIMEOUT = Duration.ofMinutes(5);
  private static final Duration KUBECTL_TIMEOUT = Duration.ofMinutes(2);

  private final Path dir;
  private final Path tools;
  private final Map<String, String> env;

  private ControlPlane(Path dir, Path tools, Map<String, String> env) {
    this.dir = dir;
    this.tools = tools;
    this.env = env;
  }

  /** Starts a control plane in {@code dir} (created if missing) on free loopback ports. */
  public static ControlPlane start(Path dir) {
    return start(dir, new String[0]);
  }

  /**
   * Starts a control plane with scripts/control-plane.sh's options: {@code "--node-name", NAME} for
   * the identity of {@link #nodeKubeconfig()}, {@code "--node-cluster-admin"} to bind it to
   * cluster-admin (beyond what the Node authorizer grants a kubelet).
   */
  public static ControlPlane start(Path dir, String... options) {
    Path tools = k8sTools();
    ProcessResult started = script("start", dir, tools, options);
    if (!started.succeeded()) {
      // Leave nothing running behind a failed start (etcd may be up when the apiserver is not).
      script("stop", dir, tools);
      throw new AssertionError("the control plane did not start in " + dir + ": " + started);
    }
    return new ControlPlane(dir.toAbsolutePath(), tools, readEnv(dir.resolve("env")));
  }

  /** {@code https://127.0.0.1:PORT}. */
  public String url() {
    return env.get("APISERVER_URL");
  }

  /** The cluster administrator's kubeconfig (certificates inline). */
  public Path adminKubeconfig() {
    return dir.resolve("admin.kubeconfig");
  }

  /** The kubeconfig of the node {@link #nodeName()} (certificates inline). */
  public Path nodeKubeconfig() {
    return dir.resolve("node.kubeconfig");
  }

  /** The node name of {@link #nodeKubeconfig()}: {@link #NODE_NAME} unless started with another. */
  public String nodeName() {
    return env.get("NODE_NAME");
  }

  /** A kubeconfig for another node identity, {@code system:node:<name>}, made on first use. */
  public Path nodeKubeconfig(String nodeName) {
    String path = script("node-kubeconfig", dir, tools, nodeName).requireSuccess().strip();
    return Path.of(path);
  }

  /** The cluster CA's certificate (it signed the apiserver's and every client certificate). */
  public Path caCertificate() {
    return Path.of(env.get("CA_CERT"));
  }

  /** The cluster CA's key, for a test that signs a kubelet serving certificate. */
  public Path caKey() {
    return Path.of(env.get("CA_KEY"));
  }

  public Path dir() {
    return dir;
  }

  /** Runs the built kubectl as the cluster administrator, whatever its exit code. */
  public ProcessResult kubectl(String... args) {
    return kubectlAs(adminKubeconfig(), args);
  }

  /** Runs the built kubectl with the given kubeconfig, whatever its exit code. */
  public ProcessResult kubectlAs(Path kubeconfig, String... args) {
    List<String> command = new ArrayList<>();
    command.add(tools.resolve("kubectl").toString());
    command.add("--kubeconfig=" + kubeconfig);
    command.addAll(List.of(args));
    return ProcessResult.run(command, Map.of(), dir.resolve("scratch"), KUBECTL_TIMEOUT);
  }

  /**
   * Stops the named components ("etcd", "kube-apiserver", "kube-controller-manager",
   * "kube-scheduler"), for a test of the apiserver being away; {@link #restart()} brings them back.
   */
  public void stop(String... components) {
    script("stop", dir, tools, components).requireSuccess();
  }

  /** Starts whatever is stopped, on the same ports with the same certificates and data. */
  public void restart() {
    script("start", dir, tools).requireSuccess();
  }

  /** Stops every component; the directory (logs, data) stays for the test's report. */
  @Override
  public void close() {
    script("stop", dir, tools).requireSuccess();
  }

  /** Where kubectl and the kube-* binaries are: spawnlet.k8sTools or SPAWNLET_K8S_TOOLS. */
  static Path k8sTools() {
    return configuredK8sTools()
        .filter(ControlPlane::holdsTools)
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "no kube-apiserver/kubectl in spawnlet.k8sTools ("
                        + configuredK8sTools().map(Path::toString).orElse("not set")
                        + "): build them with scripts/k8s-tools.sh (scripts/test.sh does)"));
  }

  /** Whether the binaries are built, for suites that skip without them (as without crictl). */
  public static boolean toolsBuilt() {
    return configuredK8sTools().filter(ControlPlane::holdsTools).isPresent();
  }

  private static Optional<Path> configuredK8sTools() {
    String value = System.getProperty("spawnlet.k8sTools");
    if (value == null || value.isBlank()) {
      value = System.getenv("SPAWNLET_K8S_TOOLS");
    }
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(Path.of(value));
  }

  private static boolean holdsTools(Path dir) {
    return Stream.of("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
        .allMatch(name -> Files.isExecutable(dir.resolve(name)));
  }

  private static ProcessResult script(String command, Path dir, Path tools, String... args) {
    Path script = repositoryRoot().resolve("scripts").resolve("control-plane.sh");
    List<String> line =
        new ArrayList<>(List.of("bash", script.toString(), command, dir.toString()));
    line.addAll(List.of(args));
    Map<String, String> env = new HashMap<>();
    env.put("SPAWNLET_K8S_TOOLS", tools.toString());
    String etcd = System.getProperty("spawnlet.etcd");
    if (etcd != null && !etcd.isBlank()) {
      env.put("SPAWNLET_ETCD", etcd);
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the control plane's directory " + dir, e);
    }
    return ProcessResult.run(line, env, dir.resolve("scratch"), START_TIMEOUT);
  }

  /** The checkout this module belongs to: Failsafe runs in e2e/, its parent holds scripts/. */
  static Path repositoryRoot() {
    Path e2e = Path.of("").toAbsolutePath();
    Path root = e2e.getParent();
    if (root == null || !Files.isRegularFile(root.resolve("scripts/control-plane.sh"))) {
      throw new IllegalStateException(
          "scripts/control-plane.sh not found beside "
              + e2e
              + ": run the e2e module from its"
              + " directory in a spawnlet checkout");
    }
    return root;
  }

  private static Map<String, String> readEnv(Path file) {
    try {
      Map<String, String> values = new HashMap<>();
      for (String line : Files.readAllLines(file)) {
        int eq = line.indexOf('=');
        if (!line.startsWith("#") && eq > 0) {
          values.put(line.substring(0, eq), line.substring(eq + 1));
        }
      }
      return Map.copyOf(values);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the control plane's settings " + file, e);
    }
  }
}
