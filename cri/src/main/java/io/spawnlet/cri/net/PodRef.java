package io.spawnlet.cri.net;

/** The Kubernetes identity of a pod, passed to CNI plugins as K8S_POD_* arguments. */
public record PodRef(String namespace, String name, String uid) {}
