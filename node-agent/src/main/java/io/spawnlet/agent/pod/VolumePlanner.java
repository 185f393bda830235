package io.spawnlet.agent.pod;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.DownwardAPIVolumeFile;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.spawnlet.agent.volume.VolumeFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A pod's volumes → host directories, under the kubelet's layout {@code
 * <state>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>}: hostPath as is; emptyDir on disk or
 * (medium Memory) a tmpfs; configMap, secret, downwardAPI and projected as files the worker writes
 * (their content is worked out here, from {@link PodInputs}). File volumes are mounted read-only.
 */
final class VolumePlanner {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> TYPES =
      Set.of("hostPath", "emptyDir", "configMap", "secret", "downwardAPI", "projected");
  private static final int DEFAULT_MODE = 0644;

  /** The result: each volume's host path, and what must exist before a container starts. */
  record Planned(
      Map<String, Path> sources,
      Set<String> readOnly,
      List<Path> directories,
      List<MemoryVolume> memory,
      List<FileVolume> files) {}

  private final PodInputs inputs;
  private final EnvResolver downward;

  VolumePlanner(PodInputs inputs) {
    this.inputs = inputs;
    this.downward = new EnvResolver(inputs);
  }

  Planned plan(Pod pod, Path podDir, List<String> podIps) {
    Map<String, Path> sources = new LinkedHashMap<>();
    Set<String> readOnly = new HashSet<>();
    List<Path> directories = new ArrayList<>();
    List<MemoryVolume> memory = new ArrayList<>();
    List<FileVolume> files = new ArrayList<>();
    List<Volume> list = Objects.requireNonNullElse(pod.getSpec().getVolumes(), List.of());
    for (int i = 0; i < list.size(); i++) {
      Volume v = list.get(i);
      String field = "spec.volumes[" + i + "]";
      if (v.getName() == null || sources.containsKey(v.getName())) {
        throw new PodRefusedException(field + ".name", "missing or not unique");
      }
      JsonNode tree = JSON.valueToTree(v);
      for (var it = tree.fieldNames(); it.hasNext(); ) {
        String type = it.next();
        if (!type.equals("name") && !TYPES.contains(type)) {
          throw new PodRefusedException(
              field + "." + type,
              "volume type not supported by spawnlet (supported: " + TYPES + ")");
        }
      }
      String name = v.getName();
      if (v.getHostPath() != null) {
        sources.put(name, hostPath(v, field, directories));
      } else if (v.getEmptyDir() != null) {
        String medium = Objects.requireNonNullElse(v.getEmptyDir().getMedium(), "");
        Path dir = dir(podDir, "empty-dir", name);
        switch (medium) {
          case "" -> directories.add(dir);
          case "Memory" ->
              memory.add(
                  new MemoryVolume(
                      dir,
                      Optional.ofNullable(v.getEmptyDir().getSizeLimit())
                          .map(q -> Quantity.getAmountInBytes(q).longValue())));
          default ->
              throw new PodRefusedException(
                  field + ".emptyDir.medium", "'" + medium + "' is not \"\" or Memory");
        }
        sources.put(name, dir);
      } else {
        needApiserver(v, field);
        Path dir;
        Map<String, VolumeFile> content = new LinkedHashMap<>();
        if (v.getConfigMap() != null) {
          dir = dir(podDir, "configmap", name);
          var cm = v.getConfigMap();
          configMap(
              pod,
              cm.getName(),
              cm.getItems(),
              cm.getOptional(),
              mode(cm.getDefaultMode()),
              content);
        } else if (v.getSecret() != null) {
          dir = dir(podDir, "secret", name);
          var s = v.getSecret();
          secret(
              pod,
              s.getSecretName(),
              s.getItems(),
              s.getOptional(),
              mode(s.getDefaultMode()),
              content);
        } else if (v.getDownwardAPI() != null) {
          dir = dir(podDir, "downward-api", name);
          downwardApi(
              pod,
              v.getDownwardAPI().getItems(),
              mode(v.getDownwardAPI().getDefaultMode()),
              field + ".downwardAPI",
              podIps,
              content);
        } else if (v.getProjected() != null) {
          dir = dir(podDir, "projected", name);
          projected(pod, v, field + ".projected", podIps, content);
        } else {
          throw new PodRefusedException(field, "volume has no source");
        }
        files.add(new FileVolume(name, dir, content));
        sources.put(name, dir);
        readOnly.add(name);
      }
    }
    return new Planned(sources, readOnly, directories, memory, files);
  }

  private void needApiserver(Volume v, String field) {
    if (!inputs.hasApiserver()
        && (v.getConfigMap() != null || v.getSecret() != null || v.getProjected() != null)) {
      throw new PodRefusedException(field, "needs an apiserver (not supported for static pods)");
    }
  }

  private static Path hostPath(Volume v, String field, List<Path> directories) {
    String type = Objects.requireNonNullElse(v.getHostPath().getType(), "");
    String path = v.getHostPath().getPath();
    if (path == null || !path.startsWith("/")) {
      throw new PodRefusedException(field + ".hostPath.path", "must be an absolute path");
    }
    switch (type) {
      case "", "Directory", "File", "Socket", "CharDevice", "BlockDevice" -> {}
      case "DirectoryOrCreate" -> directories.add(Path.of(path));
      default ->
          throw new PodRefusedException(
              field + ".hostPath.type", "'" + type + "' is not supported");
    }
    return Path.of(path);
  }

