package io.spawnlet.cri.streaming;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;

/**
 * How a remote command ended, as written on its error stream. Protocol v4 and later carry a
 * metav1.Status JSON (a non-zero exit code as {@code details.causes[{reason: "ExitCode", message:
 * "<code>"}]}, which clients turn into their own exit code); v2 and v3 carry the error text only,
 * and nothing on success.
 */
record ExitStatus(OptionalInt exitCode, String error) {
  private static final ObjectMapper JSON = new ObjectMapper();

  static ExitStatus of(OptionalInt exitCode) {
    return new ExitStatus(exitCode, "");
  }

  static ExitStatus failure(String error) {
    return new ExitStatus(OptionalInt.empty(), error);
  }

  boolean success() {
    return error.isEmpty() && exitCode.orElse(0) == 0;
  }

  /** The bytes for the error stream of protocol {@code version} (2, 3, 4, 5). */
  byte[] encode(int version) {
    if (version < 4) {
      return success() ? new byte[0] : message().getBytes(StandardCharsets.UTF_8);
    }
    ObjectNode status = JSON.createObjectNode();
    status.putObject("metadata");
    if (success()) {
      status.put("status", "Success");
    } else {
      status.put("status", "Failure");
      status.put("message", message());
      if (error.isEmpty()) {
        status.put("reason", "NonZeroExitCode");
        status
            .putObject("details")
            .putArray("causes")
            .addObject()
            .put("reason", "ExitCode")
            .put("message", Integer.toString(exitCode.getAsInt()));
      } else {
        status.put("reason", "InternalError");
        status.put("code", 500);
      }
    }
    return status.toString().getBytes(StandardCharsets.UTF_8);
  }

  private String message() {
    return error.isEmpty()
        ? "command terminated with non-zero exit code: exit status " + exitCode.orElse(0)
        : error;
  }
}
