package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import runtime.v1.Container;
import runtime.v1.ContainerFilter;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PodSandbox;
import runtime.v1.PodSandboxFilter;

/**
 * {@code spawnlet run --manifests DIR} as a user runs it: a busybox httpd pod from a manifest comes
 * up and answers on its IP; a container that keeps exiting is restarted (attempts and log files
 * count up); restarting {@code spawnlet run} adopts the pod without restarting anything; an edited
 * manifest replaces the pod; a deleted one removes it.
 */
class StaticPodsIT {
  private static final Duration SLOW = Duration.ofSeconds(90);

  @RegisterExtension static final SpawnletDaemon RUN = SpawnletDaemon.staticPods();

  @BeforeAll
  static void importBusybox() {
    RUN.importTestImage("busybox", CriProtos.BUSYBOX);
  }

  private static String manifest(String name, String page) {
    return """
        apiVersion: v1
        kind: Pod
        metadata:
          name: %s
          labels: {app: web}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: httpd
            image: %s
            imagePullPolicy: IfNotPresent
            command: ["sh", "-c", "mkdir -p /www && echo $(PAGE) > /www/index.html && exec httpd -f -p 8080 -h /www"]
            env: [{name: PAGE, value: %s}]
            ports: [{containerPort: 8080}]
          - name: crasher
            image: %s
            imagePullPolicy: IfNotPresent
            command: ["sh", "-c", "sleep 1; exit 3"]
        """
        .formatted(name, CriProtos.BUSYBOX, page, CriProtos.BUSYBOX);
  }

  @Test
  void runsReplacesRestartsAdoptsAndRemovesAStaticPod() throws Exception {
    String name = "web-" + CriProtos.suffix();
    Path file = RUN.manifests().resolve(name + ".yaml");
    Files.writeString(file, manifest(name, "first"));
    try (CriClient cri = RUN.newClient()) {
      String ip = awaitReadyIp(name, 1);
      awaitPage(ip, "first");
      PodSandbox pod = onlySandbox(cri, name);
      String uid = pod.getMetadata().getUid();
      Path logDir = RUN.podLogs().resolve("default_" + name + "_" + uid);
      assertThat(pod.getLabelsMap()).containsEntry("app", "web");

      // restartPolicy Always: the crasher comes back as attempt 1, 2, ... with a log file each.
      await("crasher restarted twice")
          .atMost(SLOW)
          .untilAsserted(
              () ->
                  assertThat(containers(cri, pod.getId(), "crasher"))
                      .anySatisfy(
                          c -> assertThat(c.getMetadata().getAttempt()).isGreaterThanOrEqualTo(2)));
      assertThat(logDir.resolve("crasher/0.log")).exists();
      assertThat(logDir.resolve("crasher/1.log")).exists();
      String httpd = containers(cri, pod.getId(), "httpd").getFirst().getId();

      // A new 'spawnlet run' adopts the pod: same sandbox, same httpd container.
      RUN.restart();
      await("adoption logged")
          .atMost(SLOW)
          .until(() -> RUN.logTail(400).contains("pod default/" + name + " adopted"));
      assertThat(onlySandbox(cri, name).getId()).isEqualTo(pod.getId());
      assertThat(containers(cri, pod.getId(), "httpd"))
          .extracting(Container::getId)
          .containsExactly(httpd);
      awaitPage(ip, "first");

      // An edit makes a new pod (new uid) that replaces the old one.
      Files.writeString(file, manifest(name, "second"));
      await("replacement sandbox")
          .atMost(SLOW)
          .untilAsserted(
              () -> {
                List<PodSandbox> now = sandboxes(cri, name);
                assertThat(now).hasSize(1);
                assertThat(now.getFirst().getMetadata().getUid()).isNotEqualTo(uid);
              });
      String newIp = awaitReadyIp(name, 2);
      awaitPage(newIp, "second");

      // Deleting the file removes the pod.
      Files.delete(file);
      await("pod removed")
          .atMost(SLOW)
          .untilAsserted(() -> assertThat(sandboxes(cri, name)).isEmpty());
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static String awaitReadyIp(String name, int occurrence) {
    Pattern ready = Pattern.compile("pod default/" + name + " ready: IP (\\S+)");
    String[] ip = new String[1];
    await(name + " ready (#" + occurrence + ") in " + RUN.logFile())
        .atMost(SLOW)
        .until(
            () -> {
              Matcher m = ready.matcher(RUN.logTail(2000));
              int seen = 0;
              while (m.find()) {
                if (++seen == occurrence) {
                  ip[0] = m.group(1);
                  return true;
                }
              }
              return false;
            });
    return ip[0];
  }

  private static void awaitPage(String ip, String page) {
    PodHttp.awaitBody(
        "http://" + ip + ":8080/", SLOW, body -> assertThat(body.trim()).isEqualTo(page));
  }

  private static List<PodSandbox> sandboxes(CriClient cri, String name) {
    return cri.runtime()
        .listPodSandbox(
            ListPodSandboxRequest.newBuilder()
                .setFilter(
                    PodSandboxFilter.newBuilder()
                        .putAllLabelSelector(Map.of("io.kubernetes.pod.name", name)))
                .build())
        .getItemsList();
  }

  private static PodSandbox onlySandbox(CriClient cri, String name) {
    List<PodSandbox> all = sandboxes(cri, name);
    assertThat(all).hasSize(1);
    return all.getFirst();
  }

  private static List<Container> containers(CriClient cri, String sandboxId, String name) {
    return cri.runtime()
        .listContainers(
            ListContainersRequest.newBuilder()
                .setFilter(
                    ContainerFilter.newBuilder()
                        .setPodSandboxId(sandboxId)
                        .putLabelSelector("io.kubernetes.container.name", name))
                .build())
        .getContainersList();
  }
}