  private void projected(
      Pod pod, Volume v, String field, List<String> podIps, Map<String, VolumeFile> content) {
    int mode = mode(v.getProjected().getDefaultMode());
    List<VolumeProjection> sources =
        Objects.requireNonNullElse(v.getProjected().getSources(), List.of());
    for (int j = 0; j < sources.size(); j++) {
      VolumeProjection p = sources.get(j);
      String f = field + ".sources[" + j + "]";
      if (p.getConfigMap() != null) {
        var cm = p.getConfigMap();
        configMap(pod, cm.getName(), cm.getItems(), cm.getOptional(), mode, content);
      } else if (p.getSecret() != null) {
        var s = p.getSecret();
        secret(pod, s.getName(), s.getItems(), s.getOptional(), mode, content);
      } else if (p.getDownwardAPI() != null) {
        downwardApi(pod, p.getDownwardAPI().getItems(), mode, f + ".downwardAPI", podIps, content);
      } else if (p.getServiceAccountToken() != null) {
        var t = p.getServiceAccountToken();
        long seconds = Optional.ofNullable(t.getExpirationSeconds()).orElse(3600L);
        String token =
            inputs.serviceAccountToken(
                pod, Objects.requireNonNullElse(t.getAudience(), ""), seconds);
        content.put(t.getPath(), file(token.getBytes(StandardCharsets.UTF_8), mode));
      } else {
        throw new PodRefusedException(
            f,
            "projection not supported (configMap, secret, downwardAPI, serviceAccountToken are)");
      }
    }
  }

  private void configMap(
      Pod pod,
      String name,
      List<KeyToPath> items,
      Boolean optional,
      int mode,
      Map<String, VolumeFile> out) {
    String ns = EnvResolver.namespace(pod);
    Optional<Map<String, byte[]>> data =
        inputs
            .configMap(ns, name)
            .map(
                cm -> {
                  Map<String, byte[]> d = new LinkedHashMap<>();
                  EnvResolver.configMapData(cm)
                      .forEach((k, v) -> d.put(k, v.getBytes(StandardCharsets.UTF_8)));
                  Objects.requireNonNullElse(cm.getBinaryData(), Map.<String, String>of())
                      .forEach((k, v) -> d.put(k, java.util.Base64.getDecoder().decode(v)));
                  return d;
                });
    keys("configmap " + ns + "/" + name, data, items, optional, mode, out);
  }

  private void secret(
      Pod pod,
      String name,
      List<KeyToPath> items,
      Boolean optional,
      int mode,
      Map<String, VolumeFile> out) {
    String ns = EnvResolver.namespace(pod);
    Optional<Map<String, byte[]>> data = inputs.secret(ns, name).map(EnvResolver::secretData);
    keys("secret " + ns + "/" + name, data, items, optional, mode, out);
  }

  /**
   * Every key as a file, or only the listed items; a missing object or listed key fails unless the
   * source is optional.
   */
  private static void keys(
      String what,
      Optional<Map<String, byte[]>> source,
      List<KeyToPath> items,
      Boolean optional,
      int mode,
      Map<String, VolumeFile> out) {
    if (source.isEmpty()) {
      if (Boolean.TRUE.equals(optional)) {
        return;
      }
      throw new PodInputException(what + " not found");
    }
    Map<String, byte[]> data = source.get();
    if (items == null || items.isEmpty()) {
      data.forEach((k, v) -> out.put(k, file(v, mode)));
      return;
    }
    for (KeyToPath item : items) {
      byte[] v = data.get(item.getKey());
      if (v == null) {
        if (Boolean.TRUE.equals(optional)) {
          continue;
        }
        throw new PodInputException("key " + item.getKey() + " not found in " + what);
      }
      out.put(item.getPath(), file(v, item.getMode() == null ? mode : item.getMode()));
    }
  }

  private void downwardApi(
      Pod pod,
      List<DownwardAPIVolumeFile> items,
      int mode,
      String field,
      List<String> podIps,
      Map<String, VolumeFile> out) {
    List<DownwardAPIVolumeFile> list = Objects.requireNonNullElse(items, List.of());
    for (int k = 0; k < list.size(); k++) {
      DownwardAPIVolumeFile item = list.get(k);
      String f = field + ".items[" + k + "]";
      String value;
      if (item.getFieldRef() != null) {
        value =
            downward.fieldValue(pod, item.getFieldRef().getFieldPath(), f + ".fieldRef", podIps);
      } else if (item.getResourceFieldRef() != null) {
        value =
            downward.resourceValue(pod, item.getResourceFieldRef(), null, f + ".resourceFieldRef");
      } else {
        throw new PodRefusedException(f, "needs fieldRef or resourceFieldRef");
      }
      out.put(
          item.getPath(),
          file(
              value.getBytes(StandardCharsets.UTF_8),
              item.getMode() == null ? mode : item.getMode()));
    }
  }

  private static VolumeFile file(byte[] content, int mode) {
    return new VolumeFile(content, mode);
  }

  private static int mode(Integer mode) {
    return mode == null ? DEFAULT_MODE : mode;
  }

  static Path dir(Path podDir, String plugin, String volume) {
    return podDir.resolve("volumes").resolve("kubernetes.io~" + plugin).resolve(volume);
  }
}
