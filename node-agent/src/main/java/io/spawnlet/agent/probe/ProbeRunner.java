package io.spawnlet.agent.probe;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.spawnlet.agent.pod.PodRuntime;
import io.spawnlet.agent.pod.PodRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Runs one probe once, with the kubelet's notion of success: exec exits 0; HTTP GET answers
 * 200..399 (HTTPS without verifying the certificate, as the kubelet does); TCP connects; gRPC
 * health check says SERVING.
 */
public final class ProbeRunner {
  private final PodRuntime runtime;
  private final HttpClient http;

  public ProbeRunner(PodRuntime runtime) {
    this.runtime = runtime;
    this.http =
        HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .sslContext(trustingContext())
            .build();
  }

  /** The outcome and, when it failed, why (for the Unhealthy event). */
  public record Result(boolean success, String detail) {}

  public Result run(ProbePlan probe, String containerId, String podIp) {
    try {
      return switch (probe.action()) {
        case ProbePlan.Exec e -> exec(e, containerId, probe.timeout());
        case ProbePlan.HttpGet h -> httpGet(h, podIp, probe.timeout());
        case ProbePlan.TcpSocket t -> tcp(host(t.host(), podIp), t.port(), probe.timeout());
        case ProbePlan.Grpc g -> grpc(g, podIp, probe.timeout());
      };
    } catch (PodRuntimeException e) {
      return new Result(false, e.getMessage());
    }
  }

  private Result exec(ProbePlan.Exec e, String containerId, Duration timeout) {
    PodRuntime.ExecResult r = runtime.execSync(containerId, e.command(), timeout);
    return r.exitCode() == 0
        ? new Result(true, "")
        : new Result(
            false, "command " + e.command() + " exited with " + r.exitCode() + ": " + output(r));
  }

  private static String output(PodRuntime.ExecResult r) {
    String out = (r.stdout() + r.stderr()).strip();
    return out.length() > 200 ? out.substring(0, 200) : out;
  }

  private Result httpGet(ProbePlan.HttpGet h, String podIp, Duration timeout) {
    String path = h.path().startsWith("/") ? h.path() : "/" + h.path();
    URI uri =
        URI.create(
            h.scheme().toLowerCase(java.util.Locale.ROOT)
                + "://"
                + bracketed(host(h.host(), podIp))
                + ":"
                + h.port()
                + path);
    HttpRequest.Builder req =
        HttpRequest.newBuilder(uri).timeout(timeout).header("User-Agent", "kube-probe/1.34");
    h.headers().forEach(req::header);
    try {
      HttpResponse<Void> resp =
          http.send(req.GET().build(), HttpResponse.BodyHandlers.discarding());
      int code = resp.statusCode();
      return code >= 200 && code < 400
          ? new Result(true, "")
          : new Result(false, "HTTP probe failed with statuscode: " + code);
    } catch (IOException e) {
      return new Result(false, "Get \"" + uri + "\": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(false, "interrupted");
    }
  }

  private static Result tcp(String host, int port, Duration timeout) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
      return new Result(true, "");
    } catch (IOException e) {
      return new Result(false, "dial tcp " + host + ":" + port + ": " + e.getMessage());
    }
  }

  /** grpc.health.v1.Health/Check; the request and response are tiny, coded by hand. */
  private static Result grpc(ProbePlan.Grpc g, String podIp, Duration timeout) {
    ManagedChannel channel = NettyChannelBuilder.forAddress(podIp, g.port()).usePlaintext().build();
    try {
      byte[] svc = g.service().getBytes(StandardCharsets.UTF_8);
      byte[] request = new byte[svc.length == 0 ? 0 : 2 + svc.length];
      if (svc.length > 0) {
        request[0] = 0x0a; // field 1, length-delimited
        request[1] = (byte) svc.length;
        System.arraycopy(svc, 0, request, 2, svc.length);
      }
      byte[] response =
          ClientCalls.blockingUnaryCall(
              channel,
              HEALTH_CHECK,
              CallOptions.DEFAULT.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS),
              request);
      // HealthCheckResponse{status = 1 (SERVING)}: field 1, varint
      int status = response.length >= 2 && response[0] == 0x08 ? response[1] : 0;
      return status == 1
          ? new Result(true, "")
          : new Result(false, "gRPC health check status " + status + " (not SERVING)");
    } catch (StatusRuntimeException e) {
      return new Result(
          false, "gRPC health check on " + podIp + ":" + g.port() + ": " + e.getStatus());
    } finally {
      channel.shutdownNow();
    }
  }

  private static final MethodDescriptor<byte[], byte[]> HEALTH_CHECK =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("grpc.health.v1.Health/Check")
          .setRequestMarshaller(new Bytes())
          .setResponseMarshaller(new Bytes())
          .build();

  private static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private static String host(String host, String podIp) {
    return host == null || host.isEmpty() ? podIp : host;
  }

  private static String bracketed(String host) {
    return host.contains(":") ? "[" + host + "]" : host;
  }

  /** TLS that accepts any server certificate: the kubelet does not verify probes' and hooks'. */
  static SSLContext trustingContext() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(
          null,
          new TrustManager[] {
            new X509TrustManager() {
              @Override
              public void checkClientTrusted(X509Certificate[] chain, String authType) {}

              @Override
              public void checkServerTrusted(X509Certificate[] chain, String authType) {}

              @Override
              public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
              }
            }
          },
          new SecureRandom());
      return ctx;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("no TLS in this JDK: " + e, e);
    }
  }
}
