package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.authentication.TokenRequest;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * {@link PodInputs} from the apiserver: configMaps and secrets read when a pod is planned (the Node
 * authorizer lets a node read those its pods refer to); service account tokens by TokenRequest,
 * bound to the pod, cached and renewed after 80% of their lifetime as the kubelet does.
 */
public final class ApiPodInputs implements PodInputs, AutoCloseable {
  /** How long a pod's planning waits for the first list of Services (the kubelet waits too). */
  private static final Duration SERVICES_SYNC_WAIT = Duration.ofSeconds(30);

  private final KubernetesClient client;
  private final String nodeName;
  private final List<String> hostIps;
  private final Supplier<Map<String, Quantity>> allocatable;
  private final Map<String, CachedToken> tokens = new ConcurrentHashMap<>();
  private SharedIndexInformer<Service> services;
  private CompletableFuture<Void> servicesListed;

  private record CachedToken(String token, Instant renewAfter) {}

  public ApiPodInputs(
      KubernetesClient client,
      String nodeName,
      List<String> hostIps,
      Supplier<Map<String, Quantity>> allocatable) {
    this.client = client;
    this.nodeName = nodeName;
    this.hostIps = List.copyOf(hostIps);
    this.allocatable = allocatable;
  }

  @Override
  public boolean hasApiserver() {
    return true;
  }

  @Override
  public Optional<ConfigMap> configMap(String namespace, String name) {
    return read(() -> client.configMaps().inNamespace(namespace).withName(name).get());
  }

  @Override
  public Optional<Secret> secret(String namespace, String name) {
    return read(() -> client.secrets().inNamespace(namespace).withName(name).get());
  }

  private static <T> Optional<T> read(Supplier<T> get) {
    try {
      return Optional.ofNullable(get.get());
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return Optional.empty();
      }
      if (e.getCode() == 403) {
        throw new PodInputException("not allowed to read it: " + e.getStatus().getMessage());
      }
      throw e;
    }
  }

  /**
   * From a watch of every namespace's Services (the Node authorizer lets a node read them), started
   * on the first call; until its first list arrives planning waits, then fails to be retried.
   */
  @Override
  public List<Service> services(String namespace) {
    CompletableFuture<Void> listed;
    synchronized (this) {
      if (services == null) {
        services = client.services().inAnyNamespace().runnableInformer(0);
        servicesListed = services.start().toCompletableFuture();
      }
      listed = servicesListed;
    }
    if (!services.hasSynced()) {
      try {
        listed.get(SERVICES_SYNC_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException e) {
        throw new PodInputException(
            "cannot list the cluster's Services for the service link variables: " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new PodInputException("interrupted while listing the cluster's Services");
      }
    }
    return services.getStore().list().stream()
        .filter(s -> namespace.equals(s.getMetadata().getNamespace()))
        .toList();
  }

  @Override
  public String serviceAccountToken(Pod pod, String audience, long expirationSeconds) {
    String ns = EnvResolver.namespace(pod);
    String sa = Objects.requireNonNullElse(pod.getSpec().getServiceAccountName(), "default");
    String key = pod.getMetadata().getUid() + "|" + sa + "|" + audience + "|" + expirationSeconds;
    CachedToken cached = tokens.get(key);
    Instant now = Instant.now();
    if (cached != null && now.isBefore(cached.renewAfter())) {
      return cached.token();
    }
    TokenRequestBuilder request =
        new TokenRequestBuilder()
            .withNewSpec()
            .withExpirationSeconds(expirationSeconds)
            .withNewBoundObjectRef()
            .withApiVersion("v1")
            .withKind("Pod")
            .withName(pod.getMetadata().getName())
            .withUid(pod.getMetadata().getUid())
            .endBoundObjectRef()
            .endSpec();
    if (!audience.isEmpty()) {
      request.editSpec().withAudiences(audience).endSpec();
    }
    TokenRequest issued;
    try {
      issued = client.serviceAccounts().inNamespace(ns).withName(sa).tokenRequest(request.build());
    } catch (KubernetesClientException e) {
      throw new PodInputException(
          "cannot get a token for service account " + ns + "/" + sa + ": " + e.getMessage());
    }
    long ttl =
        Optional.ofNullable(issued.getSpec().getExpirationSeconds()).orElse(expirationSeconds);
    tokens.put(
        key,
        new CachedToken(issued.getStatus().getToken(), now.plus(Duration.ofSeconds(ttl * 8 / 10))));
    return issued.getStatus().getToken();
  }

  /** Forgets a pod's tokens when it goes. */
  void forget(String podUid) {
    tokens.keySet().removeIf(k -> k.startsWith(podUid + "|"));
  }

  @Override
  public String nodeName() {
    return nodeName;
  }

  @Override
  public List<String> hostIps() {
    return hostIps;
  }

  @Override
  public Map<String, Quantity> nodeAllocatable() {
    return allocatable.get();
  }

  /** Stops the Services watch. */
  @Override
  public synchronized void close() {
    if (services != null) {
      services.stop();
    }
  }
}
