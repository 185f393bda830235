package io.spawnlet.cri.oci;

/** The outcome of {@link OciRuntime#execSync}: the command ran to its end. */
public record ExecResult(int exitCode, byte[] stdout, byte[] stderr) {}
