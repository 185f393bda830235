package io.spawnlet.agent.pod;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.spawnlet.agent.pod.PodRuntime.RegistryCredential;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A pod's imagePullSecrets → registry credentials: secrets of type {@code
 * kubernetes.io/dockerconfigjson} ({@code {"auths": {host: {...}}}}) and {@code
 * kubernetes.io/dockercfg} ({@code {host: {...}}}). A missing secret is skipped, as the kubelet
 * does (the pull may still work anonymously).
 */
final class PullSecrets {
  private static final ObjectMapper JSON = new ObjectMapper();

  private PullSecrets() {}

  static List<RegistryCredential> credentials(Pod pod, PodInputs inputs) {
    List<LocalObjectReference> refs =
        Objects.requireNonNullElse(pod.getSpec().getImagePullSecrets(), List.of());
    if (refs.isEmpty()) {
      return List.of();
    }
    if (!inputs.hasApiserver()) {
      throw new PodRefusedException(
          "spec.imagePullSecrets", "needs an apiserver (not supported for static pods)");
    }
    List<RegistryCredential> out = new ArrayList<>();
    String ns = EnvResolver.namespace(pod);
    for (LocalObjectReference ref : refs) {
      inputs.secret(ns, ref.getName()).ifPresent(s -> out.addAll(parse(s)));
    }
    return out;
  }

  static List<RegistryCredential> parse(Secret secret) {
    Map<String, byte[]> data = EnvResolver.secretData(secret);
    try {
      JsonNode auths;
      if (data.containsKey(".dockerconfigjson")) {
        auths = JSON.readTree(data.get(".dockerconfigjson")).path("auths");
      } else if (data.containsKey(".dockercfg")) {
        auths = JSON.readTree(data.get(".dockercfg"));
      } else {
        return List.of();
      }
      List<RegistryCredential> out = new ArrayList<>();
      for (var it = auths.fields(); it.hasNext(); ) {
        var e = it.next();
        JsonNode a = e.getValue();
        out.add(
            new RegistryCredential(
                e.getKey(),
                a.path("username").asText(""),
                a.path("password").asText(""),
                a.path("auth").asText("")));
      }
      return out;
    } catch (IOException e) {
      return List.of();
    }
  }
}
