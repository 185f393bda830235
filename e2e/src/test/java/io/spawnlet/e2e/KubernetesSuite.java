package io.spawnlet.e2e;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * Marks a suite that needs the Kubernetes binaries (a {@link ControlPlane}, kubectl, helm, the
 * kubelet). scripts/test.sh runs the other suites while those binaries build (the longest part of a
 * cold run), then these: {@code -DexcludedGroups=kubernetes}, then {@code -Dgroups=kubernetes}.
 * KubernetesSuitesAreTaggedTest checks that no suite using them goes without it.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@Tag(KubernetesSuite.TAG)
public @interface KubernetesSuite {
  String TAG = "kubernetes";
}
