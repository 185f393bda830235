package io.spawnlet.agent.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.spawnlet.agent.probe.LifecycleHandler;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Planning a pod from the apiserver: env from references, file volumes, pull secrets, probes. */
class ApiPodPlanningTest {
  @TempDir Path dir;

  /** The apiserver's objects as a map: the seam the planner reads through. */
  private final Map<String, ConfigMap> configMaps = new HashMap<>();

  private final Map<String, Secret> secrets = new HashMap<>();

  private final List<Service> services = new ArrayList<>();

  private final PodInputs inputs =
      new PodInputs() {
        @Override
        public boolean hasApiserver() {
          return true;
        }

        @Override
        public Optional<ConfigMap> configMap(String namespace, String name) {
          return Optional.ofNullable(configMaps.get(namespace + "/" + name));
        }

        @Override
        public Optional<Secret> secret(String namespace, String name) {
          return Optional.ofNullable(secrets.get(namespace + "/" + name));
        }

        @Override
        public List<Service> services(String namespace) {
          return services.stream()
              .filter(s -> s.getMetadata().getNamespace().equals(namespace))
              .toList();
        }

        @Override
        public String serviceAccountToken(Pod pod, String audience, long expirationSeconds) {
          return "token-for-" + pod.getSpec().getServiceAccountName() + "-" + expirationSeconds;
        }

        @Override
        public String nodeName() {
          return "node1";
        }

        @Override
        public List<String> hostIps() {
          return List.of("192.0.2.1");
        }

        @Override
        public Map<String, Quantity> nodeAllocatable() {
          return Map.of("cpu", new Quantity("4"));
        }
      };

  private PodPlan plan(String yaml, List<String> ips) {
    PodPlanner planner =
        new PodPlanner(
            new AgentSettings(
                Optional.empty(),
                dir.resolve("state"),
                dir.resolve("logs"),
                "node1",
                AgentSettings.DEFAULT_RUNTIME_CLASSES,
                Duration.ofSeconds(1)));
    return planner.plan(Serialization.unmarshal(yaml, Pod.class), inputs, ips);
  }

