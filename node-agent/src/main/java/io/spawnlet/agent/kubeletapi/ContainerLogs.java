package io.spawnlet.agent.kubeletapi;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Reads a container's CRI log file ({@code <RFC3339Nano> stdout|stderr F|P <text>} per line; P: a
 * piece of a longer line) back into what the container wrote, as {@code kubectl logs} shows it:
 * optionally with timestamps, from a time on, the last N lines, up to a byte limit, and following
 * the file while the container runs.
 */
final class ContainerLogs {
  /** What {@code kubectl logs} asks for (the kubelet's {@code PodLogOptions}). */
  record Options(
      boolean timestamps,
      OptionalLong tailLines,
      Optional<Instant> since,
      OptionalLong limitBytes,
      boolean follow) {}

  private static final long FOLLOW_POLL_MILLIS = 200;

  private ContainerLogs() {}

  /**
   * Sends the log's text to {@code out} in pieces; with {@code follow}, keeps reading new lines
   * until {@code running} turns false (then drains what is left once more).
   */
  static void copy(Path log, Options options, BooleanSupplier running, Consumer<String> out) {
    long[] budget = {options.limitBytes().orElse(Long.MAX_VALUE)};
    Consumer<String> limited =
        text -> {
          if (budget[0] <= 0) {
            return;
          }
          byte[] b = text.getBytes(StandardCharsets.UTF_8);
          if (b.length > budget[0]) {
            text = new String(b, 0, (int) budget[0], StandardCharsets.UTF_8);
          }
          budget[0] -= b.length;
          out.accept(text);
        };
    try (InputStream in = Files.newInputStream(log)) {
      LineReader lines = new LineReader(in);
      Deque<String> tail = new ArrayDeque<>();
      long keep = options.tailLines().orElse(Long.MAX_VALUE);
      String line;
      while ((line = lines.next()) != null) {
        Optional<String> text = render(line, options);
        if (text.isEmpty() || keep == 0) {
          continue;
        }
        tail.addLast(text.get());
        if (tail.size() > keep) {
          tail.removeFirst();
        }
      }
      StringBuilder first = new StringBuilder();
      tail.forEach(first::append);
      if (!first.isEmpty()) {
        limited.accept(first.toString());
      }
      if (!options.follow()) {
        return;
      }
      boolean last = false;
      while (budget[0] > 0) {
        while ((line = lines.next()) != null) {
          render(line, options).ifPresent(limited);
        }
        if (last) {
          return;
        }
        last = !running.getAsBoolean();
        if (!last) {
          Thread.sleep(FOLLOW_POLL_MILLIS);
        }
      }
    } catch (NoSuchFileException e) {
      // no output yet
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read container log " + log + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** One log line as the container wrote it; empty if before {@code since} or malformed. */
  static Optional<String> render(String line, Options options) {
    int a = line.indexOf(' ');
    int b = a < 0 ? -1 : line.indexOf(' ', a + 1);
    if (b < 0) {
      return Optional.empty();
    }
    int c = line.indexOf(' ', b + 1);
    String tag = c < 0 ? line.substring(b + 1) : line.substring(b + 1, c);
    String text = c < 0 ? "" : line.substring(c + 1);
    String time = line.substring(0, a);
    if (options.since().isPresent()) {
      try {
        if (OffsetDateTime.parse(time).toInstant().isBefore(options.since().get())) {
          return Optional.empty();
        }
      } catch (DateTimeParseException e) {
        return Optional.empty();
      }
    }
    String end = tag.startsWith("P") ? "" : "\n";
    return Optional.of((options.timestamps() ? time + " " : "") + text + end);
  }

  /**
   * Lines of a file that grows: a line without its newline yet stays pending until the rest is
   * written, so a follower never splits one.
   */
  private static final class LineReader {
    private final InputStream in;
    private final java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();
    private final byte[] buffer = new byte[64 * 1024];
    private int pos;
    private int end;

    LineReader(InputStream in) {
      this.in = in;
    }

    String next() throws IOException {
      while (true) {
        for (int i = pos; i < end; i++) {
          if (buffer[i] == '\n') {
            pending.write(buffer, pos, i - pos);
            pos = i + 1;
            String line = pending.toString(StandardCharsets.UTF_8);
            pending.reset();
            return line;
          }
        }
        pending.write(buffer, pos, end - pos);
        pos = 0;
        end = Math.max(0, in.read(buffer));
        if (end == 0) {
          return null;
        }
      }
    }
  }
}
