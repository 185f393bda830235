package io.spawnlet.cri.storage;

import java.nio.file.Path;

/**
 * An unpacked layer: {@code diff} holds its files in overlayfs form (whiteouts are 0/0 character
 * devices, opaque directories carry {@code trusted.overlay.opaque=y}).
 *
 * @param diffId digest of the uncompressed tar: the layer's identity
 * @param digest digest of the blob as it came (compressed); equals diffId for a plain tar
 * @param compressedSize bytes of the blob as it came
 * @param size bytes of the uncompressed tar
 * @param diff the directory to use as an overlay lower dir; never write into it
 */
public record Layer(Digest diffId, Digest digest, long compressedSize, long size, Path diff) {}