  private static final String POD =
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: web, namespace: ns, uid: u-1, labels: {app: web}}
      spec:
        serviceAccountName: sa
        imagePullSecrets: [{name: regcred}]
        containers:
        - name: c
          image: registry.example:5000/app:1
          command: ["sh", "-c", "echo $(GREETING) $(IP)"]
          resources: {limits: {memory: 64Mi}}
          envFrom: [{prefix: CM_, configMapRef: {name: cfg}}]
          env:
          - {name: GREETING, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}}
          - {name: PASSWORD, valueFrom: {secretKeyRef: {name: sec, key: password}}}
          - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
          - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
          - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
          - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
          - {name: CPUS, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
          livenessProbe: {httpGet: {port: http, path: /healthz}, periodSeconds: 2}
          ports: [{name: http, containerPort: 8080}]
          volumeMounts:
          - {name: cfg, mountPath: /cfg}
          - {name: api, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}
        volumes:
        - {name: cfg, configMap: {name: cfg, items: [{key: greeting, path: g.txt, mode: 0600}]}}
        - name: api
          projected:
            sources:
            - serviceAccountToken: {path: token, expirationSeconds: 3607}
            - configMap: {name: cfg, items: [{key: greeting, path: ca.crt}]}
            - downwardAPI: {items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}]}
      """;

  private void objects() {
    configMaps.put(
        "ns/cfg", new ConfigMapBuilder().addToData("greeting", "hi").addToData("x", "1").build());
    secrets.put(
        "ns/sec",
        new SecretBuilder()
            .addToData("password", Base64.getEncoder().encodeToString("pw".getBytes()))
            .build());
    String docker =
        "{\"auths\":{\"registry.example:5000\":{\"username\":\"u\",\"password\":\"p\"}}}";
    secrets.put(
        "ns/regcred",
        new SecretBuilder()
            .withType("kubernetes.io/dockerconfigjson")
            .addToData(".dockerconfigjson", Base64.getEncoder().encodeToString(docker.getBytes()))
            .build());
  }

  @Test
  void envComesFromReferencesAndTheDownwardApiInOrder() {
    objects();
    ContainerPlan c = plan(POD, List.of("10.0.0.7")).containers().getFirst();
    assertThat(c.env())
        .containsEntry("CM_greeting", "hi")
        .containsEntry("CM_x", "1")
        .containsEntry("GREETING", "hi")
        .containsEntry("PASSWORD", "pw")
        .containsEntry("IP", "10.0.0.7")
        .containsEntry("NODE", "node1")
        .containsEntry("APP", "web")
        .containsEntry("MEM_MI", "64")
        .containsEntry("CPUS", "4");
    assertThat(c.args()).isEmpty();
    assertThat(c.command()).containsExactly("sh", "-c", "echo hi 10.0.0.7");
    assertThat(c.livenessProbe()).isPresent();
    assertThat(c.livenessProbe().get().action())
        .isEqualTo(
            new io.spawnlet.agent.probe.ProbePlan.HttpGet("HTTP", "", 8080, "/healthz", Map.of()));
  }

  @Test
  void fileVolumesCarryTheirContentAndMountReadOnly() {
    objects();
    PodPlan plan = plan(POD, List.of());
    assertThat(plan.fileVolumes()).extracting(FileVolume::name).containsExactly("cfg", "api");
    var cfg = plan.fileVolumes().get(0).files();
    assertThat(cfg).containsOnlyKeys("g.txt");
    assertThat(new String(cfg.get("g.txt").content(), StandardCharsets.UTF_8)).isEqualTo("hi");
    assertThat(cfg.get("g.txt").mode()).isEqualTo(0600);
    var api = plan.fileVolumes().get(1).files();
    assertThat(new String(api.get("token").content(), StandardCharsets.UTF_8))
        .isEqualTo("token-for-sa-3607");
    assertThat(new String(api.get("namespace").content(), StandardCharsets.UTF_8)).isEqualTo("ns");
    assertThat(plan.containers().getFirst().mounts()).allMatch(MountPlan::readOnly);
    assertThat(plan.pullCredentials())
        .singleElement()
        .satisfies(c -> assertThat(c.username()).isEqualTo("u"));
    assertThat(
            PodRuntime.RegistryCredential.forImage(
                "registry.example:5000/app:1", plan.pullCredentials()))
        .isPresent();
  }

  @Test
  void aMissingConfigMapIsAnInputToWaitForNotARefusal() {
    assertThatThrownBy(() -> plan(POD, List.of()))
        .isInstanceOf(PodInputException.class)
        .hasMessageContaining("ns/cfg");
  }

  private static Service service(
      String namespace, String name, String clusterIp, ServicePort... ports) {
    return new ServiceBuilder()
        .withNewMetadata()
        .withNamespace(namespace)
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withClusterIP(clusterIp)
        .withPorts(ports)
        .endSpec()
        .build();
  }

  private static ServicePort port(String name, int port, String protocol) {
    return new ServicePortBuilder().withName(name).withPort(port).withProtocol(protocol).build();
  }

  private static final String LINKED_POD =
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: app, namespace: ns, uid: u-2}
      spec:
        containers:
        - name: c
          image: busybox
          command: ["echo", "$(MY_DB_SERVICE_HOST)"]
          env:
          - {name: DB_URL, value: "pg://$(MY_DB_SERVICE_HOST):$(MY_DB_SERVICE_PORT_PG)"}
          - {name: MY_DB_SERVICE_PORT, value: mine}
      """;

  private void linkedServices() {
    services.add(service("default", "kubernetes", "10.96.0.1", port("https", 443, null)));
    services.add(service("default", "elsewhere", "10.96.0.9", port(null, 80, "TCP")));
    services.add(
        service(
            "ns", "my-db", "10.96.0.7", port("pg", 5432, null), port("metrics-udp", 9100, "UDP")));
    services.add(service("ns", "headless", "None", port(null, 80, null)));
  }

  @Test
  void serviceLinksAreTheKubeletsVariablesOfTheNamespacesServicesAndTheApiserver() {
    linkedServices();
    ContainerPlan c = plan(LINKED_POD, List.of()).containers().getFirst();
    assertThat(c.env())
        .containsEntry("MY_DB_SERVICE_HOST", "10.96.0.7")
        .containsEntry("MY_DB_SERVICE_PORT", "mine") // the container's own entry wins
        .containsEntry("MY_DB_SERVICE_PORT_PG", "5432")
        .containsEntry("MY_DB_SERVICE_PORT_METRICS_UDP", "9100")
        .containsEntry("MY_DB_PORT", "tcp://10.96.0.7:5432")
        .containsEntry("MY_DB_PORT_5432_TCP", "tcp://10.96.0.7:5432")
        .containsEntry("MY_DB_PORT_5432_TCP_PROTO", "tcp")
        .containsEntry("MY_DB_PORT_5432_TCP_PORT", "5432")
        .containsEntry("MY_DB_PORT_5432_TCP_ADDR", "10.96.0.7")
        .containsEntry("MY_DB_PORT_9100_UDP", "udp://10.96.0.7:9100")
        .containsEntry("KUBERNETES_SERVICE_HOST", "10.96.0.1")
        .containsEntry("KUBERNETES_SERVICE_PORT", "443")
        .containsEntry("KUBERNETES_SERVICE_PORT_HTTPS", "443")
        .containsEntry("KUBERNETES_PORT", "tcp://10.96.0.1:443")
        .containsEntry("DB_URL", "pg://10.96.0.7:5432")
        .doesNotContainKeys("ELSEWHERE_SERVICE_HOST", "HEADLESS_SERVICE_HOST");
    assertThat(c.command()).containsExactly("echo", "10.96.0.7");
    assertThat(List.copyOf(c.env().keySet()).subList(0, 2))
        .containsExactly("DB_URL", "MY_DB_SERVICE_PORT");
  }

  @Test
  void withoutServiceLinksOnlyTheApiserversVariablesRemain() {
    linkedServices();
    String yaml = LINKED_POD.replace("spec:\n", "spec:\n  enableServiceLinks: false\n");
    ContainerPlan c = plan(yaml, List.of()).containers().getFirst();
    assertThat(c.env())
        .containsEntry("KUBERNETES_SERVICE_HOST", "10.96.0.1")
        .doesNotContainKeys("MY_DB_SERVICE_HOST", "MY_DB_PORT")
        .containsEntry("DB_URL", "pg://$(MY_DB_SERVICE_HOST):$(MY_DB_SERVICE_PORT_PG)");
  }

  @Test
  void lifecycleHooksArePlannedWithNamedPortsResolved() {
    String yaml =
        LINKED_POD.replace(
            "    command:",
            "    ports: [{name: admin, containerPort: 9000}]\n"
                + "    lifecycle:\n"
                + "      postStart: {exec: {command: [touch, /started]}}\n"
                + "      preStop: {httpGet: {port: admin, path: /drain, host: 127.0.0.1}}\n"
                + "    command:");
    ContainerPlan c = plan(yaml, List.of()).containers().getFirst();
    assertThat(c.postStart()).contains(new LifecycleHandler.Exec(List.of("touch", "/started")));
    assertThat(c.preStop())
        .contains(new LifecycleHandler.HttpGet("HTTP", "127.0.0.1", 9000, "/drain", Map.of()));
    ContainerPlan sleeping =
        plan(
                yaml.replace(
                    "{httpGet: {port: admin, path: /drain, host: 127.0.0.1}}",
                    "{sleep: {seconds: 5}}"),
                List.of())
            .containers()
            .getFirst();
    assertThat(sleeping.preStop()).contains(new LifecycleHandler.Sleep(Duration.ofSeconds(5)));
    assertThatThrownBy(
            () ->
                plan(
                    yaml.replace(
                        "{exec: {command: [touch, /started]}}", "{tcpSocket: {port: 9000}}"),
                    List.of()))
        .isInstanceOf(PodRefusedException.class)
        .hasMessageContaining("spec.containers[0].lifecycle.postStart.tcpSocket");
  }
}
