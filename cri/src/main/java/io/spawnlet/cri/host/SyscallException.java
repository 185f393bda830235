package io.spawnlet.cri.host;

/** A failed system call, with its errno and a description of the call. */
public final class SyscallException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int errno;

  public SyscallException(String call, int errno) {
    super(call + " failed: errno " + errno + " (" + describe(errno) + ")");
    this.errno = errno;
  }

  public int errno() {
    return errno;
  }

  private static String describe(int errno) {
    return jnr.constants.platform.Errno.valueOf(errno).description();
  }
}
