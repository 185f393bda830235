package io.spawnlet.cri.image.registry;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Counts the bytes of a download and logs progress at most every two seconds, and at the end. */
final class ProgressStream extends FilterInputStream {
  private static final Logger LOG = LoggerFactory.getLogger(ImagePuller.class);
  private static final long INTERVAL_NANOS = 2_000_000_000L;
  private final String label;
  private final long total;
  private final long started = System.nanoTime();
  private long count;
  private long lastLog = started;
  private boolean done;

  ProgressStream(InputStream in, String label, long total) {
    super(in);
    this.label = label;
    this.total = total;
  }

  @Override
  public int read() throws IOException {
    int b = super.read();
    advance(b < 0 ? -1 : 1);
    return b;
  }

  @Override
  public int read(byte[] buf, int off, int len) throws IOException {
    int n = super.read(buf, off, len);
    advance(n);
    return n;
  }

  private void advance(int n) {
    if (n > 0) {
      count += n;
    }
    long now = System.nanoTime();
    if (n < 0 && !done) {
      done = true;
      LOG.info("{}: downloaded {} bytes in {} ms", label, count, (now - started) / 1_000_000);
    } else if (now - lastLog >= INTERVAL_NANOS) {
      lastLog = now;
      LOG.info("{}: {} of {} bytes", label, count, total);
    }
  }
}
